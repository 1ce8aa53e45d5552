"""Issue "At home for an Ansible admin": the command line, the recap, the JSON stream, the Python API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

OPS = [sys.executable, "-m", "ops.cli"]


def ops(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*OPS, *args], cwd=cwd, capture_output=True, text=True, timeout=180,
                          env={**os.environ, **(env or {})})


def _book(tmp_path: Path, steps: str, header: str = "") -> Path:
    book = tmp_path / "book.yaml"
    book.write_text(f"name: habits\nhosts: all\n{header}steps:\n{steps}")
    return book


def _lab_inventory(tmp_path: Path, extra: str = "") -> Path:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(f"hosts:\n  fin-a: {{lab: true}}\n{extra}")
    return inventory


def test_verbosity_levels_show_output_then_session_lines_then_ssh_debug_all_masked(tmp_path: Path) -> None:
    book = _book(tmp_path, "  - name: version\n    cli: {command: show version active}\n")
    inventory = _lab_inventory(tmp_path)
    base = ["run", str(book), "-i", str(inventory), "-o", str(tmp_path / "out")]
    quiet = ops(*base, cwd=tmp_path)
    one = ops(*base, "-v", cwd=tmp_path)
    two = ops(*base, "-vv", cwd=tmp_path)
    three = ops(*base, "-vvv", cwd=tmp_path)
    for result in (quiet, one, two, three):
        assert result.returncode == 0, result.stdout + result.stderr
    # -v: the step's output (the appliance's answer to `show version active`) follows the step line.
    assert "Active Master Version:" not in quiet.stdout
    assert "fin-a |     Active Master Version:" in one.stdout
    # -vv: every line of the session as it happens, with what was typed.
    assert "ops.transcript" in two.stderr and "show version active" in two.stderr
    assert "ops.transcript" not in one.stderr
    # -vvv: SSH-level debug from asyncssh.
    assert "asyncssh" in three.stderr and "asyncssh" not in two.stderr
    assert "uth" in three.stderr  # asyncssh's authentication lines
    # Masking of these lines: tests/test_secrets_scan.py (-vvv with a clear-echo lab).


def test_the_recap_counts_an_unreachable_host_and_a_host_that_failed_before_any_step(tmp_path: Path) -> None:
    book = _book(tmp_path, "  - name: version\n    cli: {command: show version active}\n"
                           "  - name: info\n    finesse_system_info: {}\n")
    inventory = tmp_path / "inventory.yaml"
    # nopw: its REST password does not resolve, so it fails while being prepared, before any step.
    inventory.write_text("hosts:\n  fin-a: {lab: true}\n"
                         "  gone: {address: 127.0.0.1, port: 9, password: env:OPS_HABITS_PW, retries: 0,"
                         " connect_timeout: 2}\n"
                         "  nopw: {address: 127.0.0.1, port: 9, password: env:OPS_HABITS_PW,"
                         " rest: {password: env:OPS_HABITS_UNSET}}\n")
    result = ops("run", str(book), "-i", str(inventory), "-o", str(tmp_path / "out"), cwd=tmp_path,
                 env={"OPS_HABITS_PW": "x-habits-x"})
    assert result.returncode == 1
    lines = {line.split(":")[0].strip(): line for line in result.stdout.splitlines() if " : " in line}
    assert "ok=2" in lines["fin-a"] and "unreachable=0" in lines["fin-a"] and "failed=0" in lines["fin-a"]
    assert "unreachable=1" in lines["gone"] and "failed=0" in lines["gone"]
    assert "unreachable=0" in lines["nopw"] and "failed=1" in lines["nopw"]


def test_json_lines_on_stdout_then_the_recap(tmp_path: Path) -> None:
    book = REPO / "playbooks" / "pull-desktop-logs.yaml"
    result = ops("run", str(book), "-i", str(REPO / "inventory.yaml"), "-o", str(tmp_path / "out"), "--json",
                 "--limit", "finesse-a", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    items = [json.loads(line) for line in result.stdout.splitlines()]  # every line is JSON, nothing else
    kinds = [item["event"] for item in items]
    assert kinds[0] == "host_started" and kinds[-1] == "recap" and "host_finished" in kinds
    files = [item for item in items if item["event"] == "file_received"]
    assert files and all(len(item["sha256"]) == 64 and item["host"] == "finesse-a" for item in files)
    steps = [item for item in items if item["event"] == "step_finished"]
    assert steps[0]["status"] == "changed"
    recap = items[-1]
    assert recap["hosts"]["finesse-a"]["files"] == len(files) and recap["failed_hosts"] == []
    again = ops("report", recap["run_id"], "--output", str(tmp_path / "out"), "--json", cwd=tmp_path)
    assert again.returncode == 0 and json.loads(again.stdout)["hosts"] == recap["hosts"]


def test_json_lines_are_ascii_and_masked(tmp_path: Path) -> None:
    from ops.events import StepFinished
    from ops.progress import JsonLines
    from ops.secrets import Secret

    secret = Secret('Pa"ss\\w0rd-Json', "test")
    out = tmp_path / "stream"
    with out.open("w") as handle:
        JsonLines(handle).event(StepFinished("h", "s", "ok", f"said {secret.reveal()} \x1b]0;title\x07 \u202e",
                                             output=secret.reveal()))
    text = out.read_text()
    assert text.isascii() and "\x1b" not in text and "w0rd-Json" not in text
    item = json.loads(text)
    assert "********" in item["message"] and item["output"] == "********"


def test_list_hosts_and_check_mode_that_renders_names_and_evaluates_when(tmp_path: Path) -> None:
    inventory = _lab_inventory(tmp_path, "  fin-b: {lab: true, vars: {restart: true}}\n")
    book = _book(tmp_path, "  - name: Logs of the last {{ days }} days\n"
                           "    activelog: {path: desktop/logs/*, reltime: {days: \"{{ days }}\"}}\n"
                           "  - name: Restart\n    when: restart\n"
                           "    service: {action: restart, name: Cisco Finesse Tomcat}\n"
                           "  - name: version\n    cli: {command: show version active}\n    register: v\n"
                           "  - name: after\n    when: v.ok\n    cli: {command: show status}\n",
                 header="vars: {days: 3, restart: false}\n")
    listed = ops("run", str(book), "-i", str(inventory), "--list-hosts", "--limit", "fin-b", cwd=tmp_path)
    assert listed.returncode == 0 and "fin-b" in listed.stdout and "fin-a" not in listed.stdout
    check = ops("run", str(book), "-i", str(inventory), "--check", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert "[Logs of the last 3 days] would send: file get activelog desktop/logs/* reltime days 3" in check.stdout
    assert "{{" not in check.stdout
    # Playbook vars win over host vars (as in Ansible): restart is false for both hosts, so no restart.
    assert "would send: utils service restart" not in check.stdout
    assert "[Restart] skipped" in check.stdout
    # A condition on an earlier step's result cannot be known before the run: said so.
    assert "reads an earlier step's result" in check.stdout
    assert not (tmp_path / "collected").exists()


@pytest.mark.parametrize("flag", ["--list-hosts", "--check"])
def test_listing_and_checking_touch_no_host(tmp_path: Path, flag: str) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("hosts:\n  unreachable: {address: 192.0.2.1, password: env:NOT_SET_HERE}\n")
    book = _book(tmp_path, "  - name: version\n    cli: {command: show version active}\n")
    result = ops("run", str(book), "-i", str(inventory), flag, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
