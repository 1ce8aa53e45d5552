"""The fault matrix: each lab fault fails its host with a clear reason; other hosts finish; nothing is
left half-written under a final name; the manifest lists exactly what arrived whole."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ops.inventory import load_inventory
from ops.playbook import load_playbook
from ops.report import RunReport
from ops.runner import RunOptions, run_playbook
from tests.helpers import REPO, run

PULL = REPO / "playbooks" / "pull-desktop-logs.yaml"


def lab_inventory(path: Path, hosts: dict[str, str], receiver: str = "") -> Path:
    """An inventory of lab hosts; each value is the host's `lab:` options in flow YAML."""
    lines = ["defaults: {username: admin, retries: 1}", "groups:", f"  finesse: {{hosts: [{', '.join(hosts)}]}}",
             "hosts:"]
    lines += [f"  {name}: {{lab: {options}}}" for name, options in hosts.items()]
    path.write_text("\n".join(lines) + "\n" + receiver)
    return path


def run_pull(tmp_path: Path, hosts: dict[str, str], timeout: float = 3.0, receiver: str = "") -> RunReport:
    inventory = load_inventory(lab_inventory(tmp_path / "inventory.yaml", hosts, receiver))
    book = load_playbook(PULL, inventory)
    options = RunOptions(output=tmp_path / "out", command_timeout=timeout, retry_backoff=0.1)
    return run(run_playbook(book, inventory, options))


def check_run_dir(tmp_path: Path, report: RunReport) -> None:
    """Every file under a final name is whole and in the manifest; no temporary file is left."""
    run_dir = tmp_path / "out" / report.run_id
    assert not list(run_dir.rglob("*.part-*")), "a temporary upload file was left behind"
    for host, record in report.hosts.items():
        files_dir = run_dir / host / "files"
        on_disk = {p.relative_to(files_dir).as_posix() for p in files_dir.rglob("*") if p.is_file()} \
            if files_dir.exists() else set()
        listed = {e["path"]: e for e in record.files}
        assert on_disk == set(listed), f"{host}: files on disk and manifest differ"
        for path, entry in listed.items():
            assert hashlib.sha256((files_dir / path).read_bytes()).hexdigest() == entry["sha256"]


