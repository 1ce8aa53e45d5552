"""`ops run --metrics PATH`, `ops report [RUN_ID] --metrics PATH`: a Prometheus text file for
node_exporter's textfile collector.

Built with `prometheus_client` (a registry holding one collector, rendered by `generate_latest`:
the Prometheus text format 0.0.4, which the textfile collector reads) and written atomically and
private by default (`ops.fileio.write_atomic`: a temporary file renamed over the old one, so
node_exporter never reads half a file; readable by a group with `OPS_GROUP_READABLE=1`, the
way to let node_exporter's group read it). No sample carries a timestamp: the textfile
collector refuses them.

What is in it, every series labelled with `playbook` (the playbook's file name without .yaml):

| metric | labels | value |
| --- | --- | --- |
| finesse_ops_run_timestamp_seconds | | start of the run exported |
| finesse_ops_run_duration_seconds | | its wall time |
| finesse_ops_host_ok | host | 1 when the host succeeded in that run, else 0 |
| finesse_ops_host_duration_seconds | host | |
| finesse_ops_step_status | host, step, action, status | 1, for the status the step ended in |
| finesse_ops_step_failed | host, step, action | 1 when the step failed, else 0 |
| finesse_ops_step_duration_seconds | host, step, action | |
| finesse_ops_received_files, finesse_ops_received_bytes | host | files and bytes that arrived whole |
| finesse_ops_last_success_timestamp_seconds | host | end of the newest run in which the host succeeded |
| finesse_<metric> | host | each Finesse performance metric (ms as seconds: finesse_request_avg_seconds) |
| finesse_remote_clients, finesse_connections | host, port | per port, the run's last network_status |

The last success is read from earlier runs' reports too (through the history index).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ops.fileio import write_atomic
from ops.history import load_history
from ops.report import RunReport, read_report
from ops.runfacts import METRICS, host_bytes, parse_time, performance_metrics, port_clients
from ops.textsafe import inert

__all__ = ["after_run", "command", "metrics_text", "newest_runs", "write_metrics"]

PREFIX = "finesse_ops_"


def playbook_label(playbook: str) -> str:
    """`/srv/playbooks/health-check.yaml` -> `health-check`."""
    name = Path(playbook).name if playbook else ""
    for suffix in (".yaml", ".yml"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name or "unknown"


def _end(started: Any, duration: Any) -> float | None:
    moment = parse_time(started)
    if moment is None:
        return None
    extra = duration if isinstance(duration, int | float) and not isinstance(duration, bool) and duration >= 0 else 0
    return (moment + timedelta(seconds=float(extra))).timestamp()


def last_successes(output: Path | None, reports: list[RunReport]) -> dict[tuple[str, str], float]:
    """(playbook label, host) -> end time of the newest run in which that host succeeded, from the
    run directories under `output` (through the history index) and `reports` themselves."""
    found: dict[tuple[str, str], float] = {}

    def note(key: tuple[str, str], when: float | None) -> None:
        if when is not None and when > found.get(key, float("-inf")):
            found[key] = when

    wanted = {playbook_label(r.playbook) for r in reports}
    if output is not None and output.is_dir():
        for run in load_history(output).runs:
            label = playbook_label(str(run.data.get("playbook") or ""))
            if label not in wanted:
                continue
            for host, summary in run.hosts.items():
                if isinstance(summary, dict) and summary.get("status") == "ok":
                    note((label, host), _end(summary.get("started") or run.data.get("started"),
                                             summary.get("duration_s")))
    for report in reports:
        label = playbook_label(report.playbook)
        for host, record in report.hosts.items():
            if record.status == "ok":
                note((label, host), _end(record.started or report.started, record.duration_s))
    return found


@dataclass
class _Families:
    """Metric families by name, made on first use with their help text and label names."""
    made: dict[str, Any] = field(default_factory=dict)
    seen: set[tuple[str, ...]] = field(default_factory=set)

    def add(self, name: str, help_text: str, labels: dict[str, str], value: float) -> None:
        from prometheus_client.core import GaugeMetricFamily

        made = self.made.get(name)
        if made is None:
            made = self.made[name] = (GaugeMetricFamily(name, help_text, labels=list(labels)), list(labels))
        family, names = made
        key = (name, *(labels[k] for k in names))
        if key in self.seen:
            return  # a hand-edited report naming a step twice: one series, as the textfile collector wants
        self.seen.add(key)
        family.add_metric([labels[k] for k in names], float(value))


def _finesse_name(metric: str) -> tuple[str, float]:
    """The Prometheus name of a Finesse metric and the factor its value is multiplied by (ms -> s)."""
    if metric.endswith("_ms"):
        return f"finesse_{metric[:-3]}_seconds", 0.001
    return f"finesse_{metric}", 1.0


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value and abs(value) != float("inf"):
        return float(value)
    return None


class RunCollector:
    """A prometheus_client collector over finished runs (one per playbook) and the last successes."""

    def __init__(self, reports: list[RunReport], successes: dict[tuple[str, str], float]) -> None:
        self.reports = reports
        self.successes = successes

    def describe(self) -> list[Any]:
        return []  # collected on demand: the registry must not call collect() at registration

    def collect(self) -> Iterator[Any]:
        f = _Families()
        for report in self.reports:
            book = playbook_label(report.playbook)
            run = {"playbook": book}
            started = parse_time(report.started)
            if started is not None:
                f.add(PREFIX + "run_timestamp_seconds", "start of the run exported (Unix time)", run,
                      started.timestamp())
            f.add(PREFIX + "run_duration_seconds", "wall time of the run exported", run, report.duration_s)
            for host, record in report.hosts.items():
                labels = {"playbook": book, "host": host}
                f.add(PREFIX + "host_ok", "1 when the host succeeded in the run, else 0", labels,
                      1 if record.status == "ok" else 0)
                f.add(PREFIX + "host_duration_seconds", "time the host's steps took", labels, record.duration_s)
                f.add(PREFIX + "received_files", "files that arrived whole in the run", labels, len(record.files))
                f.add(PREFIX + "received_bytes", "bytes of the files that arrived whole in the run", labels,
                      host_bytes(record))
                ports: dict[str, dict[str, Any]] = {}
                metrics: dict[str, int | float] = {}
                for step in record.steps:
                    step_labels = {**labels, "step": step.name, "action": step.action}
                    f.add(PREFIX + "step_status", "1 for the status the step ended in (ok, changed, failed, "
                          "ignored, skipped)", {**step_labels, "status": step.status}, 1)
                    f.add(PREFIX + "step_failed", "1 when the step failed, else 0", step_labels,
                          1 if step.status == "failed" else 0)
                    f.add(PREFIX + "step_duration_seconds", "time the step took", step_labels, step.duration_s)
                    ports.update(port_clients(step))
                    metrics = performance_metrics(step) or metrics
                for name, value in metrics.items():
                    prom, factor = _finesse_name(name)
                    known = METRICS.get(name)
                    f.add(prom, f"Finesse {known.help if known else name} (GetPerformanceInformation)", labels,
                          value * factor)
                for port, info in ports.items():
                    port_labels = {**labels, "port": port}
                    f.add("finesse_remote_clients", "distinct remote hosts with an ESTABLISHED connection to the "
                          "port (show network status)", port_labels, info["remote_clients"])
                    f.add("finesse_connections", "connections to the port, listening sockets excepted",
                          port_labels, info["connections"])
        for (book, host), when in sorted(self.successes.items()):
            f.add(PREFIX + "last_success_timestamp_seconds", "end of the newest run in which the host succeeded "
                  "(Unix time)", {"playbook": book, "host": host}, when)
        yield from (family for family, _names in f.made.values())


def metrics_text(reports: list[RunReport], output: Path | None = None) -> str:
    """The text file's content for `reports` (the newest run of each playbook to export)."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunCollector(reports, last_successes(output, reports)))  # type: ignore[arg-type]
    return generate_latest(registry).decode("utf-8")


