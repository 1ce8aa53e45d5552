"""Host providers: what turns some inventory hosts into reachable targets for one run.

In the spirit of nornir's transform function: an entry point (the `ops` command, a test
fixture) installs a provider, and the runner asks it to start the hosts it serves and hand them
back as the run must reach them (address, port, credentials, host key, REST endpoints). The
runner never knows what a provider is: the lab's (ops.lab.provider) starts lab appliances for
`lab:` hosts. The inventory's hosts are never changed: a provider returns new ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ops.inventory import Host

__all__ = ["HostProvider", "install_provider", "providers", "uninstall_provider"]


class HostProvider(Protocol):
    def serves(self, host: Host) -> bool:
        """Whether this provider makes `host` reachable (the runner asks before anything starts)."""

    async def start(self, hosts: list[Host]) -> dict[str, Host]:
        """Make `hosts` reachable for this run; each as the run must reach it, by name."""

    async def stop(self) -> None:
        """Undo `start` (idempotent)."""


ProviderFactory = Callable[[], HostProvider]
_FACTORIES: list[ProviderFactory] = []


def install_provider(factory: ProviderFactory) -> None:
    """Every run from now on gets a fresh provider from `factory` (installing one twice is a no-op)."""
    if factory not in _FACTORIES:
        _FACTORIES.append(factory)


def uninstall_provider(factory: ProviderFactory) -> None:
    if factory in _FACTORIES:
        _FACTORIES.remove(factory)


def providers() -> list[HostProvider]:
    """One fresh provider of each installed kind, for one run."""
    return [factory() for factory in _FACTORIES]