FAULTS = {
    "refused": "Connect call failed",
    "auth_failure": "authentication failed",
    "no_prompt": "waiting for the first 'admin:' prompt",
    "hang_dialog": "SFTP server IP",
    "disconnect_dialog": "closed the session",
    "sftp_disconnect": "File transfer failed",
    "short_transfer": "missing: ",
    "short_bytes": "incomplete transfer",
    "command_fails": "unable to gather files",
    "host_key_changed": "HOST KEY CHANGED",
    "clock_skew": "clock is +10",
    "busy_answer": "answer was not understood",
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_fails_its_host_clearly_and_others_finish(tmp_path: Path, fault: str) -> None:
    report = run_pull(tmp_path, {"healthy": "true", "faulty": f"{{faults: [{fault}]}}"}, timeout=2.0)
    assert report.hosts["healthy"].status == "ok", report.hosts["healthy"].error
    assert report.hosts["healthy"].files
    faulty = report.hosts["faulty"]
    assert faulty.status == "failed"
    assert faulty.error and "faulty" in faulty.error and FAULTS[fault] in faulty.error, faulty.error
    check_run_dir(tmp_path, report)
    if fault == "refused":  # transient: retried (retries: 1 in these inventories) before giving up
        assert "attempt 2 of 2" in (tmp_path / "out" / report.run_id / "faulty" / "transcript.log").read_text()
    saved = json.loads((tmp_path / "out" / report.run_id / "report.json").read_text())
    assert saved["hosts"]["faulty"]["status"] == "failed"


def test_short_and_broken_transfers_name_what_is_missing(tmp_path: Path) -> None:
    report = run_pull(tmp_path, {"a": "{faults: [short_transfer]}", "b": "{faults: [sftp_disconnect]}"})
    for host in ("a", "b"):
        step = report.hosts[host].steps[0]
        data = step.data
        assert data["announced_files"] == data["files_received"] + 1
        assert len(data["missing"]) == 1, data.get("missing")
        assert data["missing"][0] not in {Path(f["path"]).name for f in data["files"]}
    check_run_dir(tmp_path, report)


def test_receiver_quota_exceeded_fails_the_host_without_partial_files(tmp_path: Path) -> None:
    report = run_pull(tmp_path, {"node": "true"}, receiver="receiver: {max_bytes_per_host: 100000}\n")
    record = report.hosts["node"]
    assert record.status == "failed"
    assert "quota" in (record.error or "").lower() or "incomplete" in (record.error or ""), record.error
    check_run_dir(tmp_path, report)


@pytest.mark.once
@pytest.mark.long
def test_twenty_hosts_three_faulty_take_about_one_timeout(tmp_path: Path) -> None:
    hosts = {f"fin-{i:02d}": "true" for i in range(17)}
    hosts |= {"unreachable": "{faults: [refused]}", "hangs": "{faults: [hang_dialog]}",
              "badcreds": "{faults: [auth_failure]}"}
    timeout = 5.0  # generous: 20 labs and their sessions share two cores with the rest of the suite
    started = time.monotonic()
    report = run_pull(tmp_path, hosts, timeout=timeout)
    elapsed = time.monotonic() - started
    ok = [h for h, r in report.hosts.items() if r.status == "ok"]
    assert len(ok) == 17
    for host in ok:
        assert report.hosts[host].files and report.hosts[host].steps[0].data["files_received"] > 0
    assert "Connect call failed" in (report.hosts["unreachable"].error or "")
    assert "timed out" in (report.hosts["hangs"].error or "")
    assert "authentication failed" in (report.hosts["badcreds"].error or "")
    # The hang costs one timeout (its overhead beyond it is what any host's session costs on this
    # machine now), and the hosts overlap instead of adding up. Bounds relative to the run's own
    # hosts, not to the clock: a loaded 2-core machine slows every host alike.
    slowest_ok = max(report.hosts[h].duration_s for h in ok)
    assert timeout <= report.hosts["hangs"].duration_s < timeout + 1.5 * slowest_ok + 1.0
    starts = [datetime.fromisoformat(r.started).timestamp() for r in report.hosts.values()]
    ends = [t + r.duration_s for t, r in zip(starts, report.hosts.values(), strict=True)]
    durations = sum(r.duration_s for r in report.hosts.values())
    assert max(ends) - min(starts) < 0.5 * durations, "hosts ran one after another"
    # The overlap above is the property; wall time also counts starting 20 labs on a shared machine.
    assert elapsed < 120, f"run took {elapsed:.1f}s"
    check_run_dir(tmp_path, report)


def test_a_long_silent_transfer_is_not_a_stall_while_bytes_arrive(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """An appliance may print no dot while one big file crawls over a slow link for longer than the
    step's timeout: as long as the receiver sees its bytes arrive, the pull goes on. A pause with
    no bytes (here after the file) still fails after the timeout, naming what it waited for."""
    from ops.lab.server import LabAppliance, LabConfig
    from tests.helpers import LAB_PASSWORD, write_inventory

    monkeypatch.setenv("OPS_TEST_PW", LAB_PASSWORD)
    root = tmp_path / "activelog"
    big = root / "desktop/logs/webservices/Desktop-webservices.big.log"
    big.parent.mkdir(parents=True)
    big.write_bytes(b"2026-11-29 10:00:00,000 INFO a long line of desktop activity\n" * 5000)  # 300 KB
    book = tmp_path / "big.yaml"
    book.write_text("name: big\nhosts: finesse\nsteps:\n  - name: pull\n"
                    "    activelog: {path: desktop/logs/webservices/Desktop-webservices.big.log}\n")

    async def pull(name: str, **slow: Any) -> RunReport:
        async with LabAppliance(LabConfig(password=LAB_PASSWORD, log_root=root, **slow)) as lab:
            inventory = load_inventory(write_inventory(tmp_path / f"{name}.yaml", {name: lab}))
            options = RunOptions(output=tmp_path / "out", command_timeout=0.5)
            return await run_playbook(load_playbook(book, inventory), inventory, options)

    slow = run(pull("slow", transfer_rate=200_000)).hosts["slow"]  # 1.5 s for the file, no dot meanwhile
    assert slow.status == "ok", slow.error
    assert [f["size"] for f in slow.files] == [big.stat().st_size]
    stalled = run(pull("stalled", transfer_delay=1.5)).hosts["stalled"]
    assert stalled.status == "failed" and "timed out after 0.5s waiting for" in (stalled.error or ""), stalled.error


def test_a_file_cut_short_fails_the_pull_though_every_file_arrived(tmp_path: Path) -> None:
    """The byte count is checked, not only the file count: the last file arrives with half its bytes."""
    report = run_pull(tmp_path, {"a": "{faults: [short_bytes]}"})
    data = report.hosts["a"].steps[0].data
    assert report.hosts["a"].status == "failed"
    assert data["files_received"] == data["announced_files"]
    assert data["bytes_received"] < data["announced_bytes"]
    assert "incomplete transfer" in (report.hosts["a"].error or "")


def test_an_authentication_failure_is_never_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Retrying refused credentials would only lock the admin account sooner: one connection, however
    many `retries` the inventory allows."""
    from ops.inventory import load_inventory
    from ops.lab.server import LabAppliance, LabConfig
    from ops.playbook import load_playbook
    from ops.runner import RunOptions, run_playbook
    from tests.helpers import LAB_PASSWORD, REPO, write_inventory

    monkeypatch.setenv("OPS_TEST_PW", LAB_PASSWORD)

    async def go() -> tuple[RunReport, int]:
        async with LabAppliance(LabConfig(password=LAB_PASSWORD, faults=("auth_failure",))) as lab:
            path = write_inventory(tmp_path / "inventory.yaml", {"node1": lab})
            path.write_text(path.read_text().replace("defaults:\n", "defaults:\n  retries: 3\n"))
            inventory = load_inventory(path)
            assert inventory.hosts["node1"].retries == 3
            book = load_playbook(REPO / "playbooks" / "clear-webproxy-cache.yaml", inventory)
            report = await run_playbook(book, inventory, RunOptions(output=tmp_path / "out", command_timeout=10,
                                                                    retry_backoff=0.01))
            return report, lab.connections_made

    report, connections = run(go())
    assert report.hosts["node1"].status == "failed"
    assert "authentication failed" in (report.hosts["node1"].error or "")
    assert connections == 1
