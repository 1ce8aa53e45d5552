"""Regular expressions that come from playbooks, run with a time bound.

A pattern from a playbook (`match:`, `failed_when`/`fail_when`, a `cli` step's `prompts`) runs
on the event loop against text an appliance sent; a catastrophic one (`(a|aa)+$`) would freeze
every host's session for as long as it backtracks. These run on the `regex` engine, whose
searches take a timeout: past `TIMEOUT` a search fails with PatternTimeout naming the pattern.
"""

from __future__ import annotations

from typing import Any

import regex

__all__ = ["PatternTimeout", "TIMEOUT", "compile_pattern", "search"]

TIMEOUT = 0.25  # seconds a single search may take


class PatternTimeout(ValueError):
    """A playbook's pattern took longer than TIMEOUT on one text."""


def compile_pattern(pattern: str, flags: int = 0) -> Any:
    """`pattern` compiled with Python's `re` syntax; ValueError naming the problem when it is bad."""
    try:
        return regex.compile(pattern, flags | regex.VERSION0)
    except regex.error as exc:
        raise ValueError(str(exc)) from None


def search(compiled: Any, text: str, pos: int = 0, *, what: str = "pattern") -> Any:
    """compiled.search(text, pos), bounded by TIMEOUT."""
    try:
        return compiled.search(text, pos, timeout=TIMEOUT)
    except TimeoutError:
        raise PatternTimeout(f"{what} {compiled.pattern[:80]!r} took over {TIMEOUT:g}s on {len(text)} characters "
                             "(a pattern that backtracks without end?); refused") from None
