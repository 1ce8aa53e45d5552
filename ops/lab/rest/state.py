"""What the lab's REST side remembers: agents and their states, the configuration database, the
nodes of the cluster and each node's webproxy response cache."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ops.lab.rest.configdb import ConfigDB


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Agent:
    """One agent, known to Finesse by `id` and to GWS by `user_name`."""

    id: str
    user_name: str
    first_name: str
    last_name: str
    extension: str
    finesse_state: str = "NOT_READY"
    reason_code_id: int | None = None
    state_change_time: str = field(default_factory=timestamp)
    gws_state: str = "NotReady"


DEFAULT_AGENTS: tuple[tuple[str, str, str, str, str], ...] = (
    ("1001001", "ksippo", "Kristi", "Sippola", "1001"),
    ("1001002", "jdoe", "Jane", "Doe", "1002"),
    ("1001003", "rpatel", "Ravi", "Patel", "1003"),
)


@dataclass
class CachedReply:
    generation: int
    status: int
    content_type: str
    body: bytes


DOMAIN = ".lab.example.com"


def peer_name(hostname: str, configured: str | None) -> str:
    """The other node's short host name: `finesse_peer`, or `<hostname>-peer`."""
    return configured or f"{hostname}-peer"


@dataclass
class Node:
    """One Finesse node of the lab cluster as its HTTPS port answers: its name, role, status, and
    its own webproxy cache (each node runs its own webproxy)."""

    name: str  # the short host name; SystemInfo gives `name + DOMAIN`
    role: str  # "primary" or "secondary"
    status: str = "IN_SERVICE"
    # The generation of the node's webproxy cache: `utils webproxy cache clear` on the node's CLI
    # moves it on, and every entry of an older generation is stale.
    generation: Callable[[], int] = lambda: 0
    refuses: bool = False  # its HTTPS port refuses connections (Tomcat down)
    cache: dict[str, CachedReply] = field(default_factory=dict)

    @property
    def fqdn(self) -> str:
        return self.name + DOMAIN


class RestState:
    """Shared by the request threads (and by both nodes of a lab cluster); every change goes
    through `lock`."""

    def __init__(self, agents: tuple[tuple[str, str, str, str, str], ...] = DEFAULT_AGENTS,
                 config: ConfigDB | None = None) -> None:
        self.lock = threading.RLock()
        self.agents: dict[str, Agent] = {a[0]: Agent(*a) for a in agents}
        self.config = config if config is not None else ConfigDB()
        self.nodes: list[Node] = []
        self.chat_server = "chat.lab.example.com"
        self.timers: set[threading.Timer] = set()

    def clear_team_resources(self, teams: set[str]) -> None:
        """What Finesse does when a team's reason codes, wrap-up reasons or phone books change (seed
        001): that team's TeamResource responses leave every node's webproxy cache."""
        prefixes = tuple(f"/finesse/api/TeamResource/{team}/" for team in teams)
        if not prefixes:
            return
        with self.lock:
            for node in self.nodes:
                for key in [k for k in node.cache if k.startswith(prefixes)]:
                    del node.cache[key]

    def agent_by_user_name(self, user_name: str) -> Agent | None:
        return next((a for a in self.agents.values() if a.user_name == user_name), None)

    def later(self, delay: float, action: object) -> None:
        """Run `action` after `delay` seconds on a timer thread (the asynchronous side of GWS)."""
        assert callable(action)

        def fire() -> None:
            with self.lock:
                self.timers.discard(timer)
                action()

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        with self.lock:
            self.timers.add(timer)
        timer.start()

    def cancel_timers(self) -> None:
        with self.lock:
            timers, self.timers = list(self.timers), set()
        for timer in timers:
            timer.cancel()
