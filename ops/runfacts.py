"""What a run's steps say, read out of their `data` for people and for machines.

One place for the facts the run page (`htmlreport.py`), the history page (`history.py`) and the
metrics file (`metrics.py`) all show: Finesse performance metrics with their names and units, the
clients per port of `network_status` steps, times and durations as people read them, and the
comparison of steps that ran "before" and "after" on one host in one run.

A report may have been edited by hand: every reader here checks the type of what it takes and
skips what is not what a step writes (never a KeyError or TypeError out of a damaged report).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from ops.report import HostRecord, StepRecord
from ops.units import human_bytes

__all__ = ["METRICS", "Change", "Comparison", "MetricInfo", "compare", "format_metric", "host_bytes",
           "human_duration", "human_time", "metric_label", "parse_time", "performance_metrics", "port_clients",
           "step_pairs", "step_summary"]


@dataclass(frozen=True)
class MetricInfo:
    label: str   # "Heap used"
    unit: str    # bytes | ms | count | load
    help: str    # one line for the Prometheus HELP text


# The metric names of ops/parsers/finesse.py METRICS, as people read them.
METRICS: dict[str, MetricInfo] = {
    "heap_used_bytes": MetricInfo("Heap used", "bytes", "Tomcat heap memory utilized"),
    "non_heap_used_bytes": MetricInfo("Non-heap used", "bytes", "Tomcat non-heap memory utilized"),
    "threads": MetricInfo("Threads", "count", "Tomcat thread count"),
    "peak_threads": MetricInfo("Peak threads", "count", "Tomcat peak thread count"),
    "request_avg_ms": MetricInfo("Average request time", "ms", "Tomcat average request process time"),
    "request_longest_ms": MetricInfo("Longest request time", "ms", "Tomcat longest request process time"),
    "queue_incoming_responses": MetricInfo("CTI incoming responses queue", "count",
                                           "CTI statistics: incoming responses queue"),
    "queue_outgoing_responses": MetricInfo("CTI outgoing responses queue", "count",
                                           "CTI statistics: outgoing responses queue"),
    "queue_events": MetricInfo("CTI events in queue", "count", "CTI statistics: events in queue"),
    "queue_decoding_responses": MetricInfo("CTI decoding responses queue", "count",
                                           "CTI statistics: decoding responses queue"),
    "load_average": MetricInfo("System load average", "load", "average system load"),
    "agents_logged_in": MetricInfo("Agents logged in", "count", "active totals: logged-in agents"),
    "calls_current": MetricInfo("Current calls", "count", "active totals: current calls"),
    "calls_received_or_initiated": MetricInfo("Calls received or initiated", "count",
                                              "running totals: calls received or initiated"),
    "calls_failed": MetricInfo("Calls failed", "count", "running totals: calls failed"),
}


def metric_label(name: str) -> str:
    """`heap_used_bytes` -> `Heap used`; an unknown name -> `Some metric` (underscores as spaces)."""
    info = METRICS.get(name)
    if info is not None:
        return info.label
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def format_metric(name: str, value: Any, *, signed: bool = False) -> str:
    """A metric's value in its unit: `104.4 MiB`, `412 ms`, `1,542`, `1.47`; text as it is."""
    if not _is_number(value):
        return "-" if value is None else str(value)
    unit = METRICS[name].unit if name in METRICS else ""
    sign = "+" if signed and value > 0 else ("-" if value < 0 else "")
    size = abs(value)
    if unit == "bytes":
        text = human_bytes(size)
    elif unit == "ms":
        text = f"{size:,.0f} ms" if float(size).is_integer() else f"{size:,.1f} ms"
    elif unit == "load" or not float(size).is_integer():
        text = f"{size:,.2f}"
    else:
        text = f"{int(size):,}"
    return sign + text


