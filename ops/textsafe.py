"""Text from outside (appliances, playbooks, inventories, SFTP clients) made inert for where it goes.

One mechanism for every terminal line and every spreadsheet cell the toolkit writes:

- `inert(text)`: control characters never reach a terminal. ESC (and so every ANSI/OSC
  sequence: OSC 52 clipboard writes, OSC 0 window titles, OSC 8 links, cursor moves), the other
  C0 and C1 controls, DEL and the Unicode bidi overrides are shown as `\\x1b`-style escapes; tab
  and newline stay. Printed through rich, the result must still go as plain text (`Text(...)`
  or `markup=False`), never as markup.
- `cell(value)`: a CSV cell a spreadsheet shows as text, never runs as a formula (OWASP's
  CSV-injection advice: a leading `=`, `+`, `-`, `@`, tab or CR gets a `'`).
"""

from __future__ import annotations

import re

__all__ = ["cell", "has_control", "inert", "inert_line"]

# C0 controls but TAB and LF, DEL, C1 controls, and the bidi embeddings/overrides/isolates.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def has_control(text: str) -> bool:
    """Whether `text` holds a control character, C0 (line breaks and tab included), DEL or C1
    (NEL, the 8-bit CSI), or a Unicode line or paragraph separator: such text cannot be one line
    typed at an appliance, nor a value written into a unit file or a header."""
    return any(ord(c) < 32 or 127 <= ord(c) < 160 or c in "\u2028\u2029" for c in text)


def inert(text: object) -> str:
    """`text` with every control character (but tab and newline) shown as an escape."""
    return _CONTROL_RE.sub(_escape, str(text))


def inert_line(text: object) -> str:
    """`inert`, with line breaks shown too (newline, and the Unicode line and paragraph separators):
    for one-line places (a live table cell, a CSV field, one problem of many)."""
    return inert(text).replace("\n", "\\n").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def cell(value: object) -> object:
    """A CSV cell value that no spreadsheet runs as a formula (numbers and None pass unchanged)."""
    if not isinstance(value, str):
        return value
    text = inert_line(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
