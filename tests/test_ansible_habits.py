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
                           "  - name: after\n    when: v.ok\n    cli: {command: utils ntp status}\n",
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


# -- step keywords -------------------------------------------------------------------------------

def _run_book(tmp_path: Path, steps: str, *args: str, header: str = "", extra: str = "") -> tuple[
        subprocess.CompletedProcess[str], dict]:
    book = _book(tmp_path, steps, header=header)
    inventory = _lab_inventory(tmp_path, extra)
    out = tmp_path / "out"
    result = ops("run", str(book), "-i", str(inventory), "-o", str(out), "--no-progress", *args, cwd=tmp_path)
    reports = sorted(out.glob("*/report.json")) if out.exists() else []
    return result, json.loads(reports[-1].read_text()) if reports else {}


def test_failed_when_changed_when_and_the_deprecated_fail_when(tmp_path: Path) -> None:
    result, report = _run_book(tmp_path, """\
  - name: version
    cli: {command: show version active}
    register: v
    changed_when: false
    failed_when: "'Active Master Version' not in v.output"
  - name: a command the appliance refuses, failure overridden
    cli: {command: show nosuchthing}
    register: refused
    failed_when: false
  - name: marked changed
    cli: {command: show version active}
    register: again
    changed_when: "again.output is search('Version')"
  - name: old spelling
    cli: {command: show version active, fail_when: nomatchanywhere}
  - name: now it fails
    cli: {command: show version active}
    register: last
    failed_when: "last.output is search('Active')"
""")
    assert result.returncode == 1
    steps = report["hosts"]["fin-a"]["steps"]
    assert [s["status"] for s in steps] == ["ok", "ok", "changed", "ok", "failed"]
    assert "not failed (failed_when: false is false)" in steps[1]["message"]
    assert steps[4]["message"].startswith("failed_when: last.output is search('Active')")
    assert "[DEPRECATION WARNING]" in result.stderr and "cli.fail_when is deprecated" in result.stderr


def test_until_retries_a_read_only_step_and_refuses_to_repeat_a_change_unasked(tmp_path: Path) -> None:
    result, report = _run_book(tmp_path, """\
  - name: poll
    cli: {command: show version active}
    register: p
    until: p.attempts >= 3
    retries: 5
    delay: 0
  - name: never true
    cli: {command: show version active}
    register: q
    until: false
    retries: 1
    delay: 0
""")
    steps = report["hosts"]["fin-a"]["steps"]
    assert steps[0]["status"] == "ok" and steps[0]["data"]["attempts"] == 3
    assert steps[1]["status"] == "failed" and "still false after 2 attempts" in steps[1]["message"]
    book = _book(tmp_path, "  - name: restart\n    service: {action: restart}\n    register: r\n"
                           "    until: r.ok\n")
    refused = ops("validate", str(book), "-i", str(_lab_inventory(tmp_path)), cwd=tmp_path)
    assert refused.returncode == 2 and "add repeat_changes: true" in refused.stderr
    assert "book.yaml:7: steps[0].until" in refused.stderr  # file:line of the until: key


def test_loop_runs_a_step_per_item_with_when_per_item_and_registers_the_results(tmp_path: Path) -> None:
    result, report = _run_book(tmp_path, """\
  - name: ask
    cli: {command: "{{ item.cmd }}"}
    loop: "{{ commands }}"
    loop_control: {label: "{{ item.label }}"}
    when: item.label != 'skip me'
    register: answers
  - name: count
    cli: {command: show version active}
    when: answers.results | length == 3 and (answers.results | selectattr('skipped') | list | length) == 1
""", header="vars:\n  commands:\n    - {cmd: show version active, label: version}\n"
            "    - {cmd: utils ntp status, label: status}\n    - {cmd: utils service list, label: skip me}\n")
    assert result.returncode == 0, result.stdout + result.stderr
    names = [s["name"] for s in report["hosts"]["fin-a"]["steps"]]
    assert names == ["ask (item=version)", "ask (item=status)", "ask (item=skip me)", "count"]
    assert [s["status"] for s in report["hosts"]["fin-a"]["steps"]] == ["ok", "ok", "skipped", "ok"]


