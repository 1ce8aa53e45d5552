"""What the lab's REST side remembers: agents and their states, the webproxy response cache."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime


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


class RestState:
    """Shared by the request threads; every change goes through `lock`."""

    def __init__(self, agents: tuple[tuple[str, str, str, str, str], ...] = DEFAULT_AGENTS) -> None:
        self.lock = threading.RLock()
        self.agents: dict[str, Agent] = {a[0]: Agent(*a) for a in agents}
        self.cache: dict[str, CachedReply] = {}
        self.chat_server = "chat.lab.example.com"
        self.timers: set[threading.Timer] = set()

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
