"""Jinja2 as Ansible admins use it: native types, everyday filters and tests, `when:` in its three forms."""

from __future__ import annotations

from typing import Any

import pytest

from ops.templating import TemplateError, condition_names, describe, evaluate, references, render

CONTEXT: dict[str, Any] = {
    "days": 2, "text_days": "3", "dry": False, "name": " Finesse ", "path": "desktop/logs/webservices/x.log",
    "out": "Active Master Version: 12.5.1.10000-12\nInactive Master Version: 12.0.1",
    "logs": {"ok": True, "failed": False, "changed": True, "files_received": 4, "files": ["a.log", "b.log"]},
    "bad": {"ok": False, "failed": True, "changed": False},
    "hosts": [{"name": "a", "port": 22}, {"name": "b", "port": 2222}],
    "base": {"a": 1, "nested": {"x": 1, "y": 2}}, "extra": {"b": 2, "nested": {"y": 3}},
}


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ days }}", 2),
    ("{{ text_days | int }}", 3),
    ("{{ text_days | int + days }}", 5),
    ("{{ '2.5' | float }}", 2.5),
    ("{{ days | string }}", "2"),
    ("{{ logs.files | length }}", 2),
    ("{{ nope | default(7) }}", 7),
    ("{{ nope | d('x') }}", "x"),
    ("{{ nope.deeper.still | default('chained') }}", "chained"),
    ("{{ logs.missing | default(0) }}", 0),
    ("{{ '' | default('empty', true) }}", "empty"),
    ("{{ name | trim | lower }}", "finesse"),
    ("{{ name | trim | upper }}", "FINESSE"),
    ("{{ out | regex_search('Active Master Version: (\\\\S+)', '\\\\1') }}", ["12.5.1.10000-12"]),
    ("{{ out | regex_search('Active Master Version: (?P<v>\\\\S+)', '\\\\g<v>') | first }}", "12.5.1.10000-12"),
    ("{{ out | regex_search('absent') }}", None),
    ("{{ out | regex_search('inactive', ignorecase=true) }}", "Inactive"),
    ("{{ out | regex_findall('\\\\d+\\\\.\\\\d+') }}", ["12.5", "1.10000", "12.0"]),
    ("{{ 'a-b-c' | regex_replace('-', '_') }}", "a_b_c"),
    ("{{ 'desktop' | regex_replace('^(d)', '\\\\1D') }}", "dDesktop"),
    ("{{ 'a.b' | regex_escape }}", "a\\.b"),
    ("{{ logs.files | to_json }}", '["a.log", "b.log"]'),
    ("{{ '{\"a\": [1, 2]}' | from_json }}", {"a": [1, 2]}),
    ("{{ 'a: 1' | from_yaml }}", {"a": 1}),
    ("{{ {'a': 1} | to_yaml | trim }}", "a: 1"),
    ("{{ logs.files | join(',') }}", "a.log,b.log"),
    ("{{ logs.files | first }}", "a.log"),
    ("{{ logs.files | last }}", "b.log"),
    ("{{ [3, 1, 2] | min }}", 1),
    ("{{ [3, 1, 2] | max }}", 3),
    ("{{ [3, 1, 2] | sum }}", 6),
    ("{{ [1, 1, 2] | unique | list }}", [1, 2]),
    ("{{ hosts | map(attribute='name') | list }}", ["a", "b"]),
    ("{{ hosts | map(attribute='name') }}", ["a", "b"]),  # a generator becomes a list
    ("{{ hosts | selectattr('port', 'gt', 100) | map(attribute='name') | list }}", ["b"]),
    ("{{ [1, 2, 3, 4] | select('even') | list }}", [2, 4]),
    ("{{ [1, 2, 3, 4] | reject('even') | list }}", [1, 3]),
    ("{{ base | combine(extra) }}", {"a": 1, "b": 2, "nested": {"y": 3}}),
    ("{{ base | combine(extra, recursive=true) }}", {"a": 1, "b": 2, "nested": {"x": 1, "y": 3}}),
    ("{{ {'a': 1} | dict2items }}", [{"key": "a", "value": 1}]),
    ("{{ [{'key': 'a', 'value': 1}] | items2dict }}", {"a": 1}),
    ("{{ path | basename }}", "x.log"),
    ("{{ path | dirname }}", "desktop/logs/webservices"),
    ("{{ dry | ternary('dry run', 'for real') }}", "for real"),
    ("{{ days | mandatory }}", 2),
    ("{{ [[1, [2]], 3] | flatten }}", [1, 2, 3]),
    ("{{ [1, 2] | union([2, 3]) }}", [1, 2, 3]),
    ("{{ [1, 2] | intersect([2, 3]) }}", [2]),
    ("{{ [1, 2] | difference([2, 3]) }}", [1]),
    ("{{ 'a,b' | split(',') }}", ["a", "b"]),
    ("{{ 'admin' | b64encode | b64decode }}", "admin"),
    ("{{ days | type_debug }}", "int"),
    ("{{ ['a', 'b'] | zip([1, 2]) }}", [["a", 1], ["b", 2]]),
    ("{{ 'x' in logs.files }}", False),
    ("{{ 'a.log' in logs.files }}", True),
    ("{{ range(3) | list }}", [0, 1, 2]),
    ("{{ {'x': days} }}", {"x": 2}),
    ("{% if dry %}dry{% else %}{{ days }}{% endif %}", 2),
    ("{{ 2 }}", 2),
    ("{{ none }}", None),
])
def test_everyday_filters(template: str, expected: Any) -> None:
    assert render(template, CONTEXT) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("yes", True), ("Yes", True), ("true", True), ("on", True), ("1", True), (1, True), (True, True), ("y", True),
    ("no", False), ("false", False), ("off", False), ("0", False), (0, False), (None, False), ("", False),
])
def test_bool_has_ansibles_meaning(value: Any, expected: bool) -> None:
    assert render("{{ v | bool }}", {"v": value}) is expected