@pytest.mark.long
def test_tags_skip_tags_start_at_step_and_list_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    steps = """\
  - name: one
    cli: {command: show version active}
    tags: [daily]
  - name: two
    cli: {command: utils ntp status}
    tags: [weekly]
  - name: three
    cli: {command: show version active}
    tags: always
  - name: four
    cli: {command: utils ntp status}
    tags: [never, debug]
"""
    book = _book(tmp_path, steps)
    inventory = _lab_inventory(tmp_path)

    def listed(*flags: str) -> list[str]:
        """`ops run --list-steps` through the command's own entry point, in this process (eight
        interpreter starts spared; the last two commands below run as a real `ops` process)."""
        from ops.cli import main

        code = main(["run", str(book), "-i", str(inventory), "--list-steps", *flags])
        out, err = capsys.readouterr()
        assert code == 0, err
        return [line.split("  (")[0].strip() for line in out.splitlines()[1:]]

    assert listed() == ["one", "two", "three"]
    assert listed("--tags", "daily") == ["one", "three"]
    assert listed("--tags", "debug") == ["three", "four"]
    assert listed("--skip-tags", "always,weekly") == ["one"]
    assert listed("--tags", "untagged") == ["three"]
    assert listed("--start-at-step", "two") == ["two", "three"]
    assert listed("--skip-tags", "all") == ["three"] and listed("--skip-tags", "all,always") == []
    bad = ops("run", str(book), "-i", str(inventory), "--start-at-step", "five", "--check", cwd=tmp_path)
    assert bad.returncode == 2 and "no step has that name" in bad.stderr
    result, report = _run_book(tmp_path, steps, "--tags", "weekly")
    assert [s["name"] for s in report["hosts"]["fin-a"]["steps"]] == ["two", "three"]


def test_extra_vars_win_and_satisfy_the_load_time_check(tmp_path: Path) -> None:
    (tmp_path / "more.yaml").write_text("days: 5\nnote: from-file\n")
    steps = "  - name: Logs of {{ days }} days ({{ note }}, {{ who }})\n    cli: {command: show version active}\n"
    book = _book(tmp_path, steps, header="vars: {days: 2, note: playbook}\n")
    inventory = _lab_inventory(tmp_path)
    missing = ops("run", str(book), "-i", str(inventory), "--check", cwd=tmp_path)
    assert missing.returncode == 2 and "undefined variable(s) who" in missing.stderr
    result = ops("run", str(book), "-i", str(inventory), "--check", "-e", "who=ops note=cli", "-e", "@more.yaml",
                 "-e", '{"note": "json"}', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "[Logs of 5 days (json, ops)]" in result.stdout
    bad = ops("run", str(book), "-i", str(inventory), "--check", "-e", "no-equals", cwd=tmp_path)
    assert bad.returncode == 2 and "use key=value" in bad.stderr


def test_group_names_and_hostvars(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("[finesse]\nfin-a ops_lab=true site=east\nfin-b ops_lab=true site=west\n"
                         "[emea:children]\nfinesse\n")
    book = _book(tmp_path, "  - name: \"{{ group_names | join('+') }} peer {{ hostvars['fin-b'].site }}\"\n"
                           "    cli: {command: show version active}\n")
    result = ops("run", str(book), "-i", str(inventory), "--check", "--limit", "fin-a", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "[emea+finesse peer west] would send" in result.stdout


def test_the_python_api(tmp_path: Path) -> None:
    from ops import api

    book = _book(tmp_path, "  - name: version {{ tag }}\n    cli: {command: show version active}\n    register: v\n")
    seen: list[object] = []
    result = api.run(book, _lab_inventory(tmp_path), extra_vars={"tag": "x"}, output=tmp_path / "out",
                     on_event=seen.append)
    assert result.ok and result.rc == 0 and result.run_dir.is_dir()
    assert result.report.hosts["fin-a"].steps[0].name == "version x"
    assert [type(e).__name__ for e in result.events][:2] == ["HostStarted", "StepStarted"] and seen == result.events
    with pytest.raises(api.InputError):
        api.run(book, _lab_inventory(tmp_path), output=tmp_path / "out")  # tag is undefined


def test_a_failed_loop_item_does_not_stop_the_other_items(tmp_path: Path) -> None:
    result, report = _run_book(tmp_path, """\
  - name: ask
    cli: {command: "{{ item }}"}
    loop: [show version active, show nosuchthing, utils ntp status]
    register: r
  - name: after
    cli: {command: show version active}
""")
    assert result.returncode == 1
    steps = report["hosts"]["fin-a"]["steps"]
    assert [s["status"] for s in steps] == ["ok", "failed", "ok"]  # every item ran; the host stopped after
    assert "1 of 3 items failed" in report["hosts"]["fin-a"]["error"]


def test_a_secret_with_json_special_characters_is_masked_in_report_json(tmp_path: Path) -> None:
    from ops.report import HostRecord, RunReport, StepRecord
    from ops.secrets import Secret

    value = 'Pa"ss\\w0rd-Rep'
    Secret(value, "test")
    report = RunReport(run_id="r", playbook="p", playbook_name="p", started="s")
    step = StepRecord("s", "cli", "failed", message="x", data={"output": f"echo {value}"})
    report.hosts["h"] = HostRecord(steps=[step])
    text = report.to_json()
    assert "w0rd-Rep" not in text and "********" in text
