"""The main job end to end: playbooks pull logs from lab appliances over real SSH/SFTP on loopback."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ops.inventory import load_inventory
from ops.lab.server import LabAppliance, LabConfig
from ops.playbook import load_playbook
from ops.report import RunReport
from ops.runner import RunOptions, run_playbook
from tests.helpers import LAB_PASSWORD, REPO, run, write_inventory


async def pull(tmp_path: Path, labs: dict[str, LabAppliance], playbook: Path) -> RunReport:
    inventory = load_inventory(write_inventory(tmp_path / "inventory.yaml", labs))
    book = load_playbook(playbook, inventory)
    return await run_playbook(book, inventory, RunOptions(output=tmp_path / "collected", command_timeout=20))


def step_playbook(tmp_path: Path, activelog: str, name: str = "pb.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"name: test pull\nhosts: finesse\nsteps:\n  - name: pull\n    activelog: {activelog}\n"
                    "    register: logs\n")
    return path


def received(report: RunReport, tmp_path: Path, host: str) -> dict[str, bytes]:
    base = tmp_path / "collected" / report.run_id / host / "files"
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in base.rglob("*") if p.is_file()}


def expected(lab: LabAppliance, **kw: Any) -> dict[str, bytes]:
    return {f.relpath: (lab.log_root / f.relpath).read_bytes() for f in lab.select("desktop/logs/*", **kw)}


def test_shipped_playbook_pulls_exactly_the_last_two_days(tmp_path: Path, lab_env: Callable[..., LabConfig]) -> None:
    async def go() -> tuple[RunReport, dict[str, bytes]]:
        async with LabAppliance(lab_env()) as lab:
            want = expected(lab, recurs=True, reltime=("days", 2))
            inventory = load_inventory(write_inventory(tmp_path / "inventory.yaml", {"node1": lab}))
            book = load_playbook(REPO / "playbooks" / "pull-desktop-logs.yaml", inventory)
            report = await run_playbook(book, inventory, RunOptions(output=tmp_path / "collected"))
            return report, want

    report, want = run(go())
    assert report.hosts["node1"].status == "ok", report.hosts["node1"].error
    assert 0 < len(want) < 100
    got = received(report, tmp_path, "node1")
    assert got == want  # the right subset, byte-identical
    run_dir = tmp_path / "collected" / report.run_id
    manifest = json.loads((run_dir / "node1" / "manifest.json").read_text())
    assert {e["path"]: (e["size"], e["sha256"]) for e in manifest} == {
        p: (len(b), hashlib.sha256(b).hexdigest()) for p, b in want.items()}
    saved = json.loads((run_dir / "report.json").read_text())
    data = saved["hosts"]["node1"]["steps"][0]["data"]
    assert data["announced_files"] == data["files_received"] == len(want)
    assert data["announced_bytes"] == data["bytes_received"] == sum(len(b) for b in want.values())
    assert saved["schema_version"] == 1
    transcript = (run_dir / "node1" / "transcript.log").read_text()
    assert "file get activelog desktop/logs/* recurs reltime days 2" in transcript
    assert "Transfer completed." in transcript


def oracle(root: Path, base: str, *, recurs: bool = False, since: float | None = None, until: float | None = None,
           match: str | None = None) -> dict[str, bytes]:
    """What `file get activelog <base>/* ...` must send, worked out here from the files and their
    mtimes on disk, not by the lab's own selection code: a filter bug in the lab shows as a
    difference."""
    import os
    import re

    top = root / base
    out: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        if not recurs:
            dirnames.clear()
        for name in filenames:
            path = Path(dirpath) / name
            mtime = path.stat().st_mtime
            if (since is not None and mtime < since) or (until is not None and mtime >= until):
                continue
            if match is not None and not re.search(match, name):
                continue
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


@pytest.mark.parametrize("activelog,select", [
    ("{path: 'desktop/logs/webservices/*', abstime: {from: FROM, to: TO}}", {"abstime": True}),
    ("{path: 'desktop/logs/*', recurs: true, match: 'Openfire'}", {"recurs": True, "match": "Openfire"}),
    ("{path: 'desktop/logs/*', recurs: true, reltime: {hours: 30}, match: '^Desktop-'}",
     {"recurs": True, "reltime": ("hours", 30), "match": "^Desktop-"}),
])
def test_filters_select_the_right_subset(tmp_path: Path, lab_env: Callable[..., LabConfig], activelog: str,
                                         select: dict[str, Any]) -> None:
    async def go() -> tuple[RunReport, dict[str, bytes]]:
        async with LabAppliance(lab_env()) as lab:
            spec, kw = "desktop/logs/*", dict(select)
            text = activelog
            if kw.pop("abstime", None):
                start = datetime.fromtimestamp(lab.now) - timedelta(days=6)
                end = datetime.fromtimestamp(lab.now) - timedelta(days=1)
                start, end = start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)
                text = text.replace("FROM", f"'{start:%Y-%m-%d %H:%M}'").replace("TO", f"'{end:%Y-%m-%d %H:%M}'")
                spec, kw = "desktop/logs/webservices/*", {"abstime": (start, end)}
            base = spec.rsplit("/", 1)[0]
            if "abstime" in kw:
                start, end = kw["abstime"]
                # abstime names minutes: the end minute is in the window, up to its last second.
                want = oracle(lab.log_root, base, since=start.timestamp(), until=end.timestamp() + 60)
            else:
                reltime = kw.get("reltime")
                since = lab.now - reltime[1] * 3600 if reltime else None
                want = oracle(lab.log_root, base, recurs=kw.get("recurs", False), since=since, match=kw.get("match"))
            inventory = load_inventory(write_inventory(tmp_path / "inventory.yaml", {"node1": lab}))
            book = load_playbook(step_playbook(tmp_path, text), inventory)
            report = await run_playbook(book, inventory, RunOptions(output=tmp_path / "collected"))
            return report, want

    report, want = run(go())
    assert report.hosts["node1"].status == "ok", report.hosts["node1"].error
    assert want, "the filter should select something in the generated tree"
    assert received(report, tmp_path, "node1") == want


def test_nested_layout_and_keyboard_interactive_only(tmp_path: Path, lab_env: Callable[..., LabConfig]) -> None:
    async def go() -> tuple[RunReport, dict[str, bytes]]:
        cfg = lab_env(nested_layout=True, auth_methods=("keyboard-interactive",), hostname="ccx-1")
        async with LabAppliance(cfg) as lab:
            want = expected(lab, recurs=True, match="realm")
            inventory = load_inventory(write_inventory(tmp_path / "inventory.yaml", {"node1": lab}))
            book = load_playbook(step_playbook(tmp_path, "{path: 'desktop/logs/*', recurs: true, match: realm}"),
                                 inventory)
            return await run_playbook(book, inventory, RunOptions(output=tmp_path / "collected")), want

    report, want = run(go())
    assert report.hosts["node1"].status == "ok", report.hosts["node1"].error
    got = received(report, tmp_path, "node1")
    assert len(got) == len(want) > 0
    for path, content in got.items():
        assert path.startswith("ccx-1/")
        relpath = path.split("/activelog/", 1)[1]
        assert want[relpath] == content


def test_no_files_is_a_clear_non_fatal_result(tmp_path: Path, lab_env: Callable[..., LabConfig]) -> None:
    async def go() -> RunReport:
        async with LabAppliance(lab_env()) as lab:
            inventory = load_inventory(write_inventory(tmp_path / "inventory.yaml", {"node1": lab}))
            book = load_playbook(step_playbook(tmp_path, "{path: 'desktop/logs/*', match: NoSuchLogName}"), inventory)
            return await run_playbook(book, inventory, RunOptions(output=tmp_path / "collected"))

    report = run(go())
    host = report.hosts["node1"]
    assert host.status == "ok"
    assert host.steps[0].status == "ok" and host.steps[0].message == "no files matched"
    assert host.files == []


def test_wrong_password_fails_only_that_host(tmp_path: Path, lab_env: Callable[..., LabConfig]) -> None:
    async def go() -> RunReport:
        async with LabAppliance(lab_env()) as good, LabAppliance(lab_env(password="Another-Pw-123")) as bad:
            labs = {"good": good, "bad": bad}
            return await pull(tmp_path, labs, REPO / "playbooks" / "pull-desktop-logs.yaml")

    report = run(go())
    assert report.hosts["good"].status == "ok"
    assert report.hosts["bad"].status == "failed"
    assert "authentication failed" in (report.hosts["bad"].error or "")
    assert report.failed_hosts == ["bad"]


def test_no_secret_in_any_file_of_the_run_directory(tmp_path: Path, lab_env: Callable[..., LabConfig],
                                                    generated_secrets: list[str]) -> None:
    generated = generated_secrets

    async def go() -> RunReport:
        async with LabAppliance(lab_env()) as lab:
            return await pull(tmp_path, {"node1": lab}, REPO / "playbooks" / "pull-desktop-logs.yaml")

    report = run(go())
    assert report.hosts["node1"].status == "ok"
    assert generated, "the receiver's password is generated per run"
    import base64
    import urllib.parse
    needles = set()
    for value in [LAB_PASSWORD, *generated]:
        needles |= {value, base64.b64encode(value.encode()).decode(), urllib.parse.quote(value, safe="")}
    for path in (tmp_path / "collected").rglob("*"):
        if path.is_file() and "files" not in path.relative_to(tmp_path / "collected").parts:
            text = path.read_text(errors="replace")
            for needle in needles:
                assert needle not in text, f"secret found in {path}"
