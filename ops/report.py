"""The run directory's records: `report.json` (schema below) and the per-host recap.

`report.json`, schema_version 1:
```
{schema_version, run_id, playbook, playbook_name, started, finished, duration_s, check, interrupted,
 hosts: {NAME: {status: ok|failed|skipped, error, started, duration_s, transcript, manifest,
                steps: [{name, action, status: ok|changed|failed|ignored|skipped, message,
                         started, duration_s, data}],
                files: [{path, size, sha256}]}}}
```
`ops schema report` prints it as a JSON Schema (ops/schema.py).
Everything written passes through `ops.secrets.mask` first.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from ops.fileio import write_atomic
from ops.secrets import mask
from ops.textsafe import inert

SCHEMA_VERSION = 1
STEP_STATUSES = ("ok", "changed", "failed", "ignored", "skipped")


@dataclass
class StepRecord:
    name: str
    action: str
    status: str
    message: str = ""
    started: str = ""
    duration_s: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class HostRecord:
    status: str = "ok"
    error: str | None = None
    unreachable: bool = False  # a CLI step could not connect, log in or trust the host key (Ansible's count)
    started: str = ""
    duration_s: float = 0.0
    transcript: str | None = None
    manifest: str | None = None
    steps: list[StepRecord] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STEP_STATUSES, 0)
        for step in self.steps:
            out[step.status] = out.get(step.status, 0) + 1
        return out

    @property
    def total_bytes(self) -> int:
        return sum(int(f.get("size", 0)) for f in self.files)


@dataclass
class RunReport:
    run_id: str
    playbook: str
    playbook_name: str
    started: str
    check: bool = False
    finished: str = ""
    duration_s: float = 0.0
    hosts: dict[str, HostRecord] = field(default_factory=dict)
    interrupted: bool = False
    schema_version: int = SCHEMA_VERSION

    @property
    def failed_hosts(self) -> list[str]:
        return [name for name, rec in self.hosts.items() if rec.status == "failed"]

    def to_json(self) -> str:
        """The report as indented JSON, masked; a number that is not finite (a metric reading NaN)
        is written as null, as JSON has no NaN."""
        # orjson: the report of a 200-host pull in 4 ms instead of 90 (the stdlib's encoder is pure
        # Python once indent is asked for), at the end of every run, in its wall time.
        try:
            text = orjson.dumps(self, default=_default, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
        except orjson.JSONEncodeError:
            # What orjson refuses: integers past 64 bits, and lone surrogates (a file name that is
            # not UTF-8, as os.fsdecode keeps it), which are written escaped as the stdlib would.
            text = json.dumps(_finite(asdict(self)), indent=2, default=_default, ensure_ascii=False)
            text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
        return mask(text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _finite(value: Any) -> Any:
    """`value` with every float that is not finite replaced by None, as orjson writes it."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # paths and anything else


def write_report(run_dir: Path, report: RunReport) -> Path:
    path = run_dir / "report.json"
    write_atomic(path, report.to_json() + "\n")
    return path


def recap_counts(record: HostRecord) -> dict[str, int]:
    """Ansible's recap columns for one host: the step that could not reach the host counts as
    unreachable, not failed, and a host that failed before any step (a secret that did not resolve,
    a run that could not start) counts one failure, so a failed host never shows failed=0."""
    c = record.counts()
    unreachable = 1 if record.unreachable else 0
    failed = max(0, c["failed"] - unreachable)
    if record.status == "failed" and not failed and not unreachable:
        failed = 1
    return {"ok": c["ok"], "changed": c["changed"], "unreachable": unreachable, "failed": failed,
            "skipped": c["skipped"], "ignored": c["ignored"]}


def recap_json(report: RunReport, run_dir: Path, interrupted: bool = False) -> dict[str, Any]:
    """The recap as one JSON object (`ops run --json`'s last line, `ops report --json`), masked."""
    hosts = {name: {"status": rec.status, **recap_counts(rec), "files": len(rec.files), "bytes": rec.total_bytes,
                    "error": mask(rec.error) if rec.error else None}
             for name, rec in report.hosts.items()}
    return {"event": "recap", "run_id": report.run_id, "playbook": report.playbook_name, "run_dir": str(run_dir),
            "check": report.check, "interrupted": interrupted or report.interrupted, "hosts": hosts,
            "failed_hosts": report.failed_hosts}


def recap_lines(report: RunReport) -> list[str]:
    """Ansible-style PLAY RECAP lines, one per host (Ansible's columns, then files and bytes)."""
    width = max((len(n) for n in report.hosts), default=4)
    lines = []
    for name, rec in report.hosts.items():
        c = recap_counts(rec)
        line = (f"{name:<{width}} : {rec.status:<6} ok={c['ok']:<3} changed={c['changed']:<3} "
                f"unreachable={c['unreachable']:<3} failed={c['failed']:<3} skipped={c['skipped']:<3} "
                f"ignored={c['ignored']:<3} files={len(rec.files):<4} bytes={rec.total_bytes}")
        if rec.error:
            line += f"\n{'':<{width}}   error: {rec.error}"
        lines.append(inert(mask(line)))
    return lines


