"""Pruning old run directories of a playbook (`keep:` in the playbook), after every run that was not
interrupted; a host that did not succeed keeps its newest run in which it did, whatever `keep` says."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ops.fileio import write_atomic
from ops.state import STATE_DIR, playbook_key


class Keep(BaseModel):
    """`keep: {runs: N}` keeps the newest N runs; `keep: {days: N}` the runs of the last N days."""

    model_config = ConfigDict(extra="forbid")

    runs: int | None = Field(None, ge=1)
    days: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one(self) -> Keep:
        if (self.runs is None) == (self.days is None):
            raise ValueError("keep takes one of runs: N or days: N")
        return self


# report.json starts with run_id, playbook, playbook_name, started (ops/report.py's field order):
# telling which runs are this playbook's reads that head, not a report that can be tens of MB.
_HEAD = 64 * 1024
_PLAYBOOK_RE = re.compile(r'"playbook":\s*("(?:[^"\\]|\\.)*")')
_STARTED_RE = re.compile(r'"started":\s*("(?:[^"\\]|\\.)*")')


def _head(report: Path) -> tuple[str, str] | None:
    """(playbook, started) of a run, from the head of its report.json (all of it if need be)."""
    try:
        with report.open(encoding="utf-8", errors="replace") as fh:
            head = fh.read(_HEAD)
        playbook, started = _PLAYBOOK_RE.search(head), _STARTED_RE.search(head)
        if playbook and started:
            return json.loads(playbook.group(1)), json.loads(started.group(1))
        data = json.loads(report.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    return str(data.get("playbook", "")), str(data.get("started", ""))


def runs_of(output: Path, playbook: Path) -> list[Path]:
    """Run directories under `output` made by this playbook, oldest first."""
    wanted = str(playbook)
    found = [(head[1], report.parent) for report in output.glob("*/report.json")
             if (head := _head(report)) is not None and head[0] == wanted]
    return [path for _started, path in sorted(found)]


def _last_good_scan(runs: list[Path], hosts: set[str]) -> dict[str, Path]:
    """For each of `hosts`, the newest of `runs` (oldest first) in which it succeeded, read from
    the runs' reports (only before the index below exists)."""
    found: dict[str, Path] = {}
    for run_dir in reversed(runs):
        if len(found) == len(hosts):
            break
        try:
            records = json.loads((run_dir / "report.json").read_text()).get("hosts", {})
        except (OSError, ValueError, AttributeError):
            continue
        for host in hosts - set(found):
            if isinstance(records.get(host), dict) and records[host].get("status") == "ok":
                found[host] = run_dir
    return found


def _last_good(output: Path, playbook: Path, current: Path, statuses: dict[str, str],
               runs: list[Path]) -> dict[str, Path]:
    """Each host's newest run in which it succeeded, kept in `.state/<playbook>.last-good.json`
    (host -> run directory name) and updated with this run: with a host that never succeeds, a
    scan of the reports would read every run's report at every run."""
    path = output / STATE_DIR / f"{playbook_key(playbook)}.last-good.json"
    try:
        index = {h: output / name for h, name in json.loads(path.read_text()).items() if isinstance(name, str)}
    except FileNotFoundError:
        index = _last_good_scan(runs, {h for h, s in statuses.items() if s != "ok"})
    except (OSError, ValueError, AttributeError):
        index = {}
    index.update({h: current for h, s in statuses.items() if s == "ok"})
    write_atomic(path, json.dumps({h: p.name for h, p in sorted(index.items())}, indent=1) + "\n")
    return index


def prune(output: Path, playbook: Path, keep: Keep, current: Path, statuses: dict[str, str]) -> list[Path]:
    """Delete the runs `keep` lets go, never `current` nor the newest run in which a host that did
    not succeed now (`statuses`: host -> status in `current`) succeeded, so that its last good logs
    stay; returns what was deleted."""
    runs = [r for r in runs_of(output, playbook) if r != current]
    last_good = _last_good(output, playbook, current, statuses, runs)
    if keep.runs is not None:
        doomed = runs[: max(0, len(runs) - (keep.runs - 1))]
    else:
        assert keep.days is not None
        cutoff = time.time() - keep.days * 86400
        doomed = [r for r in runs if (r / "report.json").stat().st_mtime < cutoff]
    spared = {last_good[h] for h, s in statuses.items() if s != "ok" and h in last_good}
    doomed = [r for r in doomed if r not in spared]
    removed = []
    for run_dir in doomed:
        if run_dir.is_symlink():
            continue  # never followed, never reported removed: a link is not a run of ours
        shutil.rmtree(run_dir, ignore_errors=True)
        if not run_dir.exists():
            removed.append(run_dir)
    return removed
