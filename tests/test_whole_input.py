"""A name or word from outside is checked whole, and an error about it is shown as data.

Python's `$` also matches before a final newline, so `re.match(r"^[a-z]+$", "fin1\\n")` succeeds:
a host named "fin1\\n", a `register: "out\\n"` or a TAC case "694123456\\n" passed the checks meant to
keep names to letters and digits (found by hand: each was accepted). Every check of a whole value is
now a fullmatch, and a static scan keeps it so. The same hand test showed a second defect: the error
for a bad key printed the key raw, escape sequences and all, on the admin's terminal.
"""

from __future__ import annotations

import ast
import importlib
import io
import pkgutil
import re
from collections.abc import Callable
from contextlib import redirect_stderr
from pathlib import Path

import pytest

import ops
from ops.yamlsource import InputError

REPO = Path(__file__).resolve().parent.parent
HOST = "    address: 127.0.0.1\n    username: admin\n    password: env:OPS_TEST_PW\n"


def _inventory(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _playbook(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "playbook.yaml"
    path.write_text("name: t\nhosts: all\n" + text, encoding="utf-8")
    return path


STEP = '  - name: s\n    cli: {command: "show version active"}\n'

# (what, inventory text or None, playbook text or None, the problem's words)
CASES = [
    ("a host name", 'hosts:\n  "fin1\\n":\n' + HOST, None, "host names use letters"),
    ("a pinned host key", "hosts:\n  fin1:\n" + HOST + '    host_key: "SHA256:' + "A" * 43 + '\\n"\n', None,
     "host_key is 'strict', 'accept-new' or a pinned"),
    ("a register name", None, "steps:\n" + STEP + '    register: "out\\n"\n', "register takes a variable name"),
    ("a tag", None, "steps:\n" + STEP + '    tags: ["daily\\n"]\n', "tags is a word or a list of words"),
    ("a variable name", None, 'vars:\n  "site\\n": 1\nsteps:\n' + STEP, "variable names are letters"),
    ("a save_as name", None, 'steps:\n  - name: s\n    network_status: {save_as: "desk\\n"}\n',
     "save_as is a file name part"),
]


@pytest.mark.parametrize("what, inventory, playbook, words", CASES, ids=[c[0] for c in CASES])
def test_a_name_with_a_final_line_break_is_refused(tmp_path: Path, what: str, inventory: str | None,
                                                    playbook: str | None, words: str) -> None:
    from ops.inventory import load_inventory
    from ops.playbook import load_playbook

    with pytest.raises(InputError) as info:
        if inventory is not None:
            load_inventory(_inventory(tmp_path, inventory))
        else:
            load_playbook(_playbook(tmp_path, playbook or ""))
    text = str(info.value)
    assert words in text
    assert "\n" not in text.strip("\n"), "one problem, one line: the key's line break is shown as an escape"


def test_the_same_names_without_the_line_break_are_taken(tmp_path: Path) -> None:
    """The cases above differ from good input by the final line break only."""
    from ops.inventory import load_inventory
    from ops.playbook import load_playbook

    for _what, inventory, playbook, _words in CASES:
        if inventory is not None:
            load_inventory(_inventory(tmp_path, inventory.replace("\\n", "")))
        else:
            load_playbook(_playbook(tmp_path, (playbook or "").replace("\\n", "")))


def _other_checks() -> list[tuple[str, Callable[[str], object], str]]:
    from ops.cli import _extra_vars
    from ops.receiver import Receiver
    from ops.upload import UploadError, upload

    def receiver_account(name: str) -> object:
        return Receiver(Path("/nonexistent-root")).add_account(name)

    def tac_case(case: str) -> object:
        try:
            return upload(Path("/nonexistent.tar.gz"), case, None)  # type: ignore[arg-type]
        except UploadError as exc:
            raise ValueError(str(exc)) from exc

    return [("-e NAME=VALUE", lambda name: _extra_vars([f"{name}=1"]), "site"),
            ("a receiver account", receiver_account, "fin1"),
            ("a TAC case number", tac_case, "694123456")]


@pytest.mark.parametrize("index", range(3), ids=["extra-vars", "receiver-account", "tac-case"])
def test_flags_and_api_names_with_a_final_line_break_are_refused(index: int) -> None:
    from ops.receiver.server import ReceiverError

    what, check, good = _other_checks()[index]
    with pytest.raises((ValueError, ReceiverError)):
        check(good + "\n")


def test_an_error_about_a_key_shows_its_escape_sequences_as_text(tmp_path: Path) -> None:
    """Through the `ops` command: what reaches the terminal holds no ESC, BEL or raw line break."""
    from ops.cli import main

    inventory = _inventory(tmp_path, 'hosts:\n  "fin1\\e]0;owned\\a\\e[2J":\n' + HOST)
    err = io.StringIO()
    with redirect_stderr(err):
        code = main(["run", str(REPO / "playbooks" / "pull-desktop-logs.yaml"), "-i", str(inventory)])
    assert code != 0
    shown = err.getvalue()
    assert "host names use letters" in shown
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f]", shown), repr(shown)
    assert "fin1\\x1b]0;owned\\x07\\x1b[2J" in shown


def _compiled_patterns(module: object) -> dict[str, re.Pattern[str]]:
    return {name: value for name, value in vars(module).items()
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str)}


