"""Accounts: a throw-away login per appliance, the jail it is confined to, what it uses and delivers."""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from asyncssh import SFTPFailure

from ops.receiver.manifest import ManifestEntry, rename_entries
from ops.secrets import Secret

if TYPE_CHECKING:
    from ops.receiver.jail import DirListing, ReadHandle
    from ops.receiver.session import SSHSession
    from ops.receiver.uploads import Upload


@dataclass(frozen=True)
class Account:
    """A throw-away SFTP login for one appliance, confined to `directory`."""

    host: str
    username: str
    password: Secret
    directory: Path


class Limits(Protocol):
    """The receiver's limits (see ops.receiver), read each time one applies: `Receiver` is one."""

    max_unauthenticated: int | None
    max_auth_attempts: int
    max_auth_failures_per_address: int | None
    auth_failure_window: float
    max_connections_per_account: int | None
    max_handles_per_account: int | None
    max_files_per_account: int | None
    max_bytes_per_account: int | None
    max_write_gap: int | None


@dataclass(eq=False)
class AccountState:
    """Book-keeping for one account: its jail, quota usage, open handles and connections."""

    account: Account
    root: str                                   # realpath of the jail, as str for fast joins
    bytes_used: int = 0                         # completed bytes + bytes of uploads in progress
    files_completed: int = 0
    entries: list[ManifestEntry] = field(default_factory=list)
    uploads: set[Upload] = field(default_factory=set)
    reserved: set[str] = field(default_factory=set)   # final paths of uploads in progress
    readers: set[ReadHandle] = field(default_factory=set)  # finished files open for reading
    # Open directory handles: asyncssh drops one on CLOSE without telling the server, and it
    # leaves this set when freed.
    listings: weakref.WeakSet[DirListing] = field(default_factory=weakref.WeakSet)
    dirs: int = 0                               # directories the account made (file quota)
    sessions: set[SSHSession] = field(default_factory=set)
    # Directories this receiver made itself: no client can turn one into a symlink, so path
    # resolution need not lstat them again (a pull resolves each of them for every file).
    own_dirs: set[str] = field(default_factory=set)

    def check_handles(self, limit: int | None) -> None:
        """Refuse one more open handle beyond `limit` (each file handle holds a descriptor)."""
        if limit is not None and len(self.uploads) + len(self.readers) + len(self.listings) >= limit:
            raise SFTPFailure(f"too many open handles: at most {limit} per account")

    def check_entries(self, limit: int | None) -> None:
        """Refuse one more file or directory beyond the file quota `limit`."""
        if limit is not None and self.files_completed + len(self.uploads) + self.dirs >= limit:
            raise SFTPFailure(f"quota exceeded: at most {limit} files and directories per account")


class Accounts:
    """A receiver's accounts: the live ones by login name, and every one a host has had (what a
    removed account delivered stays in its host's results).

    Results may be read from another thread (`Receiver.manifest()`), so changes to them hold `lock`.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._live: dict[str, AccountState] = {}
        self._hosts: dict[str, list[AccountState]] = {}
        # Accounts made and not revoked, those of finished hosts (forget) included: the run's size,
        # which the admission limit never goes below (every appliance of a run may log in at once).
        self.admitted = 0
        self._dummy = secrets.token_urlsafe(18)

    def __len__(self) -> int:
        return len(self._live)

    def create(self, host: str, directory: Path) -> AccountState:
        """A new live account for `host` with a random name and password, jailed in `directory`."""
        while True:
            username = f"ops-{secrets.token_hex(4)}"
            if username not in self._live:
                break
        account = Account(host=host, username=username, password=Secret.generate(24), directory=directory)
        with self.lock:
            state = AccountState(account=account, root=str(directory))
            self._live[username] = state
            self._hosts.setdefault(host, []).append(state)
            self.admitted += 1
        return state

    def remove(self, username: str) -> AccountState | None:
        """Take an account out of the live ones (no new logins); None if there is none of that name."""
        with self.lock:
            state = self._live.pop(username, None)
            if state is not None:
                self.admitted -= 1
            return state

    def forget(self, host: str) -> list[AccountState]:
        """`host` is done: every account it had leaves the live ones (no new logins) and its
        results are forgotten; returns them (the caller keeps what it needs, e.g. totals)."""
        with self.lock:
            states = self._hosts.pop(host, [])
            for state in states:
                self._live.pop(state.account.username, None)
        return states

    def is_live(self, username: str) -> bool:
        return username in self._live

    def login(self, username: str, password: str) -> AccountState | None:
        """The live account these credentials open, or None."""
        state = self._live.get(username)
        # Compare against a dummy when the user is unknown so both paths cost the same.
        expected = state.account.password.reveal() if state is not None else self._dummy
        ok = hmac.compare_digest(password.encode("utf-8", "surrogateescape"), expected.encode("utf-8"))
        return state if ok else None

    # -- results ---------------------------------------------------------------------------

    def completed(self, state: AccountState, entry: ManifestEntry) -> None:
        """Record a finished file."""
        with self.lock:
            state.files_completed += 1
            state.entries.append(entry)

    def renamed(self, state: AccountState, old: str, new: str, *, directory: bool) -> None:
        """Keep the results in step with a client's rename inside its jail."""
        with self.lock:
            rename_entries(state.entries, old, new, directory=directory)

    def entries(self, host: str) -> list[ManifestEntry]:
        """Files completed for `host`'s accounts, sorted by path."""
        with self.lock:
            entries = [e for s in self._hosts.get(host, ()) for e in s.entries]
        return sorted(entries, key=lambda e: e.path)

    def discard(self, host: str, path: str) -> bool:
        """Forget `host`'s finished file at `path` and delete it; False when there is none."""
        with self.lock:
            for state in self._hosts.get(host, ()):
                for entry in state.entries:
                    if entry.path == path:
                        state.entries.remove(entry)
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(os.path.join(state.root, path))
                        return True
        return False

    def stats(self, host: str) -> tuple[int, int]:
        """(files completed, bytes received including uploads in progress) of `host`'s accounts."""
        states = self._hosts.get(host, ())
        return sum(s.files_completed for s in states), sum(s.bytes_used for s in states)
