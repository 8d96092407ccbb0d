"""Values by IP network, found by address: the most specific network holding it first.

One dict per prefix length in use, keyed by the network number: a look-up is one dict probe per
prefix length, whatever the number of networks (100,000 account CIDRs cost what 10 do). Shared by
the account list's networks and the cache of RDAP answers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Generic, TypeVar

from revisit.core.networks import IPAddress, IPNetwork

Value = TypeVar("Value")


class NetworkTable(Generic[Value]):
    def __init__(self) -> None:
        # version → prefix length → network number → value
        self._by_length: dict[int, dict[int, dict[int, Value]]] = {4: {}, 6: {}}
        self._lengths: dict[int, list[int]] = {4: [], 6: []}  # in use, longest first

    def __len__(self) -> int:
        return sum(len(numbers) for by_length in self._by_length.values() for numbers in by_length.values())

    def get(self, network: IPNetwork) -> Value | None:
        return self._by_length[network.version].get(network.prefixlen, {}).get(_number(network))

    def put(self, network: IPNetwork, value: Value) -> None:
        by_length = self._by_length[network.version]
        if network.prefixlen not in by_length:
            by_length[network.prefixlen] = {}
            self._lengths[network.version] = sorted(by_length, reverse=True)
        by_length[network.prefixlen][_number(network)] = value

    def remove(self, network: IPNetwork) -> None:
        self._by_length[network.version].get(network.prefixlen, {}).pop(_number(network), None)

    def matches(self, address: IPAddress) -> Iterator[tuple[IPNetwork, Value]]:
        """The networks holding the address, most specific first, with their values."""
        value, bits = int(address), address.max_prefixlen
        by_length = self._by_length[address.version]
        for length in self._lengths[address.version]:
            found = by_length[length].get(value >> (bits - length))
            if found is not None:
                number = (value >> (bits - length)) << (bits - length)
                network_type = ipaddress.IPv4Network if address.version == 4 else ipaddress.IPv6Network
                yield network_type((number, length)), found


def _number(network: IPNetwork) -> int:
    return int(network.network_address) >> (network.max_prefixlen - network.prefixlen)
