"""IP network helpers shared by the layers above."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


def subnet_of(inner: IPv4Network | IPv6Network, outer: IPv4Network | IPv6Network) -> bool:
    """``inner.subnet_of(outer)``, False for networks of different IP versions (where the
    standard library raises TypeError)."""
    if isinstance(inner, IPv4Network):
        return isinstance(outer, IPv4Network) and inner.subnet_of(outer)
    return isinstance(outer, IPv6Network) and inner.subnet_of(outer)
