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
import logging
import math
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ops.fileio import atomic_text
from ops.secrets import mask
from ops.textsafe import inert

log = logging.getLogger(__name__)

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
        spilled = self.__dict__.get("_spilled")
        if spilled is not None and "steps" not in self.__dict__:
            return dict(spilled.counts)
        out = dict.fromkeys(STEP_STATUSES, 0)
        for step in self.steps:
            out[step.status] = out.get(step.status, 0) + 1
        return out

    @property
    def total_bytes(self) -> int:
        spilled = self.__dict__.get("_spilled")
        if spilled is not None and "files" not in self.__dict__:
            return spilled.total_bytes
        return sum(int(f.get("size", 0)) for f in self.files)

    @property
    def file_count(self) -> int:
        """len(files), without reading back the files of a host kept in the journal."""
        spilled = self.__dict__.get("_spilled")
        if spilled is not None and "files" not in self.__dict__:
            return spilled.file_count
        return len(self.files)

    # -- a finished host kept on disk (issue 20: memory stays bounded) -----------------------
    # Once a host's line is in journal.jsonl (ops.runner), its steps and files (step data, file
    # lists: most of what a host costs) are dropped from memory; the record keeps where its line
    # is and the counts the recap needs. Reading `steps` or `files` afterwards reads them back
    # from that line (masked, as the journal holds them) and keeps them again; the report writer
    # reads them back without keeping them.

    def spill(self, name: str, journal: Path, offset: int, length: int) -> bool:
        """Drop steps and files, which `journal` holds at `offset` (the line of `name`, `length`
        bytes). False, and nothing dropped, when the record is not in a state to (a hand-made file
        entry whose size is not a number)."""
        try:
            total = sum(int(f.get("size", 0)) for f in self.files)
        except (TypeError, ValueError, AttributeError):
            return False
        self.__dict__["_spilled"] = _Spilled(name, journal, offset, length, tuple(self.counts().items()),
                                             len(self.files), total)
        del self.__dict__["steps"], self.__dict__["files"]
        return True

    @property
    def spilled(self) -> bool:
        """Whether steps or files are on disk only (journal.jsonl) right now."""
        return "_spilled" in self.__dict__ and not ("steps" in self.__dict__ and "files" in self.__dict__)

    def _read_back(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Steps and files of a spilled record as the journal holds them (plain JSON values)."""
        spilled: _Spilled = self.__dict__["_spilled"]
        try:
            with open(spilled.journal, "rb") as handle:
                handle.seek(spilled.offset)
                raw = handle.read(spilled.length)
            entry = _loads(raw)
            if entry.get("host") != spilled.name:
                raise ValueError(f"the line at {spilled.offset} is not {spilled.name}'s")
            record = entry["record"]
            steps, files = record.get("steps") or [], record.get("files") or []
            if not isinstance(steps, list) or not isinstance(files, list):
                raise ValueError("steps or files is not a list")
            return steps, files
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.error("cannot read %s's steps and files back from %s: %s", spilled.name, spilled.journal, exc)
            return [], []

    if not TYPE_CHECKING:  # mypy: HostRecord has no attributes but its fields
        def __getattr__(self, name: str) -> Any:
            # Only called for what the instance lacks: steps or files of a spilled record.
            if name in ("steps", "files") and "_spilled" in self.__dict__:
                steps, files = self._read_back()
                self.__dict__.setdefault("steps", [StepRecord(**_step_fields(s)) for s in steps])
                self.__dict__.setdefault("files", files)
                return self.__dict__[name]
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


@dataclass(frozen=True, slots=True)
class _Spilled:
    """Where a finished host's journal line is, and the counts of what it holds."""

    name: str
    journal: Path
    offset: int
    length: int
    counts: tuple[tuple[str, int], ...]
    file_count: int
    total_bytes: int


def _step_fields(raw: Any) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k in _STEP_FIELDS} if isinstance(raw, dict) else {}