_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,), "action": (str,), "status": (str,), "message": (str,), "started": (str,), "error": (str,),
    "duration_s": (int, float), "data": (dict,), "transcript": (str,), "manifest": (str,), "files": (list,),
    "run_id": (str,), "playbook": (str,), "playbook_name": (str,), "finished": (str,), "check": (bool,),
    "interrupted": (bool,), "schema_version": (int,), "unreachable": (bool,),
}


def _fields(raw: Any, allowed: set[str], where: str) -> dict[str, Any]:
    """The known keys of `raw`, each of the type the report writes (None allowed where the field is optional)."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where} is {type(raw).__name__}, not a mapping")
    out = {}
    for key, value in raw.items():
        if key not in allowed or key in ("steps", "hosts"):
            continue
        kinds = _TYPES.get(key)
        if kinds is not None and value is not None and not isinstance(value, kinds):
            raise ValueError(f"{where}.{key} is {type(value).__name__}, not {kinds[0].__name__}")
        if value is None and key not in ("error", "transcript", "manifest"):
            continue
        out[key] = value
    return out


def report_from_dict(data: dict[str, Any]) -> RunReport:
    """A RunReport read back from report.json's content (unknown keys are ignored); ValueError, naming
    the place, for a value of the wrong type (a hand-edited or damaged report)."""
    hosts: dict[str, HostRecord] = {}
    raw_hosts = data.get("hosts") or {}
    if not isinstance(raw_hosts, dict):
        raise ValueError("hosts is not a mapping")
    for name, raw in raw_hosts.items():
        fields = _fields(raw, _HOST_FIELDS, f"hosts.{name}")
        raw_steps = raw.get("steps") or []
        if not isinstance(raw_steps, list):
            raise ValueError(f"hosts.{name}.steps is not a list")
        steps = []
        for index, step in enumerate(raw_steps):
            values = _fields(step, _STEP_FIELDS, f"hosts.{name}.steps[{index}]")
            values.setdefault("name", "?")
            values.setdefault("action", "?")
            values.setdefault("status", "failed")
            steps.append(StepRecord(**values))
        if not all(isinstance(f, dict) for f in fields.get("files", [])):
            raise ValueError(f"hosts.{name}.files holds an entry that is not a mapping")
        hosts[str(name)] = HostRecord(**fields, steps=steps)
    top = _fields(data, _RUN_FIELDS, "report")
    for key in ("run_id", "playbook", "playbook_name", "started"):
        top.setdefault(key, "")
    return RunReport(**top, hosts=hosts)


JOURNAL = "journal.jsonl"


def append_journal(run_dir: Path, host: str, record: HostRecord) -> None:
    """One line for a host that finished, flushed at once: what a run killed later still knows."""
    line = orjson.dumps({"host": host, "record": record}, default=_default,
                        option=orjson.OPT_NON_STR_KEYS).decode()
    with (run_dir / JOURNAL).open("a", encoding="utf-8") as handle:
        handle.write(mask(line) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _merge_journal(run_dir: Path, data: dict[str, Any]) -> None:
    """A run that never wrote its final report: take each finished host from the journal."""
    try:
        lines = (run_dir / JOURNAL).read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    hosts = data.setdefault("hosts", {})
    for line in lines:
        try:
            entry = json.loads(line)
            hosts[str(entry["host"])] = entry["record"]
        except (ValueError, KeyError, TypeError):
            continue  # the line being written when the run was killed


def read_report(run_dir: Path) -> RunReport:
    """`<run_dir>/report.json` as a RunReport; ValueError when it is missing or not a report."""
    path = Path(run_dir) / "report.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no report.json (is {run_dir} a run directory?)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the report: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("hosts"), dict) or "run_id" not in data:
        raise ValueError(f"{path}: not a run report")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{path}: schema_version {data.get('schema_version')!r}, this ops reads {SCHEMA_VERSION}")
    if data.get("interrupted") and not data.get("finished"):
        _merge_journal(Path(run_dir), data)
    try:
        return report_from_dict(data)
    except ValueError as exc:
        raise ValueError(f"{path}: not a run report: {exc}") from None


def resolve_run_dir(ref: str, output: Path = Path("collected")) -> Path:
    """A RUN_ID argument: `<output>/<RUN_ID>`, a path to a run directory, or `latest` (newest in output)."""
    if ref == "latest":
        runs = [p for p in output.iterdir() if (p / "report.json").is_file()] if output.is_dir() else []
        if not runs:
            raise ValueError(f"no run directory with a report.json in {output}")
        # Run ids start with a UTC timestamp; the report's mtime breaks ties within a second.
        return max(runs, key=lambda p: (p.name[:16], (p / "report.json").stat().st_mtime))
    for candidate in (output / ref, Path(ref)):
        if (candidate / "report.json").is_file():
            return candidate
    raise ValueError(f"run {ref!r} not found: neither {output / ref} nor {ref} holds a report.json")


_STEP_FIELDS = set(StepRecord.__dataclass_fields__)
_HOST_FIELDS = set(HostRecord.__dataclass_fields__)
_RUN_FIELDS = set(RunReport.__dataclass_fields__)
