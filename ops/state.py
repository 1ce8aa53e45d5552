"""What unattended runs remember between runs: incremental-pull state and the run lock.

Both live beside the collected data, in `<output>/.state/<playbook-key>.{json,lock}`, keyed by the
playbook's absolute path, so two playbooks never share them and a copied output directory keeps
its history.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.fileio import file_mode, write_atomic

log = logging.getLogger(__name__)
STATE_DIR = ".state"


def playbook_key(playbook: Path) -> str:
    resolved = str(Path(playbook).resolve())
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(playbook).stem)[:40]
    return f"{stem}-{hashlib.sha256(resolved.encode()).hexdigest()[:10]}"


def normalise(path: str) -> str:
    """A received file's path below activelog, whatever layout the appliance chose above it."""
    marker = "/activelog/"
    text = "/" + path.lstrip("/")
    return text.rsplit(marker, 1)[1] if marker in text else path.lstrip("/")


@dataclass
class StepState:
    """The last successful pull of one step on one host."""

    started: float
    files: dict[str, str] = field(default_factory=dict)  # path below activelog -> sha256


class PullState:
    """Incremental-pull state of one playbook: successful pulls are recorded in memory, and the
    file is written atomically once, when the run ends (`save`), however it ends."""

    def __init__(self, output: Path, playbook: Path) -> None:
        self.path = output / STATE_DIR / f"{playbook_key(playbook)}.json"
        self._data: dict[str, dict[str, Any]] = {}
        self._dirty = False
        self.warning: str | None = None
        try:
            loaded = json.loads(self.path.read_text())
            if not (isinstance(loaded, dict) and isinstance(loaded.get("hosts"), dict)):
                raise ValueError("not a pull state (a mapping with hosts:)")
            self._data = {h: v for h, v in loaded["hosts"].items() if isinstance(v, dict)}
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            # A damaged state must not fail every later pull: it is moved aside, named, and this
            # run pulls its whole window, as a first run would.
            aside = self.path.with_name(f"{self.path.name}.damaged-{int(time.time())}")
            try:
                self.path.replace(aside)
            except OSError:
                aside = self.path
            self.warning = (f"the pull state {self.path} could not be read ({exc}); kept as {aside.name}, "
                            "and this run pulls the whole window")
            log.warning("%s", self.warning)

    def get(self, host: str, step: str) -> StepState | None:
        entry = self._data.get(host, {}).get(step)
        if not isinstance(entry, dict) or not isinstance(entry.get("started"), (int, float)):
            return None
        files = entry.get("files", {})
        return StepState(float(entry["started"]), {str(k): str(v) for k, v in files.items()}
                         if isinstance(files, dict) else {})

    def record(self, host: str, step: str, started: float, files: dict[str, str]) -> None:
        """A successful pull that started at `started` and whose window held `files` (path -> sha256).

        Only that window's files are kept, not every file ever pulled, which would grow the
        state without end over scheduled runs.
        """
        self._data.setdefault(host, {})[step] = {"started": started, "files": dict(files)}
        self._dirty = True

    def save(self) -> None:
        """Write what was recorded, if anything (once a run: a write after each host would cost
        hosts x state size, on the event loop)."""
        if self._dirty:
            write_atomic(self.path, json.dumps({"version": 1, "hosts": self._data}, indent=1) + "\n")
            self._dirty = False


class RunLocked(Exception):
    """Another run of the same playbook holds the lock."""


class RunLock:
    """An exclusive, non-blocking lock per playbook; released when the process ends, however it ends."""

    def __init__(self, output: Path, playbook: Path) -> None:
        self.path = output / STATE_DIR / f"{playbook_key(playbook)}.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, file_mode())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip()
            os.close(fd)
            raise RunLocked(f"another run of this playbook is in progress ({holder or 'pid unknown'}; "
                            f"lock {self.path})") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
