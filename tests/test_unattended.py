"""Unattended runs: incremental pulls, the run lock, retention, log sets, time zones."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

import pytest

from ops.actions.activelog import Abstime, ActivelogArgs
from ops.cli import main
from ops.inventory import load_inventory
from ops.lab.logtree import generate_tree
from ops.lab.server import LabAppliance, LabConfig
from ops.playbook import load_playbook
from ops.report import RunReport
from ops.runner import RunOptions, run_playbook
from ops.state import PullState, RunLock, RunLocked
from tests.helpers import LAB_PASSWORD, run, write_inventory


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "lab" / "activelog"
    generate_tree(root, now=time.time(), seed=3)
    return root


def _book(tmp_path: Path, activelog: str, extra: str = "") -> Path:
    path = tmp_path / "nightly.yaml"
    path.write_text(f"name: nightly\nhosts: finesse\n{extra}steps:\n  - name: pull\n    activelog: {activelog}\n")
    return path


async def _pull(tmp_path: Path, lab: LabAppliance, book: Path) -> RunReport:
    inventory = load_inventory(write_inventory(tmp_path / "inventory.yaml", {"node1": lab}))
    return await run_playbook(load_playbook(book, inventory), inventory, RunOptions(output=tmp_path / "out"))


def _new_log(lab: LabAppliance, name: str) -> None:
    path = lab.log_root / "desktop/logs/webservices" / name
    path.write_text("2026-11-25 10:00:00,000 INFO new activity\n" * 50)


def test_second_pull_brings_only_the_new_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_TEST_PW", LAB_PASSWORD)
    book = _book(tmp_path, "{path: 'desktop/logs/*', recurs: true, reltime: {days: 2}, since: last}")

    async def go() -> tuple[RunReport, RunReport, RunReport]:
        async with LabAppliance(LabConfig(password=LAB_PASSWORD, log_root=_tree(tmp_path))) as lab:
            first = await _pull(tmp_path, lab, book)
            _new_log(lab, "Desktop-webservices.new-1.log")
            _new_log(lab, "Desktop-webservices.new-2.log")
            second = await _pull(tmp_path, lab, book)
            third = await _pull(tmp_path, lab, book)
            return first, second, third

    first, second, third = run(go())
    assert first.hosts["node1"].status == "ok" and len(first.hosts["node1"].steps[0].data["files"]) > 5
    step = second.hosts["node1"].steps[0]
    names = sorted(Path(f["path"]).name for f in step.data["files"])
    assert names == ["Desktop-webservices.new-1.log", "Desktop-webservices.new-2.log"]
    assert step.data["window"].startswith("reltime minutes ")
    # Only the new files are kept on disk; the overlap's copies were dropped by sha256.
    files_dir = tmp_path / "out" / second.run_id / "node1" / "files"
    assert sorted(p.name for p in files_dir.rglob("*") if p.is_file()) == names
    assert [e["path"] for e in second.hosts["node1"].files] == [f["path"] for f in step.data["files"]]
    for report in (second, third):  # a failed pull also ends with no files: say why it failed
        record = report.hosts["node1"]
        assert record.status == "ok", (record.error, [(s.status, s.message) for s in record.steps])
    assert third.hosts["node1"].steps[0].data["files"] == []
    # The state holds what the last window held (kept and dropped copies alike), not every file
    # ever pulled: it is rewritten after each host and must not grow with each run.
    held = PullState(tmp_path / "out", book).get("node1", "pull")
    last = third.hosts["node1"].steps[0].data
    assert held is not None and len(held.files) == last["files_unchanged"] > 0
    assert {"desktop/logs/webservices/Desktop-webservices.new-1.log",
            "desktop/logs/webservices/Desktop-webservices.new-2.log"} <= set(held.files)
    assert len(held.files) < len(first.hosts["node1"].steps[0].data["files"])


def test_failed_pull_does_not_advance_the_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_TEST_PW", LAB_PASSWORD)
    book = _book(tmp_path, "{path: 'desktop/logs/*', recurs: true, reltime: {days: 2}, since: last}")
    root = _tree(tmp_path)

    async def go(faults: tuple[str, ...]) -> RunReport:
        async with LabAppliance(LabConfig(password=LAB_PASSWORD, log_root=root, faults=faults)) as lab:
            return await _pull(tmp_path, lab, book)

    failed = run(go(("short_transfer",)))
    assert failed.hosts["node1"].status == "failed"
    assert PullState(tmp_path / "out", book).get("node1", "pull") is None
    again = run(go(()))
    data = again.hosts["node1"].steps[0].data
    assert data["window"] == "reltime days 2" and data["files_received"] > 5


def test_overlapping_runs_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPS_TEST_PW", LAB_PASSWORD)
    book = _book(tmp_path, "{path: 'desktop/logs/*'}")
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("groups: {finesse: {hosts: [n]}}\nhosts: {n: {lab: true}}\n")
    lock = RunLock(tmp_path / "out", book)
    lock.acquire()
    try:
        assert main(["run", str(book), "-i", str(inventory), "-o", str(tmp_path / "out")]) == 75
        assert "another run of this playbook is in progress" in capsys.readouterr().err
        with pytest.raises(RunLocked):
            RunLock(tmp_path / "out", book).acquire()
    finally:
        lock.release()
    assert main(["run", str(book), "-i", str(inventory), "-o", str(tmp_path / "out"), "-q"]) == 0


def test_retention_keeps_exactly_n_runs_after_success(tmp_path: Path) -> None:
    book = _book(tmp_path, "{set: finesse-openfire}", extra="keep: {runs: 2}\n")
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("groups: {finesse: {hosts: [n]}}\nhosts: {n: {lab: true}}\n")
    seen = []
    for _ in range(3):
        assert main(["run", str(book), "-i", str(inventory), "-o", str(tmp_path / "out"), "-q"]) == 0
        seen.append(sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")))
        time.sleep(0.01)
    assert [len(s) for s in seen] == [1, 2, 2]
    assert seen[0][0] not in seen[2]  # the oldest went first


def test_log_set_pulls_its_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_TEST_PW", LAB_PASSWORD)
    book = _book(tmp_path, "{set: finesse-openfire}")

    async def go() -> tuple[RunReport, list[str]]:
        async with LabAppliance(LabConfig(password=LAB_PASSWORD)) as lab:
            want = [f.relpath for f in lab.select("desktop/logs/openfire/*")]
            return await _pull(tmp_path, lab, book), want

    report, want = run(go())
    got = sorted(f["path"] for f in report.hosts["node1"].steps[0].data["files"])
    assert got == sorted(want) and got


def test_abstime_in_the_admins_zone_is_converted_to_the_appliances() -> None:
    window = Abstime.model_validate({"from": "2026-11-24 08:00", "to": "2026-11-24 12:00",
                                     "timezone": "Europe/Berlin"})
    local = window.in_zone("America/New_York")
    assert (local.start, local.end) == (datetime(2026, 11, 24, 2, 0), datetime(2026, 11, 24, 6, 0))
    assert local.cli() == "abstime 02:00:11/24/26 06:00:11/24/26"
    with pytest.raises(ValueError, match="unknown time zone"):
        Abstime.model_validate({"from": "2026-11-24 08:00", "to": "2026-11-24 12:00", "timezone": "Mars/Olympus"})


def test_abstime_is_sent_in_the_time_zone_the_inventory_gives_the_host(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_TEST_PW", LAB_PASSWORD)
    book = _book(tmp_path, "{path: 'desktop/logs/*', abstime: {from: '2026-11-24 08:00', to: '2026-11-24 12:00', "
                           "timezone: Europe/Berlin}, max_clock_skew: null}")

    async def go() -> list[str]:
        async with LabAppliance(LabConfig(password=LAB_PASSWORD)) as lab:
            path = write_inventory(tmp_path / "inventory.yaml", {"node1": lab})
            path.write_text(path.read_text() + "    timezone: America/New_York\n")
            inventory = load_inventory(path)
            assert inventory.hosts["node1"].timezone == "America/New_York"
            await run_playbook(load_playbook(book, inventory), inventory, RunOptions(output=tmp_path / "out"))
            return list(lab.commands)

    sent = [c for c in run(go()) if c.startswith("file get activelog")]
    assert sent == ["file get activelog desktop/logs/* abstime 02:00:11/24/26 06:00:11/24/26"]


def test_path_or_set_not_both() -> None:
    with pytest.raises(ValueError, match="path or set"):
        ActivelogArgs.model_validate({"path": "x/*", "set": "platform"})
    with pytest.raises(ValueError, match="unknown log set"):
        ActivelogArgs.model_validate({"set": "everything"})


def test_resume_fetches_only_what_is_missing_or_damaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_TEST_PW", LAB_PASSWORD)
    book = _book(tmp_path, "{path: 'desktop/logs/*', recurs: true, reltime: {days: 2}}")
    root = _tree(tmp_path)

    async def go(faults: tuple[str, ...], resume: str | None = None) -> RunReport:
        async with LabAppliance(LabConfig(password=LAB_PASSWORD, log_root=root, faults=faults)) as lab:
            inventory = load_inventory(write_inventory(tmp_path / "inventory.yaml", {"node1": lab}))
            options = RunOptions(output=tmp_path / "out", run_id=resume, resume=resume is not None)
            report = await run_playbook(load_playbook(book, inventory), inventory, options)
            report_commands = list(lab.commands)
            report.hosts["node1"].steps[0].data["lab_commands"] = report_commands
            return report

    first = run(go(("short_transfer",)))
    assert first.hosts["node1"].status == "failed"
    missing = first.hosts["node1"].steps[0].data["missing"]
    files_dir = tmp_path / "out" / first.run_id / "node1" / "files"
    held = sorted(p.relative_to(files_dir).as_posix() for p in files_dir.rglob("*") if p.is_file())
    damaged = held[0]
    (files_dir / damaged).write_bytes(b"corrupted on disk")
    second = run(go((), resume=first.run_id))
    record = second.hosts["node1"]
    assert record.status == "ok", record.error
    gets = [c for c in record.steps[0].data["lab_commands"] if c.startswith("file get")]
    assert sorted(c.split()[3] for c in gets) == sorted(missing + [damaged])
    want = {f.relpath: (root / f.relpath).read_bytes()
            for f in LabAppliance(LabConfig(log_root=root)).select("desktop/logs/*", recurs=True,
                                                                    reltime=("days", 2))}
    on_disk = {p.relative_to(files_dir).as_posix(): p.read_bytes() for p in files_dir.rglob("*") if p.is_file()}
    assert on_disk == want
    assert sorted(f["path"] for f in record.files) == sorted(want)


def test_resume_of_an_unknown_run_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = _book(tmp_path, "{path: 'desktop/logs/*'}")
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("groups: {finesse: {hosts: [n]}}\nhosts: {n: {lab: true}}\n")
    assert main(["run", str(book), "-i", str(inventory), "-o", str(tmp_path / "out"), "--resume", "nope"]) == 2
    assert "cannot resume nope" in capsys.readouterr().err


def test_resume_never_touches_paths_outside_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.setenv("OPS_TEST_PW", LAB_PASSWORD)
    book = _book(tmp_path, "{path: 'desktop/logs/openfire/*'}")
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")

    async def go(resume: str | None = None) -> RunReport:
        async with LabAppliance(LabConfig(password=LAB_PASSWORD)) as lab:
            inventory = load_inventory(write_inventory(tmp_path / "inventory.yaml", {"node1": lab}))
            options = RunOptions(output=tmp_path / "out", run_id=resume, resume=resume is not None)
            return await run_playbook(load_playbook(book, inventory), inventory, options)

    first = run(go())
    assert first.hosts["node1"].status == "ok", first.hosts["node1"].error
    manifest = tmp_path / "out" / first.run_id / "node1" / "manifest.json"
    entries = json.loads(manifest.read_text())
    # An entry that reaches the file outside (../../../../precious.txt) and looks damaged, so a
    # resume that followed it would delete it.
    entries.append({"path": os.path.relpath(outside, manifest.parent / "files"), "size": 1, "sha256": "0" * 64})
    manifest.write_text(json.dumps(entries))
    # Each lab generates its tree anew, so the active logs (error.log, info.log ...) have moved on since
    # the first run: resume replaces those held copies with the appliance's current ones.
    second = run(go(first.run_id))
    assert second.hosts["node1"].status == "ok", second.hosts["node1"].error
    assert outside.read_text() == "keep me"
    assert all(".." not in f["path"] for f in second.hosts["node1"].files)


def test_the_pull_state_is_written_once_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every host's successful pull is recorded, and the state file written once at the end: after
    each host, a run over N hosts would write N times a state that holds N hosts."""
    from ops import state as state_module

    monkeypatch.setenv("OPS_TEST_PW", LAB_PASSWORD)
    book = _book(tmp_path, "{path: 'desktop/logs/*', recurs: true, reltime: {days: 2}, since: last}")
    writes: list[Path] = []
    write = state_module.write_atomic
    monkeypatch.setattr(state_module, "write_atomic", lambda path, *a, **k: (writes.append(path), write(path, *a, **k)))

    async def go() -> RunReport:
        root = _tree(tmp_path)
        async with LabAppliance(LabConfig(password=LAB_PASSWORD, log_root=root)) as a, \
                LabAppliance(LabConfig(password=LAB_PASSWORD, log_root=root)) as b, \
                LabAppliance(LabConfig(password=LAB_PASSWORD, log_root=root)) as c:
            inventory = load_inventory(write_inventory(tmp_path / "inventory.yaml", {"n1": a, "n2": b, "n3": c}))
            return await run_playbook(load_playbook(book, inventory), inventory, RunOptions(output=tmp_path / "out"))

    report = run(go())
    assert all(h.status == "ok" for h in report.hosts.values())
    assert len(writes) == 1
    state = PullState(tmp_path / "out", book)
    assert all(state.get(host, "pull") is not None for host in ("n1", "n2", "n3"))


