"""The YAML loader's limits, lines and messages at their edges (found by bench/mutation.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, field_validator

from ops import yamlsource
from ops.yamlsource import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, Document, InputError, Problem, dotted, load, validate


def _problems(path: Path, what: str = "playbook") -> list[str]:
    with pytest.raises(InputError) as info:
        load(path, what)
    return [str(p) for p in info.value.problems]


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "doc.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_problem_and_error_rendering() -> None:
    assert str(Problem("f.yaml", 3, "steps[0].cli", "unknown key")) == "f.yaml:3: steps[0].cli: unknown key"
    assert str(Problem("f.yaml", None, "", "not found")) == "f.yaml: not found"
    assert str(Problem("f.yaml", 0, "k", "m")) == "f.yaml: k: m"
    error = InputError([Problem("a", 1, "", "x"), Problem("b", 2, "k", "y")])
    assert str(error) == "a:1: x\nb:2: k: y"
    assert dotted(["steps", 0, "cli", "prompts", 2, "expect"]) == "steps[0].cli.prompts[2].expect"
    assert dotted([0, "a"]) == "[0].a" and dotted([]) == ""


def test_lines_of_keys_items_and_the_nearest_known_parent(tmp_path: Path) -> None:
    doc = load(_write(tmp_path, "\n\nname: t\nsteps:\n  - name: a\n    cli: {command: x}\n  - name: b\n"), "playbook")
    assert doc.data == {"name": "t", "steps": [{"name": "a", "cli": {"command": "x"}}, {"name": "b"}]}
    assert doc.line(["name"]) == 3 and doc.line(["steps"]) == 4
    assert doc.line(["steps", 0]) == 5 and doc.line(["steps", 1, "name"]) == 7
    assert doc.line(["steps", 0, "cli", "command"]) == 6
    assert doc.line(["steps", 1, "nothing", "deeper"]) == 7  # the nearest parent that is in the file
    assert doc.line([]) == 3  # the document itself starts at its first node
    assert Document(Path("x"), None, {}).line(["a"]) == 1
    problem = doc.problem(["steps", 1, "cli"], "required key is missing")
    assert problem == Problem(str(tmp_path / "doc.yaml"), 7, "steps[1].cli", "required key is missing")


def test_an_alias_is_walked_once_and_keeps_its_own_line(tmp_path: Path) -> None:
    doc = load(_write(tmp_path, "a: &x\n  k: 1\nb: *x\nc:\n  - *x\n"), "playbook")
    assert doc.data == {"a": {"k": 1}, "b": {"k": 1}, "c": [{"k": 1}]}
    assert doc.line(["a", "k"]) == 2 and doc.line(["b"]) == 3 and doc.line(["c"]) == 4
    # The aliased node is not walked again below b or c: their keys fall back to the alias's own place.
    assert ("b", "k") not in doc.lines and doc.line(["b", "k"]) == 3
    assert doc.lines[("c", 0)] == doc.lines[("a",)] and ("c", 0, "k") not in doc.lines


def test_duplicate_keys_name_both_lines(tmp_path: Path) -> None:
    problems = _problems(_write(tmp_path, "name: t\nhosts: x\nname: u\n"))
    # line:column of the second key, and the line of the first.
    assert problems == [f"{tmp_path / 'doc.yaml'}:3:1: invalid YAML: duplicate key 'name' (first at line 1)"], problems
    nested = _problems(_write(tmp_path, "a:\n  b: 1\n  c: 2\n  b: 3\n"))
    assert any(":4:3: " in p and "duplicate key 'b' (first at line 2)" in p for p in nested), nested


def _nested(levels: int) -> str:
    return "x: " + "[" * levels + "]" * levels + "\n"


def test_depth_limit_is_exact(tmp_path: Path) -> None:
    # The root mapping is depth 0 and its value depth 1: MAX_DEPTH levels in all are allowed.
    load(_write(tmp_path, _nested(MAX_DEPTH)), "playbook")
    problems = _problems(_write(tmp_path, _nested(MAX_DEPTH + 1)))
    assert problems == [f"{tmp_path / 'doc.yaml'}:1: invalid YAML: nested more than {MAX_DEPTH} levels deep"]


def test_node_limit_is_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsource, "MAX_NODES", 10)
    # A mapping counts 1, each key 1 and each value its nodes: {a: [1, 2, 3]} is 1 + 1 + 4 = 6.
    load(_write(tmp_path, "a: [1, 2, 3]\nb: [1]\n"), "playbook")  # 1 + (1 + 4) + (1 + 2) = 9
    load(_write(tmp_path, "a: [1, 2, 3]\nb: [1, 2]\n"), "playbook")  # 10: the limit itself
    problems = _problems(_write(tmp_path, "a: [1, 2, 3]\nb: [1, 2, 3]\n"))  # 11
    assert problems == [f"{tmp_path / 'doc.yaml'}:1: invalid YAML: expands to more than 10 values "
                        "(aliases nested in aliases)"]
    assert MAX_NODES == 1_000_000  # 50,000 hosts of a few keys each fit; nested aliases do not


def test_a_recursive_alias_and_a_complex_key_name_their_lines(tmp_path: Path) -> None:
    problems = _problems(_write(tmp_path, "name: t\nvars: &a\n  x: *a\n"))
    assert problems == [f"{tmp_path / 'doc.yaml'}:2: invalid YAML: an alias refers to a node that contains it"]
    problems = _problems(_write(tmp_path, "name: t\nvars:\n  ? [a, b]\n  : 1\n"))
    assert problems == [f"{tmp_path / 'doc.yaml'}:3: invalid YAML: a mapping key must be a plain value, "
                        "not a list or mapping"]


def test_file_level_problems(tmp_path: Path) -> None:
    assert _problems(tmp_path / "none.yaml", "inventory") == [f"{tmp_path / 'none.yaml'}: inventory not found"]
    assert _problems(tmp_path, "inventory") == [f"{tmp_path}: inventory is not a regular file"]
    latin = _problems(_write(tmp_path, b"name: caf\xe9\n"))
    assert latin == [f"{tmp_path / 'doc.yaml'}: playbook is not UTF-8 text (invalid continuation byte)"]
    exact = _write(tmp_path, b"#" * MAX_FILE_BYTES)
    assert load(exact, "playbook").data is None  # the limit itself is allowed; an empty document is None
    big = _write(tmp_path, b"#" * (MAX_FILE_BYTES + 1))
    assert _problems(big) == [f"{big}: playbook is {MAX_FILE_BYTES + 1} bytes; the limit is {MAX_FILE_BYTES}"]


def test_a_file_that_grows_while_read_is_still_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, b"#" * (MAX_FILE_BYTES + 10))
    real_stat = Path.stat

    def small_stat(self: Path, **kw: Any) -> Any:
        st = real_stat(self, **kw)
        if self == path:
            import os

            return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, 10,
                                   st.st_atime, st.st_mtime, st.st_ctime))
        return st

    monkeypatch.setattr(Path, "stat", small_stat)
    assert _problems(path) == [f"{path}: playbook is over {MAX_FILE_BYTES} bytes"]


def test_syntax_errors_name_the_line(tmp_path: Path) -> None:
    problems = _problems(_write(tmp_path, "name: t\nsteps: [a\nb: c\n"))
    assert len(problems) == 1 and problems[0].startswith(f"{tmp_path / 'doc.yaml'}:")
    assert "invalid YAML: " in problems[0]
    problems = _problems(_write(tmp_path, "a: 1\n  b: 2\n"))
    assert problems == [f"{tmp_path / 'doc.yaml'}:2:4: invalid YAML: mapping values are not allowed here"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    count: int = 0
    items: list[int] = []

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if value == "bad":
            raise ValueError("names may not be bad")
        return value


def test_validation_problems_are_placed_and_worded(tmp_path: Path) -> None:
    doc = load(_write(tmp_path, "count: 1\nextra: 2\nitems:\n  - 1\n  - x\n"), "playbook")
    with pytest.raises(InputError) as info:
        validate(doc, _Model)
    rendered = sorted(str(p) for p in info.value.problems)
    where = tmp_path / "doc.yaml"
    assert f"{where}:2: extra: unknown key (keys here: count, items, name)" in rendered
    assert f"{where}:1: name: required key is missing" in rendered
    assert any(r.startswith(f"{where}:5: items[1]: ") for r in rendered), rendered
    bad = load(_write(tmp_path, "name: bad\n"), "playbook")
    with pytest.raises(InputError) as info:
        validate(bad, _Model)
    assert [str(p) for p in info.value.problems] == [f"{where}:1: name: names may not be bad"]
    assert validate(load(_write(tmp_path, "name: ok\n"), "playbook"), _Model).name == "ok"


def test_reader_errors_recursion_and_unreadable_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    where = tmp_path / "doc.yaml"
    control = _problems(_write(tmp_path, "name: \x07\n"))
    assert len(control) == 1 and control[0].startswith(f"{where}: invalid YAML: unacceptable character #x0007")
    deep = _problems(_write(tmp_path, "x: " + "[" * 5000 + "]" * 5000 + "\n"))
    assert deep == [f"{where}: invalid YAML: nested too deeply"]
    real_open = Path.open

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == where:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    assert _problems(where, "inventory") == [f"{where}: cannot read inventory: Permission denied"]


class _Sub(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int


class _Union(BaseModel):
    opt: bool | _Sub


def test_a_union_members_name_is_not_a_key(tmp_path: Path) -> None:
    """pydantic names the member it tried (`_Sub`) between keys: the problem is placed at opt.k."""
    doc = load(_write(tmp_path, "opt:\n  k: many\n"), "playbook")
    with pytest.raises(InputError) as info:
        validate(doc, _Union)
    rendered = sorted(str(p) for p in info.value.problems)
    where = tmp_path / "doc.yaml"
    assert any(r.startswith(f"{where}:2: opt.k: ") and "expected a whole number" in r for r in rendered), rendered
    assert any(r.startswith(f"{where}:1: opt.bool: ") for r in rendered), rendered
