"""`ops report --history` (issue 19, part 2): one page over many runs, from their run directories;
damaged reports skipped and counted; an index so a page over 1,000 runs reads only what changed;
rendered by headless Chromium and its screenshot read back (the marks of the run strips)."""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ops.history import (
    FAILED_COLOUR,
    INDEX,
    OK_COLOUR,
    command,
    load_history,
    render_history,
)
from ops.report import HostRecord, RunReport, StepRecord
from ops.reportflags import add_report_arguments, parse_since
from tests.test_report_page import browser, colour_runs, png_rows  # noqa: F401  (browser is a fixture)

T0 = datetime(2026, 11, 1, tzinfo=UTC)
BOOK = "/srv/ops/playbooks/health-check.yaml"


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def make_run(output: Path, i: int, *, hosts: tuple[str, ...] = ("fin-a", "fin-b"),
             failed: set[str] | frozenset[str] = frozenset(),
             playbook: str = BOOK, name: str = "Health check", every: timedelta = timedelta(hours=1),
             when: datetime | None = None) -> Path:
    """A small run directory: per host a network_status and a performance step and some files."""
    started = when or T0 + i * every
    run_id = started.strftime("%Y%m%dT%H%M%SZ") + f"-{i:04x}"
    report = RunReport(run_id=run_id, playbook=playbook, playbook_name=name, started=started.isoformat(),
                       finished=(started + timedelta(seconds=5)).isoformat(), duration_s=5.0)
    for h, host in enumerate(hosts):
        bad = host in failed
        steps = [StepRecord("Clients", "network_status", "ok", data={"summary": {"connections": 30, "ports": {
                     "8445": {"connections": 20, "remote_clients": 10 + i % 7 + h, "clients": []},
                     "7443": {"connections": 10, "remote_clients": 5 + i % 3, "clients": []}}}}),
                 StepRecord("Performance", "finesse_performance", "ok", data={"metrics": {
                     "heap_used_bytes": 100_000_000 + 1_000_000 * (i % 24), "threads": 180 + i % 10,
                     "load_average": 1.5, "agents_logged_in": 3 + i % 4}})]
        if bad:
            steps.append(StepRecord("Logs", "activelog", "failed", f"pull {i} failed on {host}"))
        report.hosts[host] = HostRecord(
            status="failed" if bad else "ok", error=f"step 'Logs': pull {i} failed on {host}" if bad else None,
            duration_s=2.0, started=started.isoformat(), steps=steps,
            files=[] if bad else [{"path": f"logs/{k}.log", "size": 1000 * (1 + i % 5), "sha256": "0" * 64}
                                  for k in range(3)])
    run_dir = output / run_id
    run_dir.mkdir(parents=True)
    (run_dir / "report.json").write_text(report.to_json())  # what write_report writes, without its fsync
    return run_dir


def test_the_page_in_chromium_shows_each_run_as_a_mark(tmp_path: Path, browser: Callable[..., str]) -> None:  # noqa: F811
    output = tmp_path / "collected"
    fails = {3, 7, 12}
    for i in range(30):
        make_run(output, i, failed={"fin-b"} if i in fails else set())
    history = load_history(output)
    assert len(history.runs) == 30 and not history.damaged
    page = tmp_path / "history.html"
    page.write_text(render_history(history, local=ZoneInfo("Europe/Berlin")))
    shot = tmp_path / "history.png"
    dom = browser(page, shot, size=(1280, 700))  # the lines of runs are at the top
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))
    assert "History: Health check" in text and "30 runs from 2026-11-01 00:00:00 UTC" in text
    assert "fin-b 3 30 10%" in text and "pull 12 failed on fin-b" in text  # the hosts that fail most
    # The last run (29) on fin-b: 10 + 29 % 7 + 1 clients on 8445, a heap of 100e6 + 5e6 bytes.
    assert "port 8445: 12 (last)" in text and "Heap used: 100.1 MiB (last)" in text
    assert "Bytes per pull" in text and "Files per pull" in text
    assert "(01:00 CET)" in text  # local time beside UTC on the axis
    # The screenshot: the line of runs of each host, one mark per run, read back by colour.
    _, _, rows = png_rows(shot)
    failed = [b for b in colour_runs(rows, _rgb(FAILED_COLOUR)) if b[2] >= 5]
    ok = [b for b in colour_runs(rows, _rgb(OK_COLOUR)) if b[2] >= 5]
    assert len(failed) == 3 and len(ok) == 30 + 27, (len(failed), len(ok))
    # Failed marks sit in fin-b's strip, in time order at the 4th, 8th and 13th slot of the strip.
    xs = sorted(x for y, x, _ in ok + failed if abs(y - failed[0][0]) < 3)
    assert [xs.index(x) for _, x, _ in sorted(failed, key=lambda b: b[1])] == [3, 7, 12]