def test_retention_after_a_partly_failed_run_keeps_each_failed_hosts_last_good_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs are pruned after every run that finished, even one where a host failed (with hundreds
    of hosts one nearly always does, and nothing would ever be pruned); a host that failed keeps
    its newest run in which it succeeded. Other playbooks' runs are never touched."""
    from ops import retention
    from ops.report import HostRecord, RunReport, write_report
    from ops.retention import Keep, prune, runs_of

    out = tmp_path / "out"
    book, other = tmp_path / "nightly.yaml", tmp_path / "other.yaml"

    def make(run_id: str, playbook: Path, statuses: dict[str, str]) -> Path:
        report = RunReport(run_id=run_id, playbook=str(playbook), playbook_name="n",
                           started=f"2026-11-29T0{run_id[-1]}")
        report.hosts = {h: HostRecord(status=s) for h, s in statuses.items()}
        (out / run_id).mkdir(parents=True)
        write_report(out / run_id, report)
        return out / run_id

    r1 = make("r1", book, {"a": "ok", "b": "ok", "c": "ok"})
    r2 = make("r2", book, {"a": "ok", "b": "ok", "c": "failed"})
    r3 = make("r3", book, {"a": "ok", "b": "failed", "c": "failed"})
    theirs = make("r4", other, {"a": "ok"})
    r5 = make("r5", book, {"a": "ok", "b": "failed", "c": "failed"})
    assert runs_of(out, book) == [r1, r2, r3, r5]
    removed = prune(out, book, Keep(runs=1), r5, {"a": "ok", "b": "failed", "c": "failed"})
    # c last succeeded in r1, b in r2: both stay; r3 goes; the other playbook's run stays.
    assert removed == [r3] and r1.exists() and r2.exists() and theirs.exists()
    # From now on each host's last good run comes from the index, not from reading reports again.
    monkeypatch.setattr(retention, "_last_good_scan", lambda *a: pytest.fail("reports were scanned again"))
    r6 = make("r6", book, {"a": "ok", "b": "ok", "c": "failed"})
    assert prune(out, book, Keep(runs=1), r6, {"a": "ok", "b": "ok", "c": "failed"}) == [r2, r5]
    r7 = make("r7", book, {"a": "ok", "b": "ok", "c": "ok"})
    assert prune(out, book, Keep(runs=1), r7, {"a": "ok", "b": "ok", "c": "ok"}) == [r1, r6]