# Searched on purpose with `$`: a pager's prompt followed by a line break is still a pager
# (tests/test_mutants_channel.py::test_a_pager_prompt_followed_by_a_line_break_is_still_answered).
DELIBERATE = {"PAGER_RE"}


def test_no_check_matches_a_pattern_that_ends_in_dollar_without_fullmatch() -> None:
    """Every module-level pattern ending in `$` (no MULTILINE) is used with fullmatch, never with
    match or search, where `$` would let a final line break through."""
    offenders = []
    for info in pkgutil.walk_packages(ops.__path__, "ops."):
        if info.name.startswith("ops.lab.ptylogin"):
            continue
        module = importlib.import_module(info.name)
        patterns = {name for name, p in _compiled_patterns(module).items()
                    if re.search(r"(?<!\\)\$\)?$", p.pattern) and not p.flags & re.M and name not in DELIBERATE}
        if not patterns or module.__file__ is None:
            continue
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr in ("match", "search")
                    and isinstance(node.value, ast.Name) and node.value.id in patterns):
                offenders.append(f"{info.name}:{node.lineno} {node.value.id}.{node.attr}")
    assert offenders == []


def test_a_temporary_upload_name_is_one_whole_name() -> None:
    """The receiver hides and never commits its temporary names; a client's name that only looks
    like one up to a final line break is a name like any other (and the bundle keeps such a file)."""
    from ops.bundle import _excluded_reason
    from ops.receiver.uploads import is_temp_name

    assert is_temp_name(".x.log.part-0123456789ab")
    assert not is_temp_name(".x.log.part-0123456789ab\n")
    assert _excluded_reason(Path("logs/x.log.part-0a"), "logs/x.log.part-0a") is not None
    assert _excluded_reason(Path("logs/x.log.part-0a\n"), "logs/x.log.part-0a\n") is None


def test_one_line_text_shows_the_unicode_line_separators_as_escapes() -> None:
    from ops.textsafe import inert_line

    assert inert_line("a\u2028b\u2029c\nd") == "a\\u2028b\\u2029c\\nd"


@pytest.mark.parametrize("what", ["tac-case", "abstime", "every", "since"])
def test_digits_are_ascii_digits(what: str) -> None:
    """`\\d` in Python matches any Unicode digit: a TAC case of Arabic-Indic digits was taken whole
    (and put into an upload's URL), `--every ٥m` and `--since ٣٠d` too. Digits here are 0-9."""
    import argparse

    from ops.actions.activelog import _abstime
    from ops.reportflags import parse_since
    from ops.schedule import ScheduleError, parse_every
    from ops.upload import CASE_RE

    if what == "tac-case":
        arabic_indic = "".join(chr(0x660 + int(d)) for d in "694123456")
        assert CASE_RE.fullmatch("694123456") and not CASE_RE.fullmatch(arabic_indic)
    elif what == "abstime":
        with pytest.raises(ValueError, match="is not a time: use hh:mm:MM/DD/YY"):
            _abstime("\u0661\u0668:00:10/20/13")
    elif what == "every":
        assert parse_every("5m").seconds == 300
        with pytest.raises(ScheduleError, match="use minutes, hours or a day"):
            parse_every("\u0665m")
    else:
        assert parse_since("30d").days == 30
        with pytest.raises(argparse.ArgumentTypeError):
            parse_since("\u0663\u0660d")


@pytest.mark.parametrize("flag", ["--list-hosts", "--list-steps", "validate"])
def test_a_playbook_name_holding_escape_sequences_reaches_the_terminal_as_text(tmp_path: Path, flag: str) -> None:
    """`PLAY [name]`, `play [name]` and `<file>: ok` printed a playbook's name (or its path) raw: an
    OSC window title and a screen clear went to the admin's terminal as found by hand."""
    from contextlib import redirect_stdout

    from ops.cli import main

    path = tmp_path / "pb\x1b[1m.yaml"
    path.write_text('name: "pull\\e]0;owned\\a\\e[2J"\nhosts: all\nsteps:\n  - name: "v\\e[31m"\n'
                    '    cli: {command: "show version active"}\n', encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    argv = (["validate", str(path), "-i", str(REPO / "inventory.yaml")] if flag == "validate"
            else ["run", str(path), "-i", str(REPO / "inventory.yaml"), flag])
    with redirect_stdout(out), redirect_stderr(err):
        assert main(argv) == 0, err.getvalue()
    shown = out.getvalue() + err.getvalue()
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f]", shown), repr(shown)
    assert ("pull\\x1b]0;owned\\x07\\x1b[2J" if flag != "validate" else "pb\\x1b[1m.yaml") in shown


def test_every_print_of_the_toolkit_goes_through_inert() -> None:
    """A static guard for the class: outside the lab, what `print` writes is a constant or passed
    through ops.textsafe.inert / inert_line (which keep text that has no control characters as is)."""
    safe = {"inert", "inert_line"}
    offenders = []
    for path in sorted((REPO / "ops").rglob("*.py")):
        if "lab" in path.relative_to(REPO).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
                    and node.args):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant):
                continue
            if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name) and arg.func.id in safe:
                continue
            offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []
