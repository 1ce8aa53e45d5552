"""Faults and secrets with hosts addressed as real ones (issue 21): file: and env: passwords, strict and
accept-new host keys, against a lab started apart from the runner, so no lab shortcut is taken."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.inventory import load_inventory
from ops.lab.server import LabAppliance, LabConfig
from ops.playbook import load_playbook
from ops.report import RunReport
from ops.runner import RunOptions, run_playbook
from tests.helpers import LAB_PASSWORD, REPO, run


def _inventory(tmp_path: Path, lab: LabAppliance, password: str, host_key: str) -> Path:
    known = tmp_path / "known_hosts"
    if host_key == "strict":
        known.write_text(lab.known_hosts_line() + "\n")
    path = tmp_path / "inventory.yaml"
    path.write_text(f"defaults: {{username: admin, password: '{password}'}}\n"
                    "groups: {finesse: {hosts: [node1]}}\n"
                    f"hosts:\n  node1: {{address: {lab.host}, port: {lab.port}, host_key: {host_key}, "
                    f"known_hosts: {known}}}\n")
    return path


def _run(tmp_path: Path, config: LabConfig, password: str, host_key: str,
         playbook: str = "unlock-admin-ui.yaml") -> tuple[RunReport, str]:
    async def go() -> tuple[RunReport, str]:
        async with LabAppliance(config) as lab:
            inventory = load_inventory(_inventory(tmp_path, lab, password, host_key))
            report = await run_playbook(load_playbook(REPO / "playbooks" / playbook, inventory), inventory,
                                        RunOptions(output=tmp_path / "out", command_timeout=5, retry_backoff=0.01))
            return report, (tmp_path / "out" / report.run_id / "node1" / "transcript.log").read_text()

    return run(go())


@pytest.mark.parametrize("host_key", ["strict", "accept-new"])
@pytest.mark.parametrize("reference", ["env", "file"])
def test_secrets_stay_masked_with_real_password_references_and_host_keys(
        reference: str, host_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINESSE_UI_PASSWORD", "Known-UI-Passw0rd-93")
    if reference == "env":
        monkeypatch.setenv("OPS_REAL_PW", LAB_PASSWORD)
        password = "env:OPS_REAL_PW"
    else:
        secret = tmp_path / "admin.pw"
        secret.write_text(LAB_PASSWORD + "\n")
        password = f"file:{secret}"
    config = LabConfig(password=LAB_PASSWORD, secret_echo="clear")
    report, transcript = _run(tmp_path, config, password, host_key)
    assert report.hosts["node1"].status == "ok", report.hosts["node1"].error
    everything = transcript + "".join(p.read_text(errors="replace") for p in (tmp_path / "out").rglob("*.json"))
    for value in (LAB_PASSWORD, "Known-UI-Passw0rd-93"):
        assert value not in everything
    if host_key == "accept-new":
        assert "[127.0.0.1]" in (tmp_path / "known_hosts").read_text()  # learned on first contact


@pytest.mark.parametrize(("fault", "expected"), [("auth_failure", "authentication failed"),
                                                  ("host_key_changed", "HOST KEY CHANGED"),
                                                  ("no_prompt", "first 'admin:' prompt")])
def test_faults_with_a_real_host_strict_keys_and_a_file_password(fault: str, expected: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINESSE_UI_PASSWORD", "Known-UI-Passw0rd-93")
    secret = tmp_path / "admin.pw"
    secret.write_text(LAB_PASSWORD + "\n")
    report, _ = _run(tmp_path, LabConfig(password=LAB_PASSWORD, faults=(fault,)), f"file:{secret}", "strict")
    record = report.hosts["node1"]
    assert record.status == "failed" and expected in (record.error or ""), record.error
