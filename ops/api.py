"""The toolkit as a library: `ops.api.run(...)`, synchronous, as ansible-runner offers Ansible.

```python
from ops import api

result = api.run("playbooks/pull-desktop-logs.yaml", "inventory.yaml", limit="finesse-a",
                 extra_vars={"days": 1}, on_event=print)
result.rc                 # the `ops run` exit code: 0 ok, 1 a host failed, 2 bad input ...
result.ok                 # rc == 0
result.report.hosts["finesse-a"].steps[0].data   # what `report.json` holds, as objects
[e for e in result.events if isinstance(e, api.FileReceived)]
```
Bad input raises `ops.api.InputError` (its `problems` say file:line and what); a run that another
run of the same playbook holds the lock of raises `RunLocked`; `PreflightError` lists what must be
fixed before any host is touched. Events are the typed ones of ops.events, in the order they came.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.events import FileReceived, HostFinished, HostStarted, Notice, RunEvent, StepFinished, StepStarted
from ops.preflight import PreflightError
from ops.report import RunReport
from ops.state import RunLocked
from ops.yamlsource import InputError, Problem

__all__ = ["FileReceived", "HostFinished", "HostStarted", "InputError", "Notice", "PreflightError", "RunEvent",
           "RunLocked", "RunResult", "StepFinished", "StepStarted", "run"]

EXIT_OK, EXIT_FAILED = 0, 1


@dataclass
class RunResult:
    report: RunReport
    run_dir: Path
    events: list[RunEvent] = field(default_factory=list)

    @property
    def rc(self) -> int:
        return EXIT_FAILED if self.report.failed_hosts else EXIT_OK

    @property
    def ok(self) -> bool:
        return self.rc == EXIT_OK


def _entry_point() -> None:
    """What the `ops` command does first: asyncssh patched, lab hosts startable."""
    from ops import sshpatches
    from ops.lab.provider import install

    sshpatches.apply()
    install()


def run(playbook: str | Path, inventory: str | Path = "inventory.yaml", *, limit: str | None = None,
        extra_vars: Mapping[str, Any] | None = None, tags: list[str] | None = None,
        skip_tags: list[str] | None = None, check: bool = False, output: str | Path = "collected",
        forks: int = 20, timeout: float = 60.0, on_event: Callable[[RunEvent], None] | None = None,
        prompt: Callable[[str], str] | None = None) -> RunResult:
    """Run `playbook` against `inventory` (the toolkit's own, or an Ansible one) and wait for it."""
    _entry_point()
    from ops.inventory import load_inventory
    from ops.playbook import load_playbook, select_steps
    from ops.runner import Runner, RunOptions

    inv = load_inventory(Path(inventory))
    book = load_playbook(Path(playbook), inv, extra_vars=dict(extra_vars or {}))
    book.steps = select_steps(book.steps, tags, skip_tags)
    if limit:
        allowed = {h.name for h in inv.select(limit)}
        book.targets = [h for h in book.targets if h.name in allowed]
        if not book.targets:
            raise InputError([Problem(str(playbook), None, "limit",
                                      f"{limit!r} leaves no host of the playbook's {book.hosts!r}")])
    events: list[RunEvent] = []

    def sink(event: RunEvent) -> None:
        events.append(event)
        if on_event is not None:
            on_event(event)

    if not check:
        from ops.rlimits import fit_forks, raise_open_files

        forks = fit_forks(forks, raise_open_files(), sum(1 for h in book.targets if h.lab is not None))
    options = RunOptions(output=Path(output), forks=forks, check=check, command_timeout=timeout, prompt=prompt)
    runner = Runner(book, inv, options, on_event=sink)
    report = asyncio.run(runner.run())
    return RunResult(report=report, run_dir=options.output / report.run_id, events=events)