def _loads(raw: bytes) -> Any:
    # The stdlib's decoder, not orjson's: orjson reads an integer past 64 bits as a float, and
    # refuses the escaped lone surrogates of a line the stdlib's encoder wrote.
    return json.loads(raw.decode("utf-8"))


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
        is written as null, as JSON has no NaN. What `write_report` writes, in one string."""
        try:
            return "".join(report_parts(self, fallback=False))
        except orjson.JSONEncodeError:
            return "".join(report_parts(self, fallback=True))


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


_ORJSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
_HOSTS_MARK = '\n  "hosts": {}'
_INDENT = "\n    "  # a host's lines, inside "hosts"


def _encode(value: Any, fallback: bool) -> str:
    """`value` as indented JSON. orjson: the report of a 200-host pull in 4 ms instead of 90 (the
    stdlib's encoder is pure Python once indent is asked for). `fallback`, for what orjson refuses
    (integers past 64 bits, lone surrogates: a file name that is not UTF-8, as os.fsdecode keeps
    it): the stdlib's, lone surrogates written escaped as it would with ensure_ascii."""
    if not fallback:
        return orjson.dumps(value, default=_default, option=_ORJSON_OPTIONS).decode()
    text = json.dumps(_finite(value), indent=2, default=_default, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _host_value(record: HostRecord, fallback: bool) -> Any:
    """What report.json holds for `record`: its fields in order, steps and files read back from
    the journal (not kept) when the record was spilled."""
    held = record.__dict__
    if "_spilled" not in held:
        return asdict(record) if fallback else record
    steps: list[Any] = []
    files: list[Any] = []
    if "steps" not in held or "files" not in held:
        steps, files = record._read_back()
    value: dict[str, Any] = {}
    for name in _HOST_ORDER:  # the fields' order, whatever order they came back in
        if name == "steps" and "steps" in held:
            value[name] = [asdict(s) if fallback and is_dataclass(s) and not isinstance(s, type) else s
                           for s in held["steps"]]
        elif name in ("steps", "files"):
            value[name] = held.get(name, steps if name == "steps" else files)
        else:
            value[name] = held[name]
    return value


def report_parts(report: RunReport, *, fallback: bool = False) -> Iterator[str]:
    """report.json's text, masked, in pieces: the run's fields, then one host at a time (a host
    kept in the journal is read back for its piece only), so no piece holds more than one host.
    The pieces joined are the whole document as one encoder call would write it (orjson, indent
    2; `fallback`: the stdlib's, see `_encode`); orjson.JSONEncodeError when not `fallback` and a
    value needs it."""
    top = {f.name: (getattr(report, f.name) if f.name != "hosts" else {}) for f in fields(report)}
    shell = _encode(top, fallback)
    if not report.hosts:
        yield mask(shell)
        return
    head, tail = shell.split(_HOSTS_MARK, 1)
    yield mask(head + '\n  "hosts": {')
    for index, (name, record) in enumerate(report.hosts.items()):
        key = _encode(name, fallback)
        body = _encode(_host_value(record, fallback), fallback)
        yield mask(("," if index else "") + _INDENT + key + ": " + body.replace("\n", _INDENT))
    yield mask("\n  }" + tail)


def write_report(run_dir: Path, report: RunReport) -> Path:
    """Write report.json atomically (readers see the old report or the new), private, one host at
    a time (`report_parts`): a 1,000-host report is never one string in memory."""
    path = run_dir / "report.json"
    with atomic_text(path) as handle:
        try:
            for part in report_parts(report, fallback=False):
                handle.write(part)
        except orjson.JSONEncodeError:  # written again by the stdlib's encoder, whole
            handle.seek(0)
            handle.truncate()
            for part in report_parts(report, fallback=True):
                handle.write(part)
        handle.write("\n")
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
    hosts = {name: {"status": rec.status, **recap_counts(rec), "files": rec.file_count, "bytes": rec.total_bytes,
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
                f"ignored={c['ignored']:<3} files={rec.file_count:<4} bytes={rec.total_bytes}")
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


_JOURNAL_LOCK = threading.Lock()  # appends come from worker threads: each learns where its line landed


def _journal_line(host: str, record: HostRecord) -> str:
    try:
        return orjson.dumps({"host": host, "record": record}, default=_default,
                            option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:  # as to_json: integers past 64 bits, lone surrogates
        text = json.dumps({"host": host, "record": _finite(asdict(record))}, default=_default,
                          ensure_ascii=False, separators=(",", ":"))
        return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def append_journal(run_dir: Path, host: str, record: HostRecord) -> tuple[int, int]:
    """One line for a host that finished, flushed at once: what a run killed later still knows.
    Returns where the line is in the journal (offset, length in bytes): HostRecord.spill."""
    line = (mask(_journal_line(host, record)) + "\n").encode("utf-8")
    with (run_dir / JOURNAL).open("ab") as handle:
        with _JOURNAL_LOCK:
            handle.write(line)
            handle.flush()
            end = handle.tell()
        os.fsync(handle.fileno())
    return end - len(line), len(line)


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
_HOST_ORDER = tuple(HostRecord.__dataclass_fields__)
_HOST_FIELDS = set(HostRecord.__dataclass_fields__)
_RUN_FIELDS = set(RunReport.__dataclass_fields__)
