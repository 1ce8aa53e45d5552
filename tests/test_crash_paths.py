"""Crash paths leave a true, resumable report (issue 14, class 8): kill -9 mid-run, hand-edited reports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ops.cli import main
from ops.report import read_report
from tests.helpers import REPO

INVENTORY = """\
defaults: {username: admin, host_key: strict}
receiver: {listen: 127.0.0.1, advertise: 127.0.0.1, port: 0}
groups:
  finesse: {hosts: [finesse-a, finesse-b]}
hosts:
  finesse-a:
    lab: true
  finesse-b:
    lab: {faults: [hang_dialog]}
"""


@pytest.mark.timeout(120)
def test_a_run_killed_with_sigkill_is_reported_and_resumable(tmp_path: Path) -> None:
    (tmp_path / "inventory.yaml").write_text(INVENTORY)
    out = tmp_path / "out"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "ops.cli", "run", str(REPO / "playbooks" / "pull-desktop-logs.yaml"),
                             "-i", str(tmp_path / "inventory.yaml"), "-o", str(out), "--timeout", "60", "-q"],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            # what the killed process cannot clean up stays under tmp_path
                            env={**os.environ, "TMPDIR": str(scratch)})
    try:
        deadline = time.monotonic() + 60
        journal: list[Path] = []
        while time.monotonic() < deadline and not journal:
            journal = [p for p in out.glob("*/journal.jsonl") if p.stat().st_size]
            time.sleep(0.1)
        assert journal, "finesse-a never finished"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    run_dir = journal[0].parent
    report = read_report(run_dir)
    assert report.interrupted
    assert report.hosts["finesse-a"].status == "ok" and report.hosts["finesse-a"].files
    assert report.hosts["finesse-b"].status == "failed"  # never finished: never reported ok
    assert (run_dir / "finesse-a" / "manifest.json").is_file()
    assert main(["report", str(run_dir)]) == 1  # readable, and says a host did not succeed
    # --resume takes the killed run (finesse-b still hangs: give it a short timeout).
    code = main(["run", str(REPO / "playbooks" / "pull-desktop-logs.yaml"), "-i", str(tmp_path / "inventory.yaml"),
                 "-o", str(out), "--resume", run_dir.name, "--timeout", "3", "-q", "--limit", "finesse-a"])
    assert code == 0
    final = read_report(run_dir)
    assert not final.interrupted and final.hosts["finesse-a"].status == "ok"


def _good_report(tmp_path: Path) -> Path:
    run_dir = tmp_path / "r1"
    run_dir.mkdir()
    (run_dir / "report.json").write_text(json.dumps({
        "schema_version": 1, "run_id": "r1", "playbook": "p.yaml", "playbook_name": "p", "started": "2026-12-01",
        "finished": "2026-12-01", "duration_s": 1.0, "check": False, "interrupted": False,
        "hosts": {"a": {"status": "ok", "steps": [{"name": "s", "action": "cli", "status": "ok", "data": {}}],
                        "files": []}}}))
    return run_dir


@pytest.mark.parametrize("edit", [
    lambda d: d.update(hosts=[]),
    lambda d: d.update(hosts={"a": "ok"}),
    lambda d: d["hosts"]["a"].update(steps="none"),
    lambda d: d["hosts"]["a"].update(steps=[1, 2]),
    lambda d: d["hosts"]["a"].update(files=["x"]),
    lambda d: d["hosts"]["a"]["steps"][0].update(data=[1]),
    lambda d: d["hosts"]["a"]["steps"][0].update(duration_s="slow"),
    lambda d: d["hosts"]["a"].update(status=None, error=5),
    lambda d: d.update(duration_s=None, started=7),
    lambda d: d["hosts"]["a"]["steps"][0].pop("name"),
    lambda d: d.update(check="yes"),
], ids=lambda _: "variant")
def test_a_hand_edited_report_never_gives_a_traceback(edit: object, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = _good_report(tmp_path)
    data = json.loads((run_dir / "report.json").read_text())
    edit(data)  # type: ignore[operator]
    (run_dir / "report.json").write_text(json.dumps(data))
    code = main(["report", str(run_dir), "--html", str(tmp_path / "r.html")])
    captured = capsys.readouterr()
    assert code in (0, 1, 2)
    assert "Traceback" not in captured.err
    if code == 2:
        assert "not a run report" in captured.err
