"""The lab appliance's side of an interactive shell: echo, line editing, the pager, slow output.

The appliance runs asyncssh without its line editor so that, like a real VOS box, it decides
itself what is echoed (typed characters, `*` for passwords, nothing for pager keys) and how
output is cut into pieces.
"""

from __future__ import annotations

import asyncio
import codecs
from typing import Protocol

import asyncssh

PAGER_PROMPT = "Press <enter> for 1 line, <space> for one page, or <q> to quit"
CTRL_C = "\x03"
_ERASE_CHARS = ("\x7f", "\x08")
_OUT_LIMIT = 64 * 1024  # buffered output beyond this is sent at once, waiting for the channel


class Interrupted(Exception):
    """The user pressed Ctrl-C (or sent a break/signal): abandon the current dialog."""


class SessionClosed(Exception):
    """The client went away (EOF, closed channel): end the session."""


class _Reader(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


class _Writer(Protocol):
    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...


class Terminal:
    """Reads keys and lines from one SSH shell channel and writes CRLF output to it.

    `write` turns `\\n` into CRLF; `readline` echoes as it reads; `page` prints lines through
    the VOS pager when pagination is on.
    """

    def __init__(self, stdin: _Reader, stdout: _Writer, *, page_lines: int = 20, output_chunk: int = 0,
                 output_delay: float = 0.0) -> None:
        self._stdin = stdin
        self._stdout = stdout
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._skip_lf = False
        self.page_lines = max(1, page_lines)
        self.output_chunk = output_chunk
        self.output_delay = output_delay
        self.pagination = True
        self._out: list[bytes] = []
        self._out_size = 0
        self._flush_handle: asyncio.Handle | None = None
        self._closed: str | None = None

    # ------------------------------------------------------------------ output

    async def write(self, text: str) -> None:
        """Write `text` with every line ending as CRLF, in pieces if the lab is told to be slow."""
        data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
        await self._send(data)

    async def writeline(self, text: str = "") -> None:
        """Write one line followed by CRLF."""
        await self.write(text + "\n")

    async def _send(self, data: bytes) -> None:
        if not data:
            return
        if self.output_chunk > 0:
            await self.flush()
            try:
                for i in range(0, len(data), self.output_chunk):
                    if i and self.output_delay:
                        await asyncio.sleep(self.output_delay)
                    self._stdout.write(data[i:i + self.output_chunk])
                    await self._stdout.drain()
            except (BrokenPipeError, ConnectionError, asyncssh.Error) as exc:
                raise SessionClosed(str(exc)) from exc
            return
        # Like a program on a pty behind sshd: what is written until the program next waits (for
        # input, a timer, a transfer) leaves in one SSH packet, not one per write.
        if self._closed is not None:
            raise SessionClosed(self._closed)
        self._out.append(data)
        self._out_size += len(data)
        if self._out_size >= _OUT_LIMIT:
            await self.flush()
        elif self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush_out)

    def _flush_out(self) -> None:
        self._flush_handle = None
        if not self._out or self._closed is not None:
            return
        data = b"".join(self._out)
        self._out.clear()
        self._out_size = 0
        try:
            self._stdout.write(data)
        except (BrokenPipeError, ConnectionError, asyncssh.Error) as exc:
            self._closed = str(exc) or type(exc).__name__

    def flush_nowait(self) -> None:
        """Hand what is buffered to the channel now, without waiting (a session that is ending)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self._flush_out()

    async def flush(self) -> None:
        """Send what is buffered now and wait until the channel has room (at session end, too)."""
        self.flush_nowait()
        if self._closed is not None:
            raise SessionClosed(self._closed)
        try:
            await self._stdout.drain()
        except (BrokenPipeError, ConnectionError, asyncssh.Error) as exc:
            raise SessionClosed(str(exc)) from exc

    async def page(self, lines: list[str]) -> None:
        """Print `lines`, stopping at the pager prompt every screenful when pagination is on."""
        if not self.pagination or len(lines) <= self.page_lines:
            await self.write("".join(line + "\n" for line in lines))
            return
        shown, budget = 0, self.page_lines
        while shown < len(lines):
            chunk = lines[shown:shown + budget]
            await self.write("".join(line + "\n" for line in chunk))
            shown += len(chunk)
            if shown >= len(lines):
                return
            await self.write(PAGER_PROMPT)
            key = await self._pager_key()
            await self.write("\r" + " " * len(PAGER_PROMPT) + "\r")
            if key == "q":
                return
            budget = 1 if key == "\n" else self.page_lines

    async def page_file(self, lines: list[str]) -> None:
        """Print `lines` through the pager of `file list`/`file view`, which `set cli pagination off`
        does not silence: `options: q=quit, n=next, p=prev, b=begin, e=end (lines A - B of N) :`."""
        total, start = len(lines), 0
        while True:
            end = min(start + self.page_lines, total)
            await self.write("".join(line + "\n" for line in lines[start:end]))
            if start == 0 and end >= total:
                return  # it all fits: no pager
            # Once paging, the last page asks too (Unicon's vos plugin quits with `q` there).
            prompt = f"options: q=quit, n=next, p=prev, b=begin, e=end (lines {start + 1} - {end} of {total}) : "
            await self.write(prompt)
            key = await self._file_pager_key()
            await self.write("\r" + " " * len(prompt) + "\r")
            if key == "q" or (key == "n" and end >= total):
                return
            start = {"n": end, "p": max(0, start - self.page_lines), "b": 0,
                     "e": max(0, total - self.page_lines)}[key]

    async def _file_pager_key(self) -> str:
        while True:
            ch = (await self.getch()).lower()
            if ch in ("n", "p", "b", "e", "q"):
                return ch
            if ch in ("\r", "\n", " "):
                if ch == "\r":
                    self._skip_lf = True
                return "n"
            if ch == CTRL_C:
                return "q"

    async def _pager_key(self) -> str:
        while True:
            ch = await self.getch()
            if ch in ("\r", "\n"):
                if ch == "\r":
                    self._skip_lf = True
                return "\n"
            if ch == " ":
                return " "
            if ch in ("q", "Q", CTRL_C):
                return "q"
            # Any other key is ignored, as the real pager does.

    # ------------------------------------------------------------------ input

    async def _fill(self) -> None:
        await self.flush()
        while True:
            try:
                data = await self._stdin.read(4096)
            except asyncssh.TerminalSizeChanged:
                continue
            except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                self._pending += CTRL_C
                return
            except (BrokenPipeError, ConnectionError, asyncssh.Error) as exc:
                raise SessionClosed(str(exc)) from exc
            if not data:
                raise SessionClosed("end of input")
            self._pending += self._decoder.decode(data)
            if self._pending:
                return

    async def getch(self) -> str:
        """The next input character, without echo; a CR LF pair yields only the CR."""
        while True:
            if not self._pending:
                await self._fill()
            ch, self._pending = self._pending[0], self._pending[1:]
            if self._skip_lf:
                self._skip_lf = False
                if ch == "\n":
                    continue
            return ch

    async def _skip_escape(self) -> None:
        # Arrow and function keys arrive as ESC [ ... final-byte; the VOS CLI ignores them here.
        ch = await self.getch()
        if ch not in ("[", "O"):
            return
        while True:
            ch = await self.getch()
            if "\x40" <= ch <= "\x7e":
                return

    async def readline(self, prompt: str = "", *, secret: bool = False) -> str:
        """Show `prompt`, read one line echoing each character (`*` when `secret`), return it.

        CR, LF and CR LF all end the line; backspace/DEL erase; Ctrl-C raises Interrupted.
        """
        await self.write(prompt)
        buf: list[str] = []
        # Like a tty, echo what has arrived together in one write, not a packet per character.
        echo: list[str] = []

        async def flush() -> None:
            if echo:
                text = "".join(echo)
                echo.clear()
                await self.write(text)

        while True:
            if not self._pending:
                await flush()
            ch = await self.getch()
            if ch in ("\r", "\n"):
                if ch == "\r":
                    self._skip_lf = True
                echo.append("\n")
                await flush()
                return "".join(buf)
            if ch == CTRL_C:
                echo.append("^C\n")
                await flush()
                raise Interrupted()
            if ch in _ERASE_CHARS:
                if buf:
                    buf.pop()
                    echo.append("\b \b")
                continue
            if ch == "\x1b":
                await flush()
                await self._skip_escape()
                continue
            if ch == "\x04" and not buf:
                await flush()
                raise SessionClosed("Ctrl-D")
            if ch < " ":
                continue
            buf.append(ch)
            echo.append("*" if secret else ch)

    async def confirm(self, prompt: str) -> bool:
        """Ask a y/n question; anything but y/yes is a no."""
        return (await self.readline(prompt)).strip().lower() in ("y", "yes")
