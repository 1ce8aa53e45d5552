"""How VOS commands say they failed: explanation lines, then `Executed command unsuccessfully`."""

from __future__ import annotations

import re

FAILED_RE = re.compile(r"Executed command unsuccessfully\.?", re.I)


def one_line(text: str, empty: str = "(no output)") -> str:
    """The non-blank lines of `text` joined with ` / `, for a one-line message."""
    return " / ".join(ln.strip() for ln in text.splitlines() if ln.strip()) or empty


def failure_reason(text: str) -> str | None:
    """The lines explaining an `Executed command unsuccessfully`, or None when it did not fail."""
    if not FAILED_RE.search(text):
        return None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    index = next(i for i, ln in enumerate(lines) if FAILED_RE.search(ln))  # the match lies within one line
    # Dialog questions (`...?`, `...:`) and progress dots are context, not the reason.
    before = [ln for ln in lines[:index] if not ln.endswith(("?", ":")) and not set(ln) <= {"."}][-2:]
    return " / ".join(before + [lines[index]])
