"""Playbook patterns: flags, positions, errors and the timeout's message (found by bench/mutation.py)."""

from __future__ import annotations

import re

import pytest

from ops.patterns import PatternTimeout, compile_pattern, search


def test_flags_and_start_position_are_honoured() -> None:
    assert search(compile_pattern("desktop"), "DESKTOP") is None
    assert search(compile_pattern("desktop", re.I), "DESKTOP").group() == "DESKTOP"
    compiled = compile_pattern(r"\d+")
    assert search(compiled, "12 ab 345").group() == "12"
    assert search(compiled, "12 ab 345", 2).group() == "345"
    assert search(compiled, "12 ab 345", pos=8).group() == "5"


def test_python_re_syntax() -> None:
    """VERSION0: `regex` behaves as Python's `re` (a VERSION1 set operation would change `[[a]--b]`)."""
    compiled = compile_pattern(r"[a-z--q]+")
    assert search(compiled, "--").group() == "--"


def test_a_bad_pattern_is_a_value_error_naming_the_problem() -> None:
    with pytest.raises(ValueError) as info:
        compile_pattern("(unclosed")
    assert type(info.value) is ValueError and "missing )" in str(info.value)


def test_the_timeout_names_what_and_the_pattern_and_the_text_length() -> None:
    pattern = "(a|aa)+$" + "x?" * 50
    with pytest.raises(PatternTimeout) as info:
        search(compile_pattern(pattern), "a" * 40 + "!", what="fail_when")
    assert str(info.value) == (f"fail_when {pattern[:80]!r} took over 0.25s on 41 characters "
                               "(a pattern that backtracks without end?); refused")
    with pytest.raises(PatternTimeout, match=r"^pattern '\(a\|aa\)\+\$' took over"):
        search(compile_pattern("(a|aa)+$"), "a" * 40 + "!")