def test_damaged_reports_are_skipped_counted_and_never_crash_the_page(tmp_path: Path) -> None:
    output = tmp_path / "collected"
    for i in range(5):
        make_run(output, i)
    bad = {"aaa-garbage": "{not json", "aab-list": "[1, 2]", "aac-types": json.dumps(
        {"schema_version": 1, "run_id": "x", "hosts": {"h": {"steps": "many"}}}),
        "aad-schema": json.dumps({"schema_version": 99, "run_id": "x", "hosts": {}}),
        "aae-started": json.dumps({"schema_version": 1, "run_id": "x", "started": "yesterday", "hosts": {}})}
    for name, text in bad.items():
        (output / name).mkdir()
        (output / name / "report.json").write_text(text)
    (output / "not-a-run").mkdir()
    # Hand-edited values inside a readable report: strange sizes, metrics and ports.
    odd = make_run(output, 9)
    data = json.loads((odd / "report.json").read_text())
    host = data["hosts"]["fin-a"]
    host["files"] = [{"path": "x", "size": "big"}, {"path": "y", "size": -5}, {"path": "z"}]
    host["steps"][0]["data"]["summary"]["ports"] = {"8445": "lots", "7443": {"remote_clients": "x"}}
    host["steps"][1]["data"]["metrics"] = {"heap_used_bytes": "huge", "threads": None, "load_average": 1e308}
    (odd / "report.json").write_text(json.dumps(data))
    history = load_history(output)
    assert len(history.runs) == 6 and [n for n, _ in history.damaged] == sorted(bad)
    assert "schema_version 99" in dict(history.damaged)["aad-schema"]
    page = render_history(history)
    assert "5 run report(s) could not be read and were skipped" in page and "aaa-garbage" in page
    # The same again from the index: damaged ones stay counted without being read.
    again = load_history(output)
    assert again.read == 0 and len(again.damaged) == 5


def test_the_index_reads_only_what_is_new_or_changed(tmp_path: Path) -> None:
    output = tmp_path / "collected"
    runs = [make_run(output, i) for i in range(20)]
    assert load_history(output).read == 20 and (output / INDEX).is_file()
    assert oct((output / INDEX).stat().st_mode & 0o777) == "0o600"
    assert load_history(output).read == 0
    make_run(output, 20)
    report = runs[4] / "report.json"
    data = json.loads(report.read_text())
    data["hosts"]["fin-a"]["status"] = "failed"
    report.write_text(json.dumps(data))
    os.utime(report, ns=(time.time_ns(), time.time_ns() + 10**9))
    history = load_history(output)
    assert history.read == 2 and len(history.runs) == 21
    assert history.runs[4].hosts["fin-a"]["status"] == "failed"
    # A removed run leaves the index; a damaged index is rebuilt.
    import shutil

    shutil.rmtree(runs[0])
    assert len(load_history(output).runs) == 20
    (output / INDEX).write_text("{broken")
    assert load_history(output).read == 20