def write_metrics(path: Path, reports: list[RunReport], output: Path | None = None) -> Path:
    """Write the file atomically (node_exporter never reads half of it), private by default."""
    write_atomic(Path(path), metrics_text(reports, output))
    return Path(path)


def newest_runs(output: Path, since: datetime | None = None) -> tuple[list[RunReport], int]:
    """The newest readable run of each playbook under `output`, and how many reports were damaged."""
    history = load_history(output, since=since)
    newest: dict[str, str] = {}
    for run in history.runs:  # oldest first: the last one of a playbook wins
        newest[playbook_label(str(run.data.get("playbook") or ""))] = run.name
    reports = []
    for name in newest.values():
        try:
            reports.append(read_report(output / name))
        except ValueError:
            continue  # changed since the index read it; the next export takes it
    return reports, len(history.damaged)


# -- the commands ------------------------------------------------------------------------------

def after_run(args: argparse.Namespace, report: RunReport, output: Path, err: Any = None) -> int | None:
    """Called by `ops run` once its report is written: write --metrics if asked. None when all went
    well, else the exit code (1: the file could not be written; the run itself is over)."""
    path = getattr(args, "metrics", None)
    if path is None or report.check:
        return None
    try:
        write_metrics(path, [report], output)
    except OSError as exc:
        print(inert(f"cannot write the metrics file {path}: {exc.strerror or exc}"), file=err or sys.stderr)
        return 1
    return None


def command(args: argparse.Namespace, run_dir: Path | None, out: Any = None, err: Any = None) -> int:
    """`ops report --metrics PATH`: that run (`run_dir`), or the newest run of each playbook."""
    out, err = out or sys.stdout, err or sys.stderr
    output = Path(args.output)
    since = datetime.now(UTC) - args.since if getattr(args, "since", None) else None
    if run_dir is not None:
        try:
            reports, damaged = [read_report(run_dir)], 0
        except ValueError as exc:
            print(inert(str(exc)), file=err)
            return 2
    else:
        reports, damaged = newest_runs(output, since)
        if not reports:
            print(inert(f"no run with a readable report.json under {output}"), file=err)
            return 2
    try:
        write_metrics(args.metrics, reports, output)
    except OSError as exc:
        print(inert(f"cannot write the metrics file {args.metrics}: {exc.strerror or exc}"), file=err)
        return 1
    print(inert(f"metrics: {args.metrics} ({len(reports)} run(s): "
                + ", ".join(f"{playbook_label(r.playbook)} {r.run_id}" for r in reports) + ")"
                + (f"; {damaged} damaged report(s) skipped" if damaged else "")), file=out)
    return 0
