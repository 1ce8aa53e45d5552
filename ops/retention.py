"""Pruning old run directories of a playbook, only ever after a successful run (`keep:` in the playbook)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator


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


def runs_of(output: Path, playbook: Path) -> list[Path]:
    """Run directories under `output` made by this playbook, oldest first."""
    wanted = str(playbook)
    found: list[tuple[str, Path]] = []
    for report in output.glob("*/report.json"):
        try:
            data = json.loads(report.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("playbook") == wanted:
            found.append((str(data.get("started", "")), report.parent))
    return [path for _started, path in sorted(found)]


def prune(output: Path, playbook: Path, keep: Keep, current: Path) -> list[Path]:
    """Delete the runs `keep` lets go (never `current`); returns what was deleted."""
    runs = [r for r in runs_of(output, playbook) if r != current]
    if keep.runs is not None:
        doomed = runs[: max(0, len(runs) - (keep.runs - 1))]
    else:
        assert keep.days is not None
        cutoff = time.time() - keep.days * 86400
        doomed = [r for r in runs if (r / "report.json").stat().st_mtime < cutoff]
    for run_dir in doomed:
        shutil.rmtree(run_dir, ignore_errors=True)
    return doomed
