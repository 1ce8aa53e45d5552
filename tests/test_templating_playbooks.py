"""Jinja2 in playbooks: checked at load time with file:line, and run against a lab with Ansible's habits."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.cli import main
from ops.inventory import load_inventory
from ops.playbook import load_playbook
from ops.runner import RunOptions, run_playbook
from ops.yamlsource import InputError
from tests.helpers import REPO, run

INVENTORY = REPO / "tests" / "bad_inputs" / "_good_inventory.yaml"
HEADER = "name: t\nhosts: finesse\nvars: {days: 2, text_days: '3'}\nsteps:\n"


def problems(tmp_path: Path, steps: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("OPS_TEST_PW", "x-not-used-x")
    book = tmp_path / "book.yaml"
    book.write_text(HEADER + steps)
    try:
        load_playbook(book, load_inventory(INVENTORY))
    except InputError as exc:
        return [str(p).replace(str(book), "book") for p in exc.problems]
    return []


def test_ansible_forms_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert problems(tmp_path, """\
  - name: logs of the last {{ text_days | int }} days
    activelog: {path: desktop/logs/*, reltime: {days: "{{ text_days | int }}"}}
    register: logs
  - name: version
    cli: {command: "show version {{ which | default('active') }}"}
    when:
      - logs is succeeded
      - logs.files_received | default(0) > 0
      - optional is not defined or optional | bool
    register: version
  - name: only on 12.5
    cli: {command: show status}
    when: version.output | default('') is search('12\\\\.5')
""", monkeypatch) == []


def test_undefined_names_are_found_at_load_time_with_their_line(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert problems(tmp_path, """\
  - name: a
    when:
      - days > 1
      - later.ok
    cli: {command: "show {{ nope | upper }}"}
  - name: b
    cli: {command: show version active}
    register: later
""", monkeypatch) == ["book:9: steps[0].cli.command: undefined variable(s) nope for host node1",
                      "book:8: steps[0].when[1]: undefined variable(s) later for host node1"]


def test_template_syntax_and_when_shape_are_checked_at_load_time(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    found = sorted(problems(tmp_path, """\
  - name: a {{ days | }}
    when: days >
    cli: {command: "show {% if days %}x"}
  - name: b
    when: {days: 1}
    cli: {command: show x}
  - name: c
    when: "{{ days }} > 1"
    cli: {command: show x}
""", monkeypatch))
    expected = [  # each problem starts so (Jinja lists the tags it expected in no fixed order)
        "book:12: steps[2].when: condition '{{ days }} > 1': when: is an expression already; write it without {{ }}"
        " (e.g. `x > 0`, not `{{ x }} > 0`)",
        "book:5: steps[0].name: template 'a {{ days | }}': syntax error: expected token 'name', got 'end of print "
        "statement'",
        "book:6: steps[0].when: condition 'days >': syntax error: unexpected 'end of template'",
        "book:7: steps[0].cli.command: template 'show {% if days %}x': syntax error: Unexpected end of template.",
        "book:9: steps[1].when: when is a condition (a string), true/false, or a list of conditions that must all "
        "hold"]
    assert len(found) == len(expected) and all(f.startswith(e) for f, e in zip(found, expected, strict=True)), found


def test_injection_in_a_playbook_is_refused_by_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_TEST_PW", "x-not-used-x")
    book = tmp_path / "book.yaml"
    book.write_text(HEADER + "  - name: a\n"
                    "    cli: {command: \"show {{ ''.__class__.__mro__[1].__subclasses__() }}\"}\n")
    assert main(["validate", str(book), "-i", str(INVENTORY)]) == 2
    err = capsys.readouterr().err
    assert f"{book}:6: steps[0].cli: template " in err and "refused by the sandbox" in err
    assert "Traceback" not in err


def test_the_shipped_playbooks_validate(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINESSE_UI_PASSWORD", "Not-Used-1234")
    for book in sorted((REPO / "playbooks").glob("*.yaml")):
        assert main(["validate", str(book), "-i", str(REPO / "inventory.yaml")]) == 0, capsys.readouterr().err


def test_list_when_default_and_result_tests_on_a_lab(tmp_path: Path) -> None:
    inventory_path = tmp_path / "inventory.yaml"
    inventory_path.write_text("groups: {finesse: {hosts: [node]}}\n"
                              "hosts:\n  node: {lab: true, vars: {restart: 'no'}}\n")
    book = tmp_path / "book.yaml"
    book.write_text("""name: t
hosts: finesse
steps:
  - name: bogus
    cli: {command: show nonsense here}
    ignore_errors: true
    register: bogus
  - name: version {{ flavour | default('active') }}
    when: [bogus is failed, bogus is not changed, "'Executed command unsuccessfully' in bogus.message"]
    cli: {command: "show version {{ flavour | default('active') }}"}
    register: version
  - name: skipped by a list
    when: [version is succeeded, "version.output is search('no such text')"]
    cli: {command: show version active}
  - name: skipped by a text boolean
    when: restart
    cli: {command: show version active}
""")
    inventory = load_inventory(inventory_path)
    report = run(run_playbook(load_playbook(book, inventory), inventory, RunOptions(output=tmp_path / "out")))
    record = report.hosts["node"]
    assert [(s.name, s.status) for s in record.steps] == [
        ("bogus", "ignored"), ("version active", "ok"), ("skipped by a list", "skipped"),
        ("skipped by a text boolean", "skipped")], [s.message for s in record.steps]
    assert "Active Master Version" in record.steps[1].data["output"]
    assert record.status == "ok"