def test_playbook_and_since_select_the_runs(tmp_path: Path) -> None:
    output = tmp_path / "collected"
    now = datetime.now(UTC)
    for i in range(6):
        make_run(output, i, when=now - timedelta(days=40 - i * 7))  # 40, 33, 26, 19, 12, 5 days ago
    make_run(output, 50, playbook="/srv/ops/playbooks/pull-desktop-logs.yaml", name="Pull desktop logs",
             when=now - timedelta(days=1))
    assert len(load_history(output).runs) == 7
    for which in ("health-check.yaml", BOOK, "Health check", "health-check"):
        assert len(load_history(output, which).runs) == 6, which
    assert len(load_history(output, "pull-desktop-logs.yaml").runs) == 1
    recent = load_history(output, "health-check.yaml", now - parse_since("30d"))
    assert len(recent.runs) == 4
    assert parse_since("12h") == timedelta(hours=12) and parse_since("2w") == timedelta(days=14)
    for bad in ("soon", "0d", "-3d", "5y"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_since(bad)


def _parser() -> argparse.ArgumentParser:
    """What ops/cli.py's `report` parser holds once the history flags are added to it."""
    parser = argparse.ArgumentParser(prog="ops report")
    parser.add_argument("run_id", nargs="?")
    parser.add_argument("--output", type=Path, default=Path("collected"))
    parser.add_argument("--html", nargs="?", const="", default=None)
    add_report_arguments(parser)
    return parser


def test_the_command_writes_the_page_or_says_why_not(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "collected"
    now = datetime.now(UTC)
    for i in range(3):
        make_run(output, i, when=now - timedelta(hours=i))
    args = _parser().parse_args(["--history", "--output", str(output), "--since", "1d"])
    assert command(args) == 0
    out = capsys.readouterr().out
    assert f"HTML history: {output / 'history.html'}" in out and "3 runs, 2 hosts" in out
    page = (output / "history.html").read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page
    args = _parser().parse_args(["--history", "nothing.yaml", "--output", str(output), "--html",
                                 str(tmp_path / "h.html")])
    assert command(args) == 2 and "no run of nothing.yaml" in capsys.readouterr().err
    assert command(_parser().parse_args(["--history", "--output", str(tmp_path / "nope")])) == 2
    with pytest.raises(SystemExit):
        _parser().parse_args(["--history", "--since", "forever"])


def test_names_from_reports_are_data_on_the_page(tmp_path: Path) -> None:
    output = tmp_path / "collected"
    evil = '<script>alert(1)</script>'
    run = make_run(output, 0, hosts=(f"fin-{evil}",), failed={f"fin-{evil}"}, name=f"Book {evil}")
    assert run.is_dir()
    page = render_history(load_history(output))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.once
def test_fast_over_1000_runs(tmp_path: Path) -> None:
    """The page over 1,000 runs costs a small multiple of merely reading and parsing their reports
    (a ratio, not a time: this machine's speed swings); with the index, less than that."""
    output = tmp_path / "collected"
    for i in range(1000):
        make_run(output, i, failed={"fin-b"} if i % 17 == 0 else set())
    reports = sorted(output.glob("*/report.json"))

    def floor() -> float:
        start = time.perf_counter()
        for path in reports:
            json.loads(path.read_text())
        return time.perf_counter() - start

    def cold() -> tuple[float, int]:
        (output / INDEX).unlink(missing_ok=True)
        start = time.perf_counter()
        page = render_history(load_history(output))
        return time.perf_counter() - start, len(page)

    def warm() -> float:
        start = time.perf_counter()
        history = load_history(output)
        render_history(history)
        assert history.read == 0
        return time.perf_counter() - start

    base = min(floor() for _ in range(3))
    first, size = min(cold() for _ in range(2))
    again = min(warm() for _ in range(3))
    assert first <= 40 * base, (first, base)
    assert again <= 1.5 * first, (again, first)
    assert size < 1_500_000  # marks and lines are per pixel column, not per run


def test_the_index_spares_reading_big_reports_again(tmp_path: Path) -> None:
    """Real reports hold each step's appliance text (network_status output, ...): the index keeps the
    few numbers the page needs, so a page after the first reads none of that again."""
    output = tmp_path / "collected"
    for i in range(60):
        run = make_run(output, i)
        data = json.loads((run / "report.json").read_text())
        data["hosts"]["fin-a"]["steps"][0]["data"]["output"] = "tcp 0 0 10.1.1.10:8445 ESTABLISHED\n" * 8000
        (run / "report.json").write_text(json.dumps(data))

    def timed() -> float:
        start = time.perf_counter()
        render_history(load_history(output))
        return time.perf_counter() - start

    first = timed()
    again = min(timed() for _ in range(3))
    assert load_history(output).read == 0
    assert again * 3 <= first, (again, first)
