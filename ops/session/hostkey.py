"""How an appliance's host key is trusted: the policy the inventory names (no SSH import, so
loading an inventory stays cheap)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STRICT = "strict"
ACCEPT_NEW = "accept-new"


@dataclass(frozen=True)
class HostKeyPolicy:
    """How to trust an appliance's host key.

    `strict` checks `known_hosts` (default `~/.ssh/known_hosts`); `accept-new` trusts a host
    seen for the first time and records its key there, but refuses a changed key;
    `fingerprint` pins one `SHA256:...` fingerprint.
    """

    mode: str = STRICT
    known_hosts: Path | None = None
    fingerprint: str | None = None

    def known_hosts_path(self) -> Path:
        return self.known_hosts or Path.home() / ".ssh" / "known_hosts"
