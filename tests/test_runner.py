"""Runner behaviour: step failures vs host failures, lab options from the inventory, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ops.inventory import load_inventory
from ops.playbook import load_playbook
from ops.runner import RunOptions, run_playbook
from tests.helpers import REPO, run


def _inventory(tmp_path: Path, lab: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(f"groups: {{finesse: {{hosts: [node]}}}}\nhosts:\n  node: {{lab: {lab}}}\n")
    return path


def test_failed_command_with_ignore_errors_lets_the_host_go_on(tmp_path: Path) -> None:
    book = tmp_path / "book.yaml"
    book.write_text("""name: t
hosts: finesse
steps:
  - name: bogus
    cli: {command: show nonsense here}
    ignore_errors: true
    register: bogus
  - name: version
    when: bogus.failed
    cli: {command: show version active}
    register: version
""")
    inventory = load_inventory(_inventory(tmp_path, "true"))
    report = run(run_playbook(load_playbook(book, inventory), inventory, RunOptions(output=tmp_path / "out")))
    record = report.hosts["node"]
    assert [s.status for s in record.steps] == ["ignored", "ok"]
    assert "Executed command unsuccessfully" in record.steps[0].message
    assert "Active Master Version" in record.steps[1].data["output"]
    assert record.status == "ok"


def test_lab_options_from_the_inventory_reach_the_appliance(tmp_path: Path) -> None:
    inventory = load_inventory(_inventory(tmp_path, "{desktop_clients: 7, xmpp_clients: 3, seed: 5}"))
    book = load_playbook(REPO / "playbooks" / "client-connections.yaml", inventory)
    report = run(run_playbook(book, inventory, RunOptions(output=tmp_path / "out")))
    record = report.hosts["node"]
    assert record.status == "ok", record.error
    summaries = [s.data["summary"] for s in record.steps if "summary" in s.data]
    assert any(s["ports"].get("8445", {}).get("remote_clients") == 7 for s in summaries), summaries


def test_ctrl_c_stops_cleanly_and_still_writes_the_report(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("groups: {finesse: {hosts: [slow, fast]}}\nhosts:\n"
                         "  slow: {lab: {transfer_delay: 0.5}}\n  fast: {lab: true}\n")
    # The child gets SIGINT's default action whatever the parent has (nohup and background jobs
    # run with SIGINT ignored, which the child would inherit).
    proc = subprocess.Popen([sys.executable, "-m", "ops.cli", "run", str(REPO / "playbooks" / "pull-desktop-logs.yaml"),
                             "-i", str(inventory), "-o", str(tmp_path / "out"), "-v"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    seen = ""
    # Interrupt once the fast host is done and the slow one is in its transfer (an event, not a sleep).
    while not ("fast | finished" in seen and "slow | [" in seen) and time.monotonic() < deadline:
        seen += proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, seen + out + err
    (run_dir,) = [p for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")]
    report = json.loads((run_dir / "report.json").read_text())
    assert report["interrupted"] is True
    assert report["hosts"]["fast"]["status"] == "ok"
    assert report["hosts"]["slow"]["status"] == "failed"
    assert "interrupted" in report["hosts"]["slow"]["error"]
    assert not list(run_dir.rglob("*.part-*"))


def test_rest_secrets_are_resolved_before_any_host_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_TEST_PW", "x-unused-x")
    monkeypatch.delenv("NO_SUCH_REST_PW", raising=False)
    inventory_path = tmp_path / "inventory.yaml"
    inventory_path.write_text("defaults: {password: env:OPS_TEST_PW, rest: {password: env:NO_SUCH_REST_PW}}\n"
                              "groups: {finesse: {hosts: [node]}}\nhosts: {node: {address: 127.0.0.1, port: 9}}\n")
    book = tmp_path / "book.yaml"
    book.write_text("name: t\nhosts: finesse\nsteps:\n  - name: info\n    finesse_system_info: {}\n")
    inventory = load_inventory(inventory_path)
    report = run(run_playbook(load_playbook(book, inventory), inventory, RunOptions(output=tmp_path / "out")))
    record = report.hosts["node"]
    assert record.status == "failed" and record.steps == []
    assert "rest.password" in (record.error or "") and "NO_SUCH_REST_PW" in (record.error or "")


def test_an_unexpected_error_in_a_step_fails_only_its_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    """A defect (here a step raising what no step should) fails its host with the error named; the
    other hosts finish and report.json is written, instead of the exception ending the whole run."""
    from ops.actions.cli import CliAction

    original = CliAction.run

    async def flaky(self: CliAction, ctx: Any, args: Any) -> Any:
        if ctx.host.name == "bad":
            raise KeyError("an internal table has no such entry")
        return await original(self, ctx, args)
    monkeypatch.setattr(CliAction, "run", flaky)
    book = tmp_path / "book.yaml"
    book.write_text("name: t\nhosts: finesse\nsteps:\n  - name: version\n    cli: {command: show version active}\n"
                    "  - name: again\n    cli: {command: show version active}\n")
    (tmp_path / "inventory.yaml").write_text("groups: {finesse: {hosts: [good, bad]}}\n"
                                             "hosts:\n  good: {lab: true}\n  bad: {lab: true}\n")
    inventory = load_inventory(tmp_path / "inventory.yaml")
    report = run(run_playbook(load_playbook(book, inventory), inventory, RunOptions(output=tmp_path / "out")))
    assert report.hosts["good"].status == "ok" and [s.status for s in report.hosts["good"].steps] == ["ok", "ok"]
    bad = report.hosts["bad"]
    assert bad.status == "failed" and [s.status for s in bad.steps] == ["failed"]
    assert "unexpected error (KeyError)" in (bad.error or "") and "no such entry" in (bad.error or "")
    saved = json.loads((tmp_path / "out" / report.run_id / "report.json").read_text())
    assert saved["hosts"]["bad"]["status"] == "failed" and saved["hosts"]["good"]["status"] == "ok"
    assert any("unexpected error (KeyError)" in r.getMessage() for r in caplog.records)


def test_manifests_are_written_off_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each host's manifest.json is written (and fsync'ed) by a worker thread: on a busy or network
    disk that takes milliseconds, which every other host's session would otherwise wait for."""
    import threading

    from ops.receiver import manifest as receiver_module

    threads: list[bool] = []
    write = receiver_module.write_atomic

    def spy(path: Path, *args: Any, **kwargs: Any) -> None:
        threads.append(threading.current_thread() is threading.main_thread())
        write(path, *args, **kwargs)
    monkeypatch.setattr(receiver_module, "write_atomic", spy)
    inventory = load_inventory(REPO / "inventory.yaml")
    report = run(run_playbook(load_playbook(REPO / "playbooks" / "pull-desktop-logs.yaml", inventory), inventory,
                              RunOptions(output=tmp_path / "out")))
    assert all(r.status == "ok" and r.files for r in report.hosts.values())
    assert threads == [False] * len(report.hosts)
