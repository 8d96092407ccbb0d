"""Where alerts go: the one place that knows the channels.

Local channels (``local``: JSON Lines and the console) write an alert in the run that found it.
Remote channels (Slack, e-mail, webhook) are delivered from the outbox by ``revisit sender``; each
is one module with a ``build`` and a ``secrets`` function and one entry in ``REMOTE_CHANNELS``
below, which routing, the sender, the command line's choices and the settings check all read.
Adding a channel = its module (and its ``[delivery.<name>]`` settings class) + one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from revisit.alerts.channels import email, slack, webhook
from revisit.alerts.channels.base import (
    Channel,
    DeliveryFailure,
    DeliveryResult,
    DigestChannel,
    RemoteChannel,
    ThreadChannel,
)
from revisit.core.config import DeliverySettings
from revisit.core.errors import BadInput

__all__ = [
    "REMOTE_CHANNELS",
    "Channel",
    "ChannelSpec",
    "DeliveryFailure",
    "DeliveryResult",
    "DigestChannel",
    "RemoteChannel",
    "ThreadChannel",
    "channel_secrets",
    "check_channel_names",
    "digest_channel",
    "machine_channels",
    "remote_channels",
    "thread_channel",
]


@dataclass(frozen=True)
class ChannelSpec:
    """A remote channel: its name (in routes, the outbox and ``--channel``), how to build it from
    the delivery settings, where its secrets come from, and what it can do beyond ``send``."""

    name: str
    build: Callable[[DeliverySettings], RemoteChannel]
    secrets: Callable[[DeliverySettings], dict[str, tuple[str, str]]]
    threads: bool = False  # answers later activity in the thread of its first message
    digest: bool = False  # carries the owner's daily digest (tier C, and what quiet hours hold)
    machine: bool = False  # read by a program (a CRM), not a person: no quiet hours, no digest


REMOTE_CHANNELS: Mapping[str, ChannelSpec] = {
    spec.name: spec
    for spec in (
        ChannelSpec("slack", slack.build, slack.secrets, threads=True),
        ChannelSpec("email", email.build, email.secrets, digest=True),
        ChannelSpec("webhook", webhook.build, webhook.secrets, machine=True),
    )
}


def remote_channels(delivery: DeliverySettings) -> dict[str, RemoteChannel]:
    """Every remote channel by name, built from its settings (secrets are read when sending)."""
    return {name: spec.build(delivery) for name, spec in REMOTE_CHANNELS.items()}


def digest_channel() -> str:
    """The channel that carries digests (e-mail)."""
    return next(name for name, spec in REMOTE_CHANNELS.items() if spec.digest)


def machine_channels() -> frozenset[str]:
    """The channels a program reads (the webhook): they get every alert at once."""
    return frozenset(name for name, spec in REMOTE_CHANNELS.items() if spec.machine)


def thread_channel() -> str:
    """The channel whose messages get thread replies (Slack)."""
    return next(name for name, spec in REMOTE_CHANNELS.items() if spec.threads)


def channel_secrets(delivery: DeliverySettings) -> dict[str, tuple[str, str]]:
    """Every channel's secrets by name → (environment variable, file)."""
    return {label: source for spec in REMOTE_CHANNELS.values() for label, source in spec.secrets(delivery).items()}


def check_channel_names(delivery: DeliverySettings) -> None:
    """Unknown channel names in routes or ``default_channels`` are a configuration error, not
    alerts that die in the outbox later."""
    named: list[tuple[str, Sequence[str]]] = [("delivery.default_channels", delivery.default_channels)]
    named += [(f"delivery.routes[{number}].channels", route.channels) for number, route in enumerate(delivery.routes)]
    for key_path, names in named:
        unknown = [name for name in names if name not in REMOTE_CHANNELS]
        if unknown:
            raise BadInput(f"{key_path}: unknown channel {unknown[0]!r} (one of {', '.join(REMOTE_CHANNELS)})")
