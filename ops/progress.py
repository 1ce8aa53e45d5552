"""What the admin sees while a run goes on: a live per-host table on a terminal, plain lines otherwise.

The live view (rich) shows each host's state, current step, files and bytes received and the
receive rate, refreshed a few times a second; with `--no-progress` or when stdout is not a
terminal (cron, CI, a pipe), one line per event is printed instead.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from ops.events import HostFinished, HostStarted, RunEvent, StepFinished, StepStarted, as_dict, describe, is_failure
from ops.secrets import mask
from ops.textsafe import inert, inert_line
from ops.units import human_bytes

Stats = Callable[[str], tuple[int, int]]


@dataclass
class HostView:
    state: str = "waiting"
    step: str = ""
    files: int = 0
    bytes: int = 0
    rate: float = 0.0
    last_bytes: int = 0
    last_time: float = field(default_factory=time.monotonic)


class PlainProgress:
    """One line per event; with `verbose` off only host results and failures. From `-v` on (verbose
    >= 1), each step's output follows its line, indented (a `cli` step's text, a command's answer)."""

    def __init__(self, verbose: int | bool, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.verbose = int(verbose)
        self.quiet = quiet
        self.stream = stream or sys.stdout

    def event(self, event: RunEvent) -> None:
        line = inert(mask(f"{event.host} | {describe(event)}"))
        if self.quiet:
            if is_failure(event):
                print(inert(line), file=sys.stderr, flush=True)
            return
        if self.verbose or isinstance(event, HostFinished) or is_failure(event):
            print(inert(line), file=self.stream, flush=True)
            if self.verbose and isinstance(event, StepFinished) and event.output.strip():
                body = "\n".join(f"{event.host} |     {text}" for text in event.output.strip("\n").splitlines())
                print(inert(mask(body)), file=self.stream, flush=True)

    def start(self, stats: Stats | None = None) -> None:
        return None

    def stop(self) -> None:
        return None


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {mask(str(k)): _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


class JsonLines:
    """`ops run --json`: one JSON object per event on stdout (jq-ready), masked; the recap last."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def event(self, event: RunEvent) -> None:
        self.write(as_dict(event))

    def write(self, item: dict[str, Any]) -> None:
        # Masked before encoding (a secret holding a quote or a backslash is escaped in JSON), and
        # ASCII only: control characters and bidi overrides go as \u escapes, never raw to a terminal.
        print(inert(json.dumps(_masked(item), ensure_ascii=True, default=lambda v: mask(str(v)))),
              file=self.stream, flush=True)

    def start(self, stats: Stats | None = None) -> None:
        return None

    def stop(self) -> None:
        return None


# The order rows are shown in when they do not all fit: what needs the admin's eye first.
_STATE_ORDER = {"running": 0, "failed": 1, "waiting": 2}


class LiveProgress:
    """A rich Live table, one row per host, as many as the terminal has lines for.

    With more hosts than lines, running and failed hosts come first and one last row counts the
    rest by state: rendering rows nobody can see cost a fifth of the event loop's time at 200
    hosts (the table is drawn 4 times a second, holding the GIL).
    """

    def __init__(self, hosts: list[str], console: Any = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self.views = {h: HostView() for h in hosts}
        self.console = console or Console()
        self.stats: Stats | None = None
        self.live = Live(self._table(), console=self.console, refresh_per_second=4, transient=False,
                         get_renderable=self._table)

    def _shown(self) -> tuple[list[str], dict[str, int]]:
        """The hosts that get a row, and how many of the others are in each state."""
        limit = max(3, self.console.height - 3)  # the header, the summary row, a line to spare
        if len(self.views) <= limit:
            return list(self.views), {}
        names = sorted(self.views, key=lambda n: _STATE_ORDER.get(self.views[n].state, 3))
        rest: dict[str, int] = {}
        for name in names[limit - 1:]:
            state = self.views[name].state
            rest[state] = rest.get(state, 0) + 1
        return names[:limit - 1], rest

    def _table(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        names, rest = self._shown()
        self._sample(names)
        table = Table(box=None, pad_edge=False, expand=False)
        for title in ("host", "state", "step", "files", "received", "rate"):
            table.add_column(title, justify="right" if title in ("files", "received", "rate") else "left")
        for name in names:
            view = self.views[name]
            style = {"failed": "red", "ok": "green", "running": "cyan"}.get(view.state, "")
            # Names and steps come from the playbook and inventory: plain text, never markup.
            table.add_row(Text(inert_line(name)), Text(view.state, style=style),
                          Text(inert_line(mask(view.step))[:60]), str(view.files), human_bytes(view.bytes),
                          f"{human_bytes(view.rate)}/s" if view.rate else "")
        if rest:
            counts = ", ".join(f"{n} {state}" for state, n in sorted(rest.items()))
            table.add_row(f"... {sum(rest.values())} more", Text(inert_line(counts)))
        return table

    def _sample(self, names: list[str]) -> None:
        if self.stats is None:
            return
        now = time.monotonic()
        for name in names:
            view = self.views[name]
            try:
                view.files, view.bytes = self.stats(name)
            except Exception:  # noqa: BLE001 - a host without an account yet has no stats
                continue
            elapsed = now - view.last_time
            if elapsed >= 0.5:
                view.rate = max(0.0, (view.bytes - view.last_bytes) / elapsed)
                view.last_bytes, view.last_time = view.bytes, now

    def event(self, event: RunEvent) -> None:
        view = self.views.setdefault(event.host, HostView())
        if isinstance(event, HostStarted):
            view.state = "running"
        elif isinstance(event, HostFinished):
            view.state, view.step = event.status, ""
        elif isinstance(event, (StepStarted, StepFinished)):
            view.step = event.step
        if isinstance(event, StepFinished) and event.status == "failed":
            self.console.print(inert(mask(f"{event.host} | {describe(event)}")), style="red", markup=False,
                               highlight=False)

    def start(self, stats: Stats | None = None) -> None:
        self.stats = stats
        self.live.start()

    def stop(self) -> None:
        self.live.stop()
