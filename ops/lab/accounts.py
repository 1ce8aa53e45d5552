"""Accounts the lab appliance models besides the SSH admin: the Finesse admin UI account."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable

__all__ = ["AdminUIAccount"]


class AdminUIAccount:
    """The Finesse admin UI / diagnostic portal account: five failed sign-ins lock it for 30 minutes.

    Thread-safe: the lab's REST side signs in from its own thread while the CLI side resets.
    A sign-in while locked is refused even with the right password, and (like Finesse) the
    caller is not told the account is locked.
    """

    def __init__(
        self,
        username: str = "admin",
        password: str = "...",
        *,
        max_failures: int = 5,
        lock_seconds: float = 1800,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.username = username
        self._password = password
        self.max_failures = max_failures
        self.lock_seconds = lock_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self.failures = 0
        self._locked_until: float | None = None
        self.resets = 0

    def _is_locked(self) -> bool:
        # Caller holds self._lock.
        if self._locked_until is None:
            return False
        if self._clock() >= self._locked_until:
            self._locked_until = None
            self.failures = 0
            return False
        return True

    def sign_in(self, username: str, password: str) -> bool:
        """True for the right credentials while unlocked; False otherwise (wrong ones count a failure)."""
        with self._lock:
            if self._is_locked():
                return False
            ok = secrets.compare_digest(username.encode(), self.username.encode()) and secrets.compare_digest(
                password.encode(), self._password.encode()
            )
            if ok:
                self.failures = 0
                return True
            self.failures += 1
            if self.failures >= self.max_failures:
                self._locked_until = self._clock() + self.lock_seconds
            return False

    @property
    def locked(self) -> bool:
        with self._lock:
            return self._is_locked()

    def reset_password(self, new_password: str) -> None:
        """Set the password and clear failures and the lock (what the CLI reset command does)."""
        with self._lock:
            self._password = new_password
            self.failures = 0
            self._locked_until = None
            self.resets += 1

    def check_password(self, password: str) -> bool:
        """Whether `password` is the current one (no failure counted; for tests)."""
        with self._lock:
            return secrets.compare_digest(password.encode(), self._password.encode())