def test_runs_are_told_apart_by_the_head_of_their_report_or_else_all_of_it(tmp_path: Path) -> None:
    import json as json_module

    from ops.retention import runs_of

    book = tmp_path / "nightly.yaml"
    for name, started, first in (("new", "2026-11-29T02", True), ("old", "2026-11-29T01", False)):
        (tmp_path / name).mkdir()
        fields = {"playbook": str(book), "started": started}
        big = {"hosts": {f"h{i}": {"status": "ok", "error": "x" * 100} for i in range(1000)}}  # > 64 KiB
        data = {**fields, **big} if first else {**big, **fields}  # a report written in another key order
        (tmp_path / name / "report.json").write_text(json_module.dumps(data, indent=2))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "report.json").write_text("{not json")
    assert runs_of(tmp_path, book) == [tmp_path / "old", tmp_path / "new"]


def test_retention_runs_after_a_run_in_which_a_host_failed(tmp_path: Path) -> None:
    book = _book(tmp_path, "{set: finesse-openfire}", extra="keep: {runs: 1}\n")
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("groups: {finesse: {hosts: [a, b]}}\n"
                         "hosts: {a: {lab: true}, b: {lab: {faults: [command_fails]}}}\n")
    seen = []
    for _ in range(2):
        assert main(["run", str(book), "-i", str(inventory), "-o", str(tmp_path / "out"), "-q"]) == 1
        seen.append(sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")))
        time.sleep(0.01)
    assert [len(s) for s in seen] == [1, 1] and seen[0] != seen[1]  # b never succeeded: nothing to spare


@pytest.mark.parametrize("linked", ["node1", "node1/files"])
def test_resume_never_follows_a_symlinked_host_directory(linked: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A host directory (or its files/) replaced by a symlink: resume would delete damaged files
    and write received ones wherever it points. The host fails instead, and the target is untouched."""
    import json
    import shutil

    monkeypatch.setenv("OPS_TEST_PW", LAB_PASSWORD)
    book = _book(tmp_path, "{path: 'desktop/logs/openfire/*'}")

    async def go(resume: str | None = None) -> RunReport:
        async with LabAppliance(LabConfig(password=LAB_PASSWORD)) as lab:
            inventory = load_inventory(write_inventory(tmp_path / "inventory.yaml", {"node1": lab}))
            options = RunOptions(output=tmp_path / "out", run_id=resume, resume=resume is not None)
            return await run_playbook(load_playbook(book, inventory), inventory, options)

    first = run(go())
    run_dir = tmp_path / "out" / first.run_id
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(run_dir / linked, elsewhere, symlinks=True)
    shutil.rmtree(run_dir / linked)
    (run_dir / linked).symlink_to(elsewhere, target_is_directory=True)
    manifest = run_dir / "node1" / "manifest.json"
    if manifest.exists():  # damage every entry, so a resume that followed the link would delete
        entries = json.loads(manifest.read_text())
        manifest.write_text(json.dumps([{**e, "sha256": "0" * 64} for e in entries]))
    before = sorted((p.relative_to(elsewhere), p.read_bytes()) for p in elsewhere.rglob("*") if p.is_file())
    second = run(go(first.run_id))
    assert second.hosts["node1"].status == "failed"
    assert "refusing to follow the symlink" in (second.hosts["node1"].error or "")
    after = sorted((p.relative_to(elsewhere), p.read_bytes()) for p in elsewhere.rglob("*") if p.is_file())
    assert after == before


def test_resume_on_a_restarted_lab_fetches_nothing_new_within_the_hour(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Two lab starts with one seed in one hour are one appliance: a resume finds every file whole
    (before, each start drew a new tree: 23 of 26 files came again and the manifest doubled)."""
    import json

    monkeypatch.setenv("OPS_TEST_PW", LAB_PASSWORD)
    # The lab's clock is set to half past this hour, up to 30 minutes off ours: the window is read
    # by its clock (it failed in CI when the replay read ours, 2026-12-01).
    book = _book(tmp_path, "{path: 'desktop/logs/*', recurs: true, reltime: {days: 2}, max_clock_skew: 3600}")
    now = time.time() // 3600 * 3600 + 1800  # fixed within its hour: the two starts cannot straddle one

    async def go(resume: str | None = None) -> RunReport:
        async with LabAppliance(LabConfig(password=LAB_PASSWORD, seed=1, now=now)) as lab:
            inventory = load_inventory(write_inventory(tmp_path / "inventory.yaml", {"node1": lab}))
            options = RunOptions(output=tmp_path / "out", run_id=resume, resume=resume is not None)
            return await run_playbook(load_playbook(book, inventory), inventory, options)

    first = run(go())
    assert first.hosts["node1"].status == "ok", first.hosts["node1"].error
    manifest = tmp_path / "out" / first.run_id / "node1" / "manifest.json"
    before = json.loads(manifest.read_text())
    second = run(go(first.run_id))
    assert second.hosts["node1"].status == "ok", second.hosts["node1"].error
    assert first.hosts["node1"].steps[0].data["files_received"] > 0, first.hosts["node1"].steps[0].message
    assert second.hosts["node1"].steps[0].message == "nothing missing", [s.message for s in second.hosts["node1"].steps]
    assert json.loads(manifest.read_text()) == before


@pytest.mark.parametrize("damage", ["{not json", "[1, 2]", '{"hosts": {"node1": "x"}}',
                                    '{"hosts": {"node1": {"pull": {"started": 1, "files": [1]}}}}'])
def test_a_damaged_pull_state_is_set_aside_and_the_pull_still_works(damage: str, tmp_path: Path) -> None:
    """A damaged .state file made every later `since: last` pull fail; now it is kept aside, named, and
    the run pulls its whole window, as a first run would."""
    state = PullState(tmp_path / "out", tmp_path / "book.yaml")
    state.path.parent.mkdir(parents=True)
    state.path.write_text(damage)
    again = PullState(tmp_path / "out", tmp_path / "book.yaml")
    assert again.get("node1", "pull") is None or again.get("node1", "pull").files == {}  # type: ignore[union-attr]
    if damage in ("{not json", "[1, 2]"):
        assert again.warning and "could not be read" in again.warning
        assert list(state.path.parent.glob("*.damaged-*")) and not state.path.exists()
    again.record("node1", "pull", 5.0, {"a.log": "0" * 64})
    again.save()
    assert PullState(tmp_path / "out", tmp_path / "book.yaml").get("node1", "pull") is not None


def test_retention_never_reports_a_symlinked_run_removed(tmp_path: Path) -> None:
    from ops.retention import Keep, prune

    out = tmp_path / "out"
    book = tmp_path / "book.yaml"
    runs = []
    for i in range(3):
        run_dir = out / f"2026120{i}T000000Z-000{i}"
        run_dir.mkdir(parents=True)
        (run_dir / "report.json").write_text(f'{{"schema_version": 1, "playbook": "{book}", '
                                             f'"started": "2026-12-0{i}", "hosts": {{}}}}')
        runs.append(run_dir)
    elsewhere = tmp_path / "elsewhere"
    runs[0].rename(elsewhere)
    runs[0].symlink_to(elsewhere, target_is_directory=True)
    removed = prune(out, book, Keep(runs=1), runs[2], {})
    assert runs[0] not in removed and (elsewhere / "report.json").exists()
    assert removed == [runs[1]] and not runs[1].exists()


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "soon"])
def test_timeout_must_be_a_finite_number_of_seconds(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "x.yaml", "--timeout", value])
    assert info.value.code == 2
    assert "--timeout" in capsys.readouterr().err
