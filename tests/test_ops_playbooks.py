"""The shipped playbooks run with the default inventory, whose lab hosts the runner starts itself."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ops.inventory import load_inventory
from ops.lab.sshd import available as sshd_available
from ops.playbook import load_playbook
from ops.report import RunReport
from ops.runner import RunOptions, run_playbook
from tests.helpers import REPO, run

HOSTS = ("finesse-a", "finesse-b")


@pytest.fixture(params=["asyncssh", "sshd"])
def inventory_path(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The default inventory, its lab hosts in-process (asyncssh) or behind a real sshd on a pty."""
    if request.param == "asyncssh":
        return REPO / "inventory.yaml"
    why = sshd_available()
    if why is not None:
        if os.environ.get("OPS_ALLOW_SKIPS"):
            pytest.skip(why)
        pytest.fail(f"the sshd lab cannot run here: {why} (tests/setup-system.sh installs it)")
    text = (REPO / "inventory.yaml").read_text()
    text = text.replace("lab: true", "lab: {sshd: true}")
    text = text.replace("nested_layout: true}", "nested_layout: true, sshd: true}")
    assert text.count("sshd: true") == 2
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    return path


def shipped(tmp_path: Path, name: str, inventory_path: Path = REPO / "inventory.yaml") -> tuple[RunReport, Path]:
    inventory = load_inventory(inventory_path)
    book = load_playbook(REPO / "playbooks" / name, inventory)
    report = run(run_playbook(book, inventory, RunOptions(output=tmp_path / "collected", command_timeout=30)))
    for host in HOSTS:
        assert report.hosts[host].status == "ok", report.hosts[host].error
    return report, tmp_path / "collected" / report.run_id


def test_client_connections(tmp_path: Path, inventory_path: Path) -> None:
    report, run_dir = shipped(tmp_path, "client-connections.yaml", inventory_path)
    for host in HOSTS:
        desktop, xmpp = report.hosts[host].steps
        assert desktop.data["summary"]["ports"]["8445"]["remote_clients"] == 12  # LabConfig defaults
        assert xmpp.data["summary"]["ports"]["7443"]["remote_clients"] == 12
        assert {p.name for p in (run_dir / host).glob("network-status-*")} == {
            "network-status-desktop-8445.json", "network-status-desktop-8445.csv",
            "network-status-xmpp-7443.json", "network-status-xmpp-7443.csv"}


def test_clear_webproxy_cache(tmp_path: Path, inventory_path: Path) -> None:
    report, _ = shipped(tmp_path, "clear-webproxy-cache.yaml", inventory_path)
    assert all(report.hosts[h].steps[0].data["cleared"] == ["rest"] for h in HOSTS)


def test_restart_finesse_tomcat(tmp_path: Path, inventory_path: Path) -> None:
    report, _ = shipped(tmp_path, "restart-finesse-tomcat.yaml", inventory_path)
    for host in HOSTS:
        step = report.hosts[host].steps[0]
        assert step.data["progress"][-1] == "STARTED" and step.data["listed"] == "STARTED"


def test_unlock_admin_ui(tmp_path: Path, inventory_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINESSE_UI_PASSWORD", "Finesse-UI-pw1")
    report, run_dir = shipped(tmp_path, "unlock-admin-ui.yaml", inventory_path)
    for host in HOSTS:
        assert report.hosts[host].steps[0].data["resets"] == 2
        assert "Finesse-UI-pw1" not in (run_dir / host / "transcript.log").read_text()
    assert "Finesse-UI-pw1" not in (run_dir / "report.json").read_text()


def test_incident_runbook_restarts_only_when_asked(tmp_path: Path, inventory_path: Path) -> None:
    report, run_dir = shipped(tmp_path, "incident-desktop-outage.yaml", inventory_path)
    saved = json.loads((run_dir / "report.json").read_text())
    for host in HOSTS:
        steps = {s.name: s for s in report.hosts[host].steps}
        assert steps["Restart Cisco Finesse Tomcat"].status == "skipped"
        assert steps["Desktop connections before"].data["summary"]["ports"]["8445"]["remote_clients"] == 12
        assert steps["Clear the REST cache"].status == "changed"
        assert steps["Desktop logs of the last 4 hours"].data["files_received"] > 0
        assert (run_dir / host / "network-status-before-7443.csv").exists()
        assert len(saved["hosts"][host]["steps"]) == 9  # one report for the whole runbook


def test_pull_desktop_logs(tmp_path: Path, inventory_path: Path) -> None:
    report, run_dir = shipped(tmp_path, "pull-desktop-logs.yaml", inventory_path)
    for host in HOSTS:
        step = report.hosts[host].steps[0]
        assert step.data["files_received"] == step.data["announced_files"] > 0
        assert (run_dir / host / "manifest.json").exists()


def test_health_check(tmp_path: Path, inventory_path: Path) -> None:
    report, _ = shipped(tmp_path, "health-check.yaml", inventory_path)
    for host in HOSTS:
        assert all(s.status in ("ok", "changed") for s in report.hosts[host].steps)


def test_finesse_reason_codes(tmp_path: Path, inventory_path: Path) -> None:
    report, _ = shipped(tmp_path, "finesse-reason-codes.yaml", inventory_path)
    for host in HOSTS:
        step = report.hosts[host].steps[0]
        assert step.data["counts"]["create"] == 11 and step.data["cache"]["cleared"]


def test_finesse_reason_codes_check_mode_shows_the_plan_and_changes_nothing(tmp_path: Path) -> None:
    """--check reads the cluster (check_mode) and prints the plan as a diff, writing nothing."""
    import subprocess
    import sys

    def check() -> subprocess.CompletedProcess[str]:
        book = REPO / "playbooks" / "finesse-reason-codes.yaml"
        return subprocess.run([sys.executable, "-m", "ops.cli", "run", str(book), "-i", str(REPO / "inventory.yaml"),
                               "--check", "-v", "--limit", "finesse-a"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=180)

    first = check()
    assert first.returncode == 0, first.stdout + first.stderr
    assert "11 to create" in first.stdout and "+ reason code NOT_READY 10" in first.stdout
    assert not (tmp_path / "collected").exists()
    # That the plan changes nothing on the cluster is tested within one lab: tests/test_finesse_config.py.
