"""Per-host transcript of a CLI session, with every known secret masked before it is kept."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from ops.secrets import mask
from ops.session.screen import clean

# Each line as it is kept, for `ops run -vv` (ops.logconfig): already masked and cleaned.
log = logging.getLogger("ops.transcript")


class Transcript:
    """What the appliance printed and what we typed, as an admin would have seen it.

    Text is masked (`ops.secrets.mask`) before it is stored or written, so a transcript file
    never holds a secret, even one the appliance echoed back.
    """

    def __init__(self, path: Path | None = None, name: str = "") -> None:
        self.path = path
        self.name = name  # the host, for the -vv lines
        # Kept in memory only when there is no file: a 200-host run must not hold every transcript.
        self._buffer = io.StringIO() if path is None else None
        self._file = None
        self._pending = ""
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8", newline="")

    def received(self, text: str) -> None:
        # Appliances echo typed characters one read at a time, so a secret echoed in clear
        # arrives in pieces: mask whole lines, holding the unfinished one back. A line is kept as
        # the screen showed it (ANSI gone, CR and backspace overwrites applied): a password echoed
        # as `c<BS>*` per character is kept as asterisks, and masking sees what a person saw.
        self._pending += text
        if "\n" in self._pending:
            done, self._pending = self._pending.rsplit("\n", 1)
            self._append(mask(clean(done + "\n")))

    def flush(self) -> None:
        if self._pending:
            self._append(mask(clean(self._pending)))
            self._pending = ""

    def note(self, text: str) -> None:
        """A line of our own (a step header, a connection event), marked so it reads apart."""
        self.flush()
        self._append(f"\n### {mask(text)}\n")

    def _append(self, text: str) -> None:
        if log.isEnabledFor(logging.DEBUG):
            for line in text.splitlines():
                if line.strip():
                    log.debug("%s | %s", self.name, line)
        if self._buffer is not None:
            self._buffer.write(text)
        elif self._file is not None:
            self._file.write(text)
            self._file.flush()

    def text(self) -> str:
        """This session's transcript so far (masked); only kept for one not written to a file."""
        if self._buffer is None:
            raise ValueError(f"this transcript is written to {self.path}; read it there")
        return self._buffer.getvalue() + mask(clean(self._pending))

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None
