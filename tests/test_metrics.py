"""`--metrics PATH` (issue 19, part 3): a Prometheus text file for node_exporter's textfile collector,
parsed back with prometheus_client's own parser: step status and duration per host, files and
bytes, the last success per playbook and host (from earlier runs too), Finesse metrics and
clients per port; written atomically and private."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ops.metrics import after_run, command, metrics_text, write_metrics
from ops.report import RunReport, read_report
from ops.reportflags import add_report_arguments, add_run_arguments
from tests.test_bundle import lab_run
from tests.test_history import make_run

BOOK = """\
name: Health and logs
hosts: finesse
steps:
  - name: Performance
    finesse_performance: {}
  - name: Clients
    network_status: {process: true}
  - name: Logs
    activelog: {path: desktop/logs/*, recurs: true, reltime: {days: 1}}
"""


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the file, parsed by prometheus_client: (name, labels) -> value."""
    found = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge", family.name
        for sample in family.samples:
            assert sample.timestamp is None  # the textfile collector refuses timestamps
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in found, key
            found[key] = sample.value
    return found


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lab_run(tmp_path_factory.mktemp("metrics"), BOOK)


def test_a_real_run_as_metrics_parsed_by_prometheus_client(lab: Path, tmp_path: Path) -> None:
    report = read_report(lab)
    path = write_metrics(tmp_path / "textfile" / "finesse-ops.prom", [report], lab.parent)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert not [p for p in path.parent.iterdir() if p != path]  # no temporary file left beside it
    found = samples(path.read_text())
    book = "book"  # lab_run writes the playbook as book.yaml
    started = datetime.fromisoformat(report.started).timestamp()
    assert value(found, "finesse_ops_run_timestamp_seconds", playbook=book) == pytest.approx(started)
    for host, record in report.hosts.items():
        h = {"playbook": book, "host": host}
        assert value(found, "finesse_ops_host_ok", **h) == 1
        assert value(found, "finesse_ops_received_files", **h) == len(record.files) > 0
        assert value(found, "finesse_ops_received_bytes", **h) == record.total_bytes
        for step in record.steps:
            s = {**h, "step": step.name, "action": step.action}
            assert value(found, "finesse_ops_step_status", **s, status=step.status) == 1
            assert value(found, "finesse_ops_step_failed", **s) == 0
            assert value(found, "finesse_ops_step_duration_seconds", **s) == pytest.approx(step.duration_s)
        perf = next(s for s in record.steps if s.action == "finesse_performance").data["metrics"]
        assert value(found, "finesse_heap_used_bytes", **h) == perf["heap_used_bytes"]
        assert value(found, "finesse_threads", **h) == perf["threads"]
        assert value(found, "finesse_request_avg_seconds", **h) == pytest.approx(perf["request_avg_ms"] / 1000)
        assert value(found, "finesse_load_average", **h) == pytest.approx(perf["load_average"])
        ports = next(s for s in record.steps if s.action == "network_status").data["summary"]["ports"]
        assert ports
        for port, info in ports.items():
            assert value(found, "finesse_remote_clients", **h, port=port) == info["remote_clients"]
            assert value(found, "finesse_connections", **h, port=port) == info["connections"]
        end = datetime.fromisoformat(record.started).timestamp() + record.duration_s
        assert value(found, "finesse_ops_last_success_timestamp_seconds", **h) == pytest.approx(end)


def test_last_success_comes_from_earlier_runs(tmp_path: Path) -> None:
    output = tmp_path / "collected"
    for i in range(5):
        make_run(output, i, failed={"fin-b"} if i >= 2 else set())
    newest = read_report(sorted(output.glob("*/report.json"))[-1].parent)
    assert newest.hosts["fin-b"].status == "failed"
    found = samples(metrics_text([newest], output))
    first = datetime(2026, 11, 1, tzinfo=UTC)
    # fin-b last succeeded in run 1 (started 01:00, 2 s), fin-a in the newest (run 4).
    assert value(found, "finesse_ops_last_success_timestamp_seconds", playbook="health-check", host="fin-b") == \
        (first + timedelta(hours=1, seconds=2)).timestamp()
    assert value(found, "finesse_ops_last_success_timestamp_seconds", playbook="health-check", host="fin-a") == \
        (first + timedelta(hours=4, seconds=2)).timestamp()
    assert value(found, "finesse_ops_host_ok", playbook="health-check", host="fin-b") == 0
    assert value(found, "finesse_ops_step_failed", playbook="health-check", host="fin-b", step="Logs",
                 action="activelog") == 1
    # Runs of another playbook never count for this one.
    make_run(output, 9, playbook="/x/other.yaml")
    again = samples(metrics_text([newest], output))
    assert not [k for k in again if dict(k[1]).get("playbook") == "other"]


def test_label_values_from_outside_round_trip(tmp_path: Path) -> None:
    odd = 'fin "a"\\b\nc'
    output = tmp_path / "collected"
    run = make_run(output, 0, hosts=(odd,))
    found = samples(metrics_text([read_report(run)]))
    assert value(found, "finesse_ops_host_ok", playbook="health-check", host=odd) == 1


def _parser() -> argparse.ArgumentParser:
    """`ops report`'s parser once the history and metrics flags are added to it (ops/cli.py)."""
    parser = argparse.ArgumentParser(prog="ops report")
    parser.add_argument("run_id", nargs="?")
    parser.add_argument("--output", type=Path, default=Path("collected"))
    add_report_arguments(parser)
    return parser


def test_ops_report_metrics_exports_the_newest_run_of_each_playbook(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "collected"
    for i in range(3):
        make_run(output, i)
    make_run(output, 7, playbook="/srv/pull-desktop-logs.yaml", name="Pull", hosts=("fin-c",))
    (output / "zzz-damaged").mkdir()
    (output / "zzz-damaged" / "report.json").write_text("{")
    prom = tmp_path / "all.prom"
    assert command(_parser().parse_args(["--output", str(output), "--metrics", str(prom)]), None) == 0
    assert "2 run(s)" in capsys.readouterr().out
    found = samples(prom.read_text())
    runs = {dict(k[1])["playbook"]: v for k, v in found.items() if k[0] == "finesse_ops_run_timestamp_seconds"}
    assert runs == {"health-check": (datetime(2026, 11, 1, 2, tzinfo=UTC)).timestamp(),
                    "pull-desktop-logs": (datetime(2026, 11, 1, 7, tzinfo=UTC)).timestamp()}
    # One run by its directory.
    one = sorted(p for p in output.iterdir() if not p.name.startswith("."))[0]
    assert command(_parser().parse_args(["--output", str(output), "--metrics", str(prom)]), one) == 0
    assert {dict(k[1])["playbook"] for k in samples(prom.read_text())} == {"health-check"}
    empty = tmp_path / "empty"
    empty.mkdir()
    assert command(_parser().parse_args(["--output", str(empty), "--metrics", str(prom)]), None) == 2


def test_ops_run_writes_the_file_after_the_run(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    output = tmp_path / "collected"
    report: RunReport = read_report(make_run(output, 0))
    assert after_run(parser.parse_args([]), report, output) is None
    path = tmp_path / "run.prom"
    assert after_run(parser.parse_args(["--metrics", str(path)]), report, output) is None
    assert value(samples(path.read_text()), "finesse_ops_host_ok", playbook="health-check", host="fin-a") == 1
    report.check = True
    path.unlink()
    assert after_run(parser.parse_args(["--metrics", str(path)]), report, output) is None and not path.exists()
    report.check = False
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    assert after_run(parser.parse_args(["--metrics", str(blocked / "m.prom")]), report, output) == 1
