"""Typed run events: what the runner tells whoever watches a run (progress, reports, a JSON stream).

In the spirit of nornir's `Processor`: the runner calls `on_event(event)` with one of these, and
subscribers match on the type instead of parsing text. `describe()` gives the one line a person
reads for each (the plain progress lines and `-v`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Protocol

__all__ = ["FileReceived", "HostFinished", "HostStarted", "Notice", "Processor", "RunEvent", "StepFinished",
           "StepStarted", "as_dict", "describe"]


@dataclass(frozen=True)
class HostStarted:
    host: str


@dataclass(frozen=True)
class StepStarted:
    host: str
    step: str


@dataclass(frozen=True)
class StepFinished:
    """A step ended: `status` is ok, changed, skipped, failed or ignored (failed, ignore_errors)."""

    host: str
    step: str
    status: str
    message: str = ""
    output: str = ""  # what the appliance printed for the step, masked (shown with -v)


@dataclass(frozen=True)
class FileReceived:
    """A file this host's run directory holds whole (in its manifest), told when the host ends."""

    host: str
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class HostFinished:
    host: str
    status: str
    error: str | None = None


@dataclass(frozen=True)
class Notice:
    """Something worth a line that is not a state change (a retry, a resume, check mode, retention)."""

    host: str
    text: str


RunEvent = HostStarted | StepStarted | StepFinished | FileReceived | HostFinished | Notice
EventSink = Callable[[RunEvent], None]


class Processor(Protocol):
    def event(self, event: RunEvent) -> None: ...


def describe(event: RunEvent) -> str:
    """The event as the line a person reads after `<host> | `."""
    if isinstance(event, HostStarted):
        return "started"
    if isinstance(event, StepStarted):
        return f"[{event.step}] running"
    if isinstance(event, StepFinished):
        if event.status == "failed":
            return f"[{event.step}] FAILED: {event.message}"
        if event.status == "ignored":
            return f"[{event.step}] failed (ignored): {event.message}"
        if event.status == "skipped":
            return f"[{event.step}] skipped"
        return f"[{event.step}] {event.status}: {event.message}"
    if isinstance(event, HostFinished):
        return f"finished: {event.status}" + (f" ({event.error})" if event.error else "")
    if isinstance(event, FileReceived):
        return f"file {event.path} ({event.size} bytes, sha256 {event.sha256[:12]}...)"
    return event.text


_KINDS = {HostStarted: "host_started", StepStarted: "step_started", StepFinished: "step_finished",
          FileReceived: "file_received", HostFinished: "host_finished", Notice: "notice"}


def as_dict(event: RunEvent) -> dict[str, object]:
    """The event as one JSON object: {"event": "step_finished", "host": ..., ...} (`ops run --json`)."""
    return {"event": _KINDS[type(event)], **asdict(event)}


def is_failure(event: RunEvent) -> bool:
    return (isinstance(event, StepFinished) and event.status == "failed") or (
        isinstance(event, HostFinished) and event.status == "failed")
