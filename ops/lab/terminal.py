"""The lab appliance's side of an interactive shell: echo, line editing, the pager, slow output.

The appliance runs asyncssh without its line editor so that, like a real VOS box, it decides
itself what is echoed (typed characters, `*` for passwords, nothing for pager keys) and how
output is cut into pieces.
"""

from __future__ import annotations

import asyncio
import codecs
from dataclasses import dataclass
from typing import Protocol

import asyncssh

from ops.lab.hostile import HostileSession

PAGER_PROMPT = "Press <enter> for 1 line, <space> for one page, or <q> to quit"
CTRL_C = "\x03"
_ERASE_CHARS = ("\x7f", "\x08")
_OUT_LIMIT = 64 * 1024  # buffered output beyond this is sent at once, waiting for the channel


class Interrupted(Exception):
    """The user pressed Ctrl-C (or sent a break/signal): abandon the current dialog."""


class SessionClosed(Exception):
    """The client went away (EOF, closed channel): end the session."""


@dataclass(frozen=True)
class Exchange:
    """One line the appliance read: the prompt or question it asked, and what came back.

    The lab keeps these as the ground truth of a session (what was typed at which question),
    so tests can prove that no answer went to the wrong question.
    """

    prompt: str
    line: str
    secret: bool


class TtyModes(Protocol):
    """The terminal's modes, where a real pty's line discipline does the echo (the sshd lab)."""

    async def set_modes(self, *, echo: bool, canonical: bool) -> None: ...


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
                 output_delay: float = 0.0, hostile: HostileSession | None = None,
                 tty: TtyModes | None = None, journal: list[Exchange] | None = None,
                 secret_echo: str = "stars") -> None:
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
        self.hostile = hostile
        # A pty's line discipline (the sshd lab) echoes and edits lines itself; the hostile
        # profile's kernel echo models that here: characters are echoed as they arrive.
        self._tty = tty
        self._kernel_echo = hostile is not None and hostile.profile.kernel_echo and tty is None
        self._echo_on = True
        self._write_lock = asyncio.Lock()
        self._input = asyncio.Event()
        self._eof: str | None = None
        self._pump: asyncio.Task[None] | None = None
        self.journal = journal if journal is not None else []
        if secret_echo not in ("stars", "clear", "mangled"):
            raise ValueError(f"secret_echo is stars, clear or mangled, not {secret_echo!r}")
        self.secret_echo = secret_echo

    # ------------------------------------------------------------------ output

    async def write(self, text: str) -> None:
        """Write `text` with every line ending as CRLF, in pieces if the lab is told to be slow."""
        text = text.replace("\r\n", "\n")
        if self._tty is not None:
            data = text.encode("utf-8")  # the pty's ONLCR makes each LF a CRLF
        elif self.hostile is not None:
            data = self.hostile.line_ends(text).encode("utf-8")
        else:
            data = text.replace("\n", "\r\n").encode("utf-8")
        await self._send(data)

    async def writeline(self, text: str = "") -> None:
        """Write one line followed by CRLF."""
        await self.write(text + "\n")

    async def _send(self, data: bytes) -> None:
        if not data:
            return
        if self.hostile is not None:
            await self._send_hostile(data)
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

    async def _send_hostile(self, data: bytes) -> None:
        await self.flush()
        async with self._write_lock:
            assert self.hostile is not None
            try:
                for piece, pause in self.hostile.pieces(data):
                    self._stdout.write(piece)
                    await self._stdout.drain()
                    # Let typed characters' echo (and other writers) in between the pieces.
                    await asyncio.sleep(pause)
            except (BrokenPipeError, ConnectionError, asyncssh.Error) as exc:
                raise SessionClosed(str(exc)) from exc

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
        paging = self.pagination or (self.hostile is not None and self.hostile.pager_despite_off())
        if not paging or len(lines) <= self.page_lines:
            await self.write("".join(line + "\n" for line in lines))
            return
        shown, budget = 0, self.page_lines
        while shown < len(lines):
            chunk = lines[shown:shown + budget]
            await self.write("".join(line + "\n" for line in chunk))
            shown += len(chunk)
            if shown >= len(lines):
                return
            await self._set_echo(False, canonical=False)
            await self.write(PAGER_PROMPT)
            key = await self._pager_key()
            await self._set_echo(True)
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
            await self._set_echo(False, canonical=False)
            await self.write(prompt)
            key = await self._file_pager_key()
            await self._set_echo(True)
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

    async def _set_echo(self, on: bool, *, canonical: bool = True) -> None:
        """What `stty echo`/`-echo` (and `-icanon` for single keys) does on a real terminal."""
        self._echo_on = on
        if self._tty is not None:
            await self.flush()
            await self._tty.set_modes(echo=on, canonical=canonical)

    def start(self) -> None:
        """Start reading input as it arrives (with the hostile profile's kernel echo)."""
        if self._kernel_echo:
            self._start_pump()

    def _start_pump(self) -> None:
        if self._pump is None:
            self._pump = asyncio.get_running_loop().create_task(self._pump_input())

    async def _next_input(self) -> str | None:
        """The next input as text (CTRL_C for a break or a signal), None at the end of input."""
        while True:
            try:
                data = await self._stdin.read(4096)
            except asyncssh.TerminalSizeChanged:
                continue
            except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                return CTRL_C
            return self._decoder.decode(data) if data else None

    async def _pump_input(self) -> None:
        """Read input as it arrives and echo it at once, as a pty's line discipline does."""
        try:
            while (text := await self._next_input()) is not None:
                if self._echo_on and text != CTRL_C:
                    self._echo_now(text)
                self._pending += text
                self._input.set()
            self._eof = "end of input"
        except (BrokenPipeError, ConnectionError, asyncssh.Error) as exc:
            self._eof = str(exc) or type(exc).__name__
        finally:
            self._input.set()

    def _echo_now(self, text: str) -> None:
        out = []
        for ch in text:
            if ch in ("\r", "\n"):
                out.append("\r\n")
            elif ch in _ERASE_CHARS:
                out.append("\b \b")
            elif ch == CTRL_C:
                out.append("^C")
            elif ch >= " ":
                out.append(ch)
        if out:
            try:
                self._stdout.write("".join(out).encode("utf-8"))
            except (BrokenPipeError, ConnectionError, asyncssh.Error) as exc:
                self._eof = str(exc) or type(exc).__name__

    def close(self) -> None:
        """Stop reading ahead (the session is over)."""
        if self._pump is not None:
            self._pump.cancel()

    async def _fill(self) -> None:
        await self.flush()
        if self._kernel_echo:
            self._start_pump()
            while not self._pending:
                if self._eof is not None:
                    raise SessionClosed(self._eof)
                self._input.clear()
                await self._input.wait()
            return
        while not self._pending:
            try:
                text = await self._next_input()
            except (BrokenPipeError, ConnectionError, asyncssh.Error) as exc:
                raise SessionClosed(str(exc)) from exc
            if text is None:
                raise SessionClosed("end of input")
            self._pending += text

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

    async def readline(self, prompt: str = "", *, secret: bool = False, journal: str | None = None) -> str:
        """Show `prompt`, read one line echoing each character (`*` when `secret`), return it.

        CR, LF and CR LF all end the line; backspace/DEL erase; Ctrl-C raises Interrupted.
        The line is journaled under `journal` (default: the prompt).
        """
        asked = journal or prompt
        if secret:
            await self._set_echo(False)
        if prompt and self.hostile is not None:
            prompt = self.hostile.stray_ansi() + prompt
        await self.write(prompt)
        try:
            line = await self._readline(secret)
        finally:
            if secret:
                await self._set_echo(True)
        if secret and (self._kernel_echo or self._tty is not None):
            await self.write("\n")  # with echo off, not even the return was echoed (getpass does this)
        self.journal.append(Exchange(asked.strip(), line, secret))
        return line

    async def _readline(self, secret: bool) -> str:
        if self._kernel_echo or self._tty is not None:
            return await self._readline_echoed_by_tty()
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
            if not secret or self.secret_echo == "clear":
                echo.append(ch)
            else:
                echo.append(f"{ch}\b*" if self.secret_echo == "mangled" else "*")

    async def _readline_echoed_by_tty(self) -> str:
        # The terminal has echoed (and, on a pty, edited) the line already: only take it.
        buf: list[str] = []
        while True:
            ch = await self.getch()
            if ch in ("\r", "\n"):
                if ch == "\r":
                    self._skip_lf = True
                return "".join(buf)
            if ch == CTRL_C:
                await self.write("\n")
                raise Interrupted()
            if ch in _ERASE_CHARS:
                if buf:
                    buf.pop()
                continue
            if ch == "\x04" and not buf:
                raise SessionClosed("Ctrl-D")
            if ch >= " ":
                buf.append(ch)

    async def confirm(self, prompt: str) -> bool:
        """Ask a y/n question; anything but y/yes is a no."""
        return (await self.readline(prompt)).strip().lower() in ("y", "yes")