def test_bool_refuses_what_is_not_a_boolean() -> None:
    with pytest.raises(TemplateError, match="cannot read 'maybe' as a boolean"):
        render("{{ v | bool }}", {"v": "maybe"})


@pytest.mark.parametrize(("condition", "expected"), [
    ("logs.files_received > 0 and not dry", True),
    ("nope is defined", False),
    ("nope is undefined", True),
    ("logs.files is defined and logs.files | length == 2", True),
    ("'a.log' in logs.files", True),
    ("'z.log' not in logs.files", True),
    ("out is search('Master Version: 12\\\\.5')", True),
    ("out is match('Inactive')", False),
    ("out is match('Active')", True),
    ("out is regex('^Inactive', multiline=true)", True),
    ("'12.5.1' is version('12.5', '>=')", True),
    ("'12.0.1' is version('12.5', 'lt')", True),
    ("'12.5' is version('12.5.0', '==')", False),
    ("logs is succeeded and logs is changed", True),
    ("bad is failed and bad is not changed", True),
    ("logs is not skipped", True),
    ("text_days | int > days", True),
    ("days is truthy", True),
    ("out | regex_search('Master')", True),
    ("[1, 2] is contains(2)", True),
    ("[1] is subset([1, 2])", True),
])
def test_conditions_use_ansibles_tests(condition: str, expected: bool) -> None:
    assert evaluate(condition, CONTEXT) is expected


def test_when_is_a_string_a_boolean_or_a_list_that_must_all_hold() -> None:
    assert evaluate(True, {}) is True and evaluate(False, {}) is False
    assert evaluate(["days == 2", "not dry"], CONTEXT) is True
    assert evaluate(["days == 2", "dry", "nope > 1"], CONTEXT) is False  # stops at the first false one
    assert evaluate([], CONTEXT) is True
    assert condition_names(["days == 2", "later.ok", True]) == {"days", "later"}
    with pytest.raises(TemplateError, match="undefined variable 'nope'"):
        evaluate(["days == 2", "nope > 1"], CONTEXT)
    assert describe(["days == 2", "not dry"]) == "(days == 2) and (not dry)"
    assert describe("x") == "x" and describe(True) == "true"


def test_a_string_that_reads_as_a_boolean_means_that_boolean_in_when() -> None:
    """`-e restart=false` gives the text "false": a restart guarded by `when: restart` must not run."""
    for text, expected in (("false", False), ("no", False), ("0", False), ("True", True), ("yes", True)):
        assert evaluate("restart", {"restart": text}) is expected
    assert evaluate("restart", {"restart": "something"}) is True  # other text: not empty


def test_braces_in_when() -> None:
    """Ansible warns about `when: "{{ x }}"`: here the whole-expression form is taken as the expression,
    and templates inside a larger expression are refused (Ansible would evaluate them twice)."""
    assert evaluate("{{ days == 2 }}", CONTEXT) is True
    assert condition_names("{{ dry }}") == {"dry"}
    with pytest.raises(TemplateError, match="write it without"):
        condition_names("{{ days }} == 2")


def test_names_behind_default_or_is_defined_are_not_required() -> None:
    assert references("{{ a | default(b) }}") == {"b"}
    assert references("{{ a.b.c | d(1) }}") == set()
    assert references("{% set x = 1 %}{{ x }}{{ y }}") == {"y"}
    assert references("{% for f in files %}{{ f }}{{ loop.index }}{% endfor %}") == {"files"}
    assert references("{{ range(3) | list }}") == set()
    assert condition_names("x is defined and x > 1") == set()
    assert condition_names("x | default(0) > y") == {"y"}
    assert references("plain text, no template") == set()


def test_unknown_filters_and_tests_are_found_without_rendering() -> None:
    with pytest.raises(TemplateError, match="No filter named 'nosuch'"):
        references("{{ x | nosuch }}")
    with pytest.raises(TemplateError, match="No test named 'nosuch'"):
        condition_names("x is nosuch")


def test_text_keeps_todays_writing() -> None:
    assert render("days={{ days }} dry={{ dry }} none={{ none }}", CONTEXT) == "days=2 dry=false none=None"
    assert render("{{ days }}\n", CONTEXT) == "2\n"  # a YAML block scalar's newline is kept
    assert render("no template {here}", CONTEXT) == "no template {here}"
    assert render({"k": ["{{ days }}", 1, None]}, CONTEXT) == {"k": [2, 1, None]}


def test_errors_are_one_line_and_name_the_template() -> None:
    with pytest.raises(TemplateError) as info:
        render("show {{ logs.nothing_here }}\nsecond line", CONTEXT)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith("template 'show {{ logs.nothing_here }} second line': ")
    assert "has no attribute 'nothing_here'" in message
    with pytest.raises(TemplateError, match=r"^condition 'days \+': syntax error"):
        evaluate("days + ", CONTEXT)
    with pytest.raises(TemplateError, match="TypeError: unsupported operand"):
        render("{{ days + 'x' }}", CONTEXT)
    with pytest.raises(TemplateError, match=r"line 2 of the template"):
        references("first {{ a }}\nsecond {{ b | }}")