def human_duration(seconds: Any) -> str:
    """`0.3 s` as `303 ms`, `3.99 s`, `2 min 5 s`, `1 h 1 min`, `2 d 3 h`."""
    if not _is_number(seconds) or seconds < 0:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"
    whole = int(round(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s"


_EPOCH_MS = re.compile(r"\d{12,14}")
_EPOCH_S = re.compile(r"\d{9,10}")


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from an ISO 8601 text (`Z` or an offset; naive read as UTC) or from epoch
    milliseconds (Finesse's `lastSuccessCTIHeartbeatTime`) or seconds; None for anything else."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        text = str(int(value))
    elif isinstance(value, str):
        text = value.strip()
    else:
        return None
    try:
        if _EPOCH_MS.fullmatch(text):
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        if _EPOCH_S.fullmatch(text):
            return datetime.fromtimestamp(int(text), UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00")) if len(text) >= 10 else None
    except (ValueError, OverflowError, OSError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def human_time(moment: datetime, local: tzinfo | None = None) -> tuple[str, str | None]:
    """(`2026-12-01 14:06:31 UTC`, `15:06:31 CET` or None when local time is UTC too). `local`: the
    reader's zone (default: this machine's)."""
    utc = moment.astimezone(UTC)
    here = moment.astimezone(local) if local is not None else moment.astimezone()
    utc_text = utc.strftime("%Y-%m-%d %H:%M:%S UTC")
    if here.utcoffset() == timedelta(0):
        return utc_text, None
    same_day = here.date() == utc.date()
    name = here.tzname() or here.strftime("%z")
    return utc_text, here.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M:%S") + f" {name}"


def host_bytes(host: HostRecord) -> int:
    """Bytes of the files a host received, counting only sizes that are whole numbers (a hand-edited
    report may hold anything there; `HostRecord.total_bytes` would raise)."""
    return sum(f["size"] for f in host.files if isinstance(f.get("size"), int) and f["size"] >= 0)


def performance_metrics(step: StepRecord) -> dict[str, int | float]:
    """The numeric metrics of a `finesse_performance` step (empty for any other step)."""
    metrics = step.data.get("metrics") if step.action == "finesse_performance" else None
    if not isinstance(metrics, dict):
        return {}
    return {str(k): v for k, v in metrics.items() if _is_number(v)}


def port_clients(step: StepRecord) -> dict[str, dict[str, Any]]:
    """port -> {remote_clients: int, connections: int, clients: [str]} of a `network_status` step."""
    summary = step.data.get("summary") if step.action == "network_status" else None
    ports = summary.get("ports") if isinstance(summary, dict) else None
    if not isinstance(ports, dict):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for port, info in ports.items():
        if not isinstance(info, dict):
            continue
        clients = info.get("clients")
        clients = [str(c) for c in clients] if isinstance(clients, list) else []
        remote = info.get("remote_clients")
        connections = info.get("connections")
        out[str(port)] = {"remote_clients": remote if _is_number(remote) else len(clients),
                          "connections": connections if _is_number(connections) else 0,
                          "clients": clients}
    return out


def step_summary(step: StepRecord) -> str:
    """The step's message, but for performance steps: the metrics in their units, by name."""
    metrics = performance_metrics(step)
    if metrics and step.status in ("ok", "changed"):
        shown = [n for n in ("heap_used_bytes", "threads", "load_average", "agents_logged_in", "calls_current")
                 if n in metrics]
        return ", ".join(f"{metric_label(n)}: {format_metric(n, metrics[n])}" for n in shown) or step.message
    files, size = step.data.get("files_received"), step.data.get("bytes_received")
    if step.action == "activelog" and isinstance(files, int) and isinstance(size, int) \
            and step.status in ("ok", "changed"):
        return f"{files:,} file{'' if files == 1 else 's'}, {human_bytes(size)} ({size:,} bytes)"
    return step.message


# -- before and after ---------------------------------------------------------------------------

_PHASE = re.compile(r"\b(before|after)\b", re.I)


def _phase(name: str) -> tuple[str, str] | None:
    """('before' | 'after', the name without that word) or None."""
    found = _PHASE.findall(name)
    if len(found) != 1:
        return None
    rest = " ".join(_PHASE.sub(" ", name).split()).strip(" -_:,").casefold()
    return found[0].casefold(), rest


def step_pairs(steps: list[StepRecord]) -> list[tuple[StepRecord, StepRecord]]:
    """Steps of one host that ran "before" and "after": the same action, names equal but for the
    word before/after ("Desktop connections before" / "... after"), the "before" one first. Each
    step is in one pair at most."""
    pairs: list[tuple[StepRecord, StepRecord]] = []
    used: set[int] = set()
    for i, first in enumerate(steps):
        phase = _phase(first.name)
        if phase is None or phase[0] != "before" or i in used:
            continue
        for j in range(i + 1, len(steps)):
            later = steps[j]
            other = _phase(later.name)
            if j not in used and later.action == first.action and other == ("after", phase[1]):
                pairs.append((first, later))
                used |= {i, j}
                break
    return pairs


@dataclass
class Change:
    what: str
    before: str
    after: str
    change: str = ""      # "+5.6 MiB", "2 gained, 1 lost", "changed", "" when the same
    kind: str = "same"    # same | up | down | changed
    gained: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)


@dataclass
class Comparison:
    before: StepRecord
    after: StepRecord
    changes: list[Change]

    @property
    def changed(self) -> bool:
        return any(c.kind != "same" for c in self.changes)


def _text_change(what: str, before: Any, after: Any) -> Change:
    b = "-" if before is None else str(before)
    a = "-" if after is None else str(after)
    return Change(what, b, a, "changed" if b != a else "", "changed" if b != a else "same")


def _system_info_changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    changes = [_text_change("Finesse status", before.get("status"), after.get("status"))]
    if before.get("status_reason") or after.get("status_reason"):
        changes.append(_text_change("Status reason", before.get("status_reason"), after.get("status_reason")))
    changes.append(_text_change("Last CTI heartbeat", before.get("last_cti_heartbeat_status"),
                                after.get("last_cti_heartbeat_status")))

    def active(data: dict[str, Any]) -> str | None:
        servers = data.get("cti_servers")
        return next((str(s.get("host")) for s in servers if isinstance(s, dict) and s.get("active")), None) \
            if isinstance(servers, list) else None

    changes.append(_text_change("Active CTI server", active(before), active(after)))
    return changes


def _metric_changes(before: dict[str, int | float], after: dict[str, int | float]) -> list[Change]:
    changes = []
    for name in [*before, *(n for n in after if n not in before)]:
        b, a = before.get(name), after.get(name)
        if b is None or a is None:
            changes.append(Change(metric_label(name), format_metric(name, b), format_metric(name, a),
                                  "changed", "changed"))
            continue
        delta = a - b
        kind = "same" if delta == 0 else ("up" if delta > 0 else "down")
        changes.append(Change(metric_label(name), format_metric(name, b), format_metric(name, a),
                              format_metric(name, delta, signed=True) if delta else "", kind))
    return changes


def _port_changes(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[Change]:
    changes = []
    for port in [*before, *(p for p in after if p not in before)]:
        b, a = before.get(port), after.get(port)
        b_clients = set(b["clients"]) if b else set()
        a_clients = set(a["clients"]) if a else set()
        gained, lost = sorted(a_clients - b_clients), sorted(b_clients - a_clients)
        b_count = b["remote_clients"] if b else 0
        a_count = a["remote_clients"] if a else 0
        parts = ([f"{len(gained)} gained"] if gained else []) + ([f"{len(lost)} lost"] if lost else [])
        kind = "same" if not parts and a_count == b_count else ("down" if a_count < b_count else "up"
                                                                  if a_count > b_count else "changed")
        changes.append(Change(f"Clients on port {port}", f"{b_count:,}", f"{a_count:,}", ", ".join(parts),
                              kind, gained, lost))
        b_conn = b["connections"] if b else 0
        a_conn = a["connections"] if a else 0
        if b_conn != a_conn:
            delta = a_conn - b_conn
            changes.append(Change(f"Connections on port {port}", f"{b_conn:,}", f"{a_conn:,}",
                                  f"{delta:+,}", "up" if delta > 0 else "down"))
    return changes


def compare(before: StepRecord, after: StepRecord) -> Comparison:
    """What changed between two steps of one kind: step status, then per kind: clients gained and
    lost per port (network_status), Finesse status and CTI (finesse_system_info), metric deltas
    (finesse_performance)."""
    changes = [_text_change("Step status", before.status, after.status)]
    if before.action == "network_status":
        changes += _port_changes(port_clients(before), port_clients(after))
    elif before.action == "finesse_system_info":
        changes += _system_info_changes(before.data, after.data)
    elif before.action == "finesse_performance":
        changes += _metric_changes(performance_metrics(before), performance_metrics(after))
    return Comparison(before, after, changes)
