"""What an appliance's bytes look like on a screen: ANSI codes gone, CR and backspace overwrites applied.

The channel reads prompts in this text, and transcripts keep it, so a password an appliance
echoes as `c\\b*` per character (each character overwritten by an asterisk) is never kept as the
characters themselves, and masking sees the text a person would have seen.
"""

from __future__ import annotations

import re

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")
# The `show` pager and the `file view`/`file list` pager.
PAGER_RE = re.compile(r"Press <enter> for 1 line, <space> for one page, or <q> to quit[ \t]*$"
                      r"|options: q=quit, n=next, p=prev, b=begin, e=end \(lines \d+ - (\d+) of (\d+)\) :[ \t]*$")
BACKSPACE_RE = re.compile(r"[^\x08\n]\x08")

def clean(text: str) -> str:
    """Normalise appliance text: no ANSI codes, LF line ends, CR and backspace overwrites applied."""
    text = ANSI_RE.sub("", text).replace("\r\n", "\n")
    lines = []
    for line in text.split("\n"):
        if "\r" in line:
            # A lone CR returns to the line start (the pager erases itself that way): keep what
            # was written last, unless that is only the blanks of the erasure.
            parts = line.split("\r")
            line = next((p for p in reversed(parts) if p.strip()), "")
        while "\x08" in line:
            line, count = BACKSPACE_RE.subn("", line)
            if not count:
                line = line.replace("\x08", "")
        lines.append(line)
    return "\n".join(lines)
