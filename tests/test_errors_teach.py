"""Issue "At home for an Ansible admin", item 5: errors that teach (did you mean, the keys allowed there,
the right form for a wrong type, a column for YAML syntax errors), and never show a value that may be secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.inventory import load_inventory
from ops.yamlsource import InputError


def _problems(tmp_path: Path, text: str) -> str:
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    return str(caught.value)


def test_a_typo_gets_did_you_mean_and_the_keys_allowed_there(tmp_path: Path) -> None:
    text = _problems(tmp_path, "hosts:\n  fin-a: {adress: 10.1.1.10, password: env:X}\n")
    assert ":2: hosts.fin-a.adress: unknown key; did you mean 'address'?" in text
    assert "keys here: address, connect_timeout," in text
    text = _problems(tmp_path, "hosts:\n  fin-a: {address: 10.1.1.10, password: env:X, rest: {prot: 9445}}\n")
    assert "did you mean 'port'?" in text and "gws_port" in text  # the keys of rest:, not of the host
    text = _problems(tmp_path, "recever: {port: 2222}\nhosts: {}\n")
    assert "did you mean 'receiver'?" in text


def test_a_wrong_type_shows_the_right_form_and_not_the_value(tmp_path: Path) -> None:
    text = _problems(tmp_path, "hosts:\n  fin-a: {address: 10.1.1.10, password: env:X, port: twenty-two}\n")
    assert "port: expected a whole number, e.g. 7; got text" in text and "twenty-two" not in text
    text = _problems(tmp_path, "hosts:\n  fin-a: {address: 10.1.1.10, password: 123456789}\n")
    assert "123456789" not in text


def test_a_yaml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    text = _problems(tmp_path, "hosts:\n  fin-a: {address: 10.1.1.10, password: env:X\n  fin-b: {}\n")
    assert text.startswith(f"{path}:3:") and "invalid YAML" in text
    line, column = text[len(str(path)) + 1:].split(":")[:2]
    assert line == "3" and column.isdigit()


def test_a_misspelt_action_or_argument_gets_did_you_mean(tmp_path: Path) -> None:
    from ops.playbook import load_playbook

    book = tmp_path / "book.yaml"
    book.write_text("name: t\nhosts: all\nsteps:\n  - name: a\n    activelgo: {path: desktop/logs/*}\n")
    with pytest.raises(InputError) as caught:
        load_playbook(book)
    assert f"{book}:5: steps[0].activelgo: unknown action or key; did you mean 'activelog'?" in str(caught.value)
    book.write_text("name: t\nhosts: all\nsteps:\n  - name: a\n    activelog: {path: desktop/logs/*, recurse: true}\n")
    with pytest.raises(InputError) as caught:
        load_playbook(book)
    text = str(caught.value)
    assert "steps[0].activelog.recurse: unknown key; did you mean 'recurs'?" in text and "keys here:" in text
    book.write_text("name: t\nhosts: all\nsteps:\n  - name: a\n    activelog: {path: x/*, reltime: 2}\n")
    with pytest.raises(InputError) as caught:
        load_playbook(book)
    expected = "reltime: expected a mapping, e.g. {key: value}; got a whole number (e.g. reltime: {days: 2})"
    assert expected in str(caught.value)
