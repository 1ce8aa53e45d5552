"""The VOS CLI channel: prompt detection, paging, send / expect / answer.

Reads are driven by patterns, never by sleeps: a command is written, its echo read back, and
only then the return key sent, so a line the CLI mangled is never run and the output handed
back never contains the echo. `show` commands, which only read, are the exception: they go
with their return in one write (one round trip instead of two) and their echo is checked as it
comes back, before any output is taken. Pager prompts are answered wherever they appear. Every
timeout names what it was waiting for.

The channel never guesses where the session stands. Its invariants (README, Guarantees):

(a) Nothing is sent until the session is synchronized: after the first prompt the line must
    stay quiet for `settle` seconds (prompt redraws are absorbed, anything else is banner that
    must end in a prompt again), then `set cli pagination off` makes a marker round trip whose
    echo must follow nothing but prompts.
(b) An answer is typed only when its question is the last thing received, after the echo of
    the command that asks it, and nothing more arrived for `answer_quiet` seconds.
(c) An extra prompt (a bare prompt line inside a command's output), an echo that is not ours,
    or output while the session sits idle at its prompt raises LostTrack, and from then on the
    channel types nothing at all (every later call raises LostTrack without writing).
(d) A command that changes state is sent only while synchronized, and only after the line has
    been quiet for `quiet` seconds since the last byte, so a late redraw or late output shows
    up before the command, not in the middle of its dialog.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ops.parsers.errors import failure_reason
from ops.patterns import PatternTimeout, compile_pattern, search
from ops.secrets import Secret, mask
from ops.session.errors import ChannelClosed, ChannelTimeout, CommandFailed, LostTrack
from ops.session.screen import ANSI_RE, BACKSPACE_RE, PAGER_RE, clean  # noqa: F401 - re-exported
from ops.session.transcript import Transcript
from ops.textsafe import has_control

# How far back from the end of the unconsumed text a dialog's questions are looked for (a question
# of a `cli` step's `prompts` may span lines, so not only the last one).
_QUESTION_WINDOW = 4096


class Reader(Protocol):
    async def read(self, n: int = -1) -> str: ...
    def at_eof(self) -> bool: ...


class Writer(Protocol):
    def write(self, data: str) -> None: ...


@dataclass(frozen=True)
class Answer:
    """One prompt of a dialog and what to type when it appears.

    `pattern` is searched at the end of what has arrived since the last answer. An answer given
    as a `Secret` is masked wherever it could show (transcripts, errors, reports). `once`
    answers are given at most one time.
    """

    pattern: str
    answer: str | Secret
    once: bool = True
    name: str = ""

    def text(self) -> str:
        return self.answer.reveal() if isinstance(self.answer, Secret) else self.answer

    @property
    def label(self) -> str:
        return self.name or self.pattern


@dataclass
class DialogResult:
    output: str
    answered: list[str] = field(default_factory=list)


# Commands that change nothing: losing or repeating characters of such a line cannot make it a
# command that changes anything, so these need not wait for their echo before return.
READ_ONLY_COMMANDS = ("show", "file list", "file view", "utils ntp status", "utils service list")
# A read-only command that printed only this is tried again (appliances say it now and then
# when a platform service is busy); a command that changes state never is.
_BARE_FAILURE = "Executed command unsuccessfully"
_READ_ONLY_RETRIES = 2


def _echo_body(command: str) -> str:
    # The appliance may re-space a long line.
    return r"\s*".join(re.escape(part) for part in command.split())


@functools.lru_cache(maxsize=256)
def _echo_re(command: str) -> re.Pattern[str]:
    """The echo of `command` at the end of the buffer (typed, return not yet sent)."""
    return re.compile(_echo_body(command) + r"[ \t]*$")


@functools.lru_cache(maxsize=256)
def _echo_line_re(command: str) -> re.Pattern[str]:
    """The echoed line of `command`, return included, ending a line (a CLI that redraws its input
    line may put the prompt back in front of it)."""
    return re.compile(r"(?:^|\n)[^\n]*?" + _echo_body(command) + r"[ \t]*\n")


def _read_only(command: str) -> bool:
    words = " ".join(command.lower().split()) + " "
    return any(words.startswith(prefix + " ") for prefix in READ_ONLY_COMMANDS)


def is_read_only(command: str) -> bool:
    """Whether `command` only reads (show, file list/view, utils ntp status, utils service list):
    sending it again changes nothing on the appliance."""
    return _read_only(command)


def _typeable(text: str, what: str) -> None:
    """Refuse to type what is not one line: a line break in an answer would run the rest as a command."""
    if has_control(text):
        raise ValueError(f"refusing to type {what}: it holds a line break or control character, which the "
                         "appliance would take as the end of the line and more")


def _squeeze(text: str) -> str:
    return " ".join(text.split())


class VOSChannel:
    """One interactive `admin:` CLI session.

    `timeout` bounds how long the channel waits with nothing new arriving; slow transfers that
    keep printing progress never hit it.
    """

    def __init__(self, reader: Reader, writer: Writer, username: str, *,
                 transcript: Transcript | None = None, timeout: float = 60.0,
                 host: str = "appliance", settle: float = 0.5, quiet: float = 0.15,
                 answer_quiet: float = 0.05) -> None:
        self._reader = reader
        self._writer = writer
        self.username = username
        self.transcript = transcript or Transcript()
        self.timeout = timeout
        self.host = host
        # What has arrived and not been consumed yet, kept as the cleaned text of its complete
        # lines plus the raw text of the line still arriving: clean() is line-local, so each
        # chunk costs only its own lines (re-cleaning the whole buffer per read is quadratic in
        # long outputs, and the appliance echoes typed characters one packet at a time).
        self._done = ""
        self._tail = ""
        self._view: str | None = ""
        self.prompt_re = re.compile(rf"(?:^|\n){re.escape(username)}:[ \t]*$")
        # Text that is nothing but (re)drawn prompts and blank lines.
        self._only_prompts_re = re.compile(rf"[ \t\n]*(?:{re.escape(username)}:[ \t\n]*)*")
        # A prompt at the start of a line of a command's output: a prompt drawn twice (bare, or
        # with the output that followed it on its line).
        self._bare_prompt_line_re = re.compile(rf"(?m)^[ \t]*{re.escape(username)}:")
        self.banner = ""
        self.settle = settle
        self.quiet = quiet
        self.answer_quiet = answer_quiet
        self._last_rx = time.monotonic()
        self._lost: str | None = None
        self._synced = False

    # -- low level -----------------------------------------------------------------------
    def _normalized(self) -> str:
        """The cleaned text received and not yet consumed."""
        if self._view is None:
            self._view = self._done + clean(self._tail) if self._tail else self._done
        return self._view

    def _keep(self, text: str) -> None:
        """Replace the unconsumed text with `text` (already cleaned)."""
        cut = text.rfind("\n") + 1
        self._done, self._tail, self._view = text[:cut], text[cut:], text

    def _add(self, data: str) -> None:
        raw = self._tail + data
        cut = raw.rfind("\n") + 1
        if cut:
            self._done += clean(raw[:cut])
            raw = raw[cut:]
        self._tail = raw
        self._view = None

    async def _read_chunk(self, waiting_for: str, timeout: float) -> None:
        try:
            # asyncio.timeout, not wait_for: no task is created per read.
            async with asyncio.timeout(timeout):
                data = await self._reader.read(65536)
        except TimeoutError:
            tail = self._normalized().rstrip("\n").rsplit("\n", 1)[-1][-120:]
            raise ChannelTimeout(f"{self.host}: timed out after {timeout:g}s waiting for {waiting_for}"
                                 f" (last line seen: {mask(tail)!r})") from None
        if not data:
            raise ChannelClosed(f"{self.host}: the appliance closed the session while waiting for "
                                f"{waiting_for}")
        self.transcript.received(data)
        self._last_rx = time.monotonic()
        self._add(data)

    async def _read_within(self, window: float) -> bool:
        """Read what arrives within `window` seconds; False when nothing did."""
        try:
            async with asyncio.timeout(window):
                data = await self._reader.read(65536)
        except TimeoutError:
            return False
        if not data:
            self._lose("the appliance closed the session")
            raise ChannelClosed(f"{self.host}: the appliance closed the session")
        self.transcript.received(data)
        self._last_rx = time.monotonic()
        self._add(data)
        return True

    def _only_prompts(self, text: str) -> bool:
        return self._only_prompts_re.fullmatch(text) is not None

    def _lose(self, why: str) -> LostTrack:
        """Stop typing into this session for good, and say why."""
        if self._lost is None:
            self._lost = why
            self.transcript.note(f"lost track of the session: {why}; nothing more is typed")
        self._synced = False
        return LostTrack(f"{self.host}: lost track of the session: {mask(why)}; nothing more was typed")

    def _check_usable(self, what: str) -> None:
        if self._lost is not None:
            raise LostTrack(f"{self.host}: not sending {what}: the session was lost earlier "
                            f"({mask(self._lost)}); nothing more is typed into it")

    async def _settle(self, window: float, *, login: bool = False, timeout: float | None = None) -> None:
        """Wait until nothing has arrived for `window` seconds, at the prompt.

        Redrawn prompts are absorbed. At login, other text is more banner, which must end in a
        prompt again; at any other time it means the session is not where we think: LostTrack.
        """
        while True:
            text = self._normalized()
            if not self._only_prompts(text):
                if not login:
                    raise self._lose(f"output arrived while the session sat at its prompt: "
                                     f"{text.strip()[-120:]!r}")
                await self.read_until(self.prompt_re, f"the '{self.username}:' prompt after more banner",
                                      timeout)
                continue
            remaining = window - (time.monotonic() - self._last_rx)
            if remaining <= 0:
                # Quiet since the last byte *read*; but the session may have sat unread (the runner
                # busy elsewhere) while a question or late output arrived: take what is already
                # buffered, without waiting, and judge that too before anything is typed.
                if await self._read_within(0):
                    continue
                self._keep("")
                return
            await self._read_within(remaining)

    def _write(self, text: str) -> None:
        try:
            self._writer.write(text)
        except (OSError, BrokenPipeError) as exc:
            raise ChannelClosed(f"{self.host}: cannot send input, the session is closed ({exc})") from None

    def _answer_pager(self, normalized: str) -> bool:
        # A pager prompt is one line at the very end: search only there, not the whole output.
        match = PAGER_RE.search(normalized, normalized.rfind("\n", 0, len(normalized) - 1) + 1)
        if not match:
            return False
        self._keep(normalized[:match.start()])
        if match.group(1) is None:
            self._write(" ")
        else:  # `file list`/`file view`: next page, or quit on the last one (its pager asks there too)
            self._write("q" if int(match.group(1)) >= int(match.group(2)) else "n")
        return True

    async def read_until(self, pattern: re.Pattern[str], waiting_for: str,
                         timeout: float | None = None) -> str:
        """Read until `pattern` matches the (cleaned) buffer; returns and consumes that text."""
        timeout = self.timeout if timeout is None else timeout
        while True:
            normalized = self._normalized()
            match = pattern.search(normalized)
            if match:
                self._keep(normalized[match.end():])
                return normalized[:match.end()]
            if self._answer_pager(normalized):
                continue
            await self._read_chunk(waiting_for, timeout)

    # -- session ---------------------------------------------------------------------------
    async def login(self, timeout: float = 60.0, pagination_off: bool = True) -> str:
        """Wait out the banner (it can take seconds) and the first prompt, synchronize, turn paging off.

        The prompt may be redrawn (a slow CLI start, a nudge): the line must stay quiet for
        `settle` seconds at the prompt before anything is typed, and `set cli pagination off`
        then goes as a marker whose echo must follow nothing but prompts.
        """
        text = await self.read_until(self.prompt_re, f"the first '{self.username}:' prompt", timeout)
        self.banner = self._strip_prompt(text)
        await self._settle(self.settle, login=True, timeout=timeout)
        self._synced = True
        if pagination_off:
            answer = await self.send("set cli pagination off")
            # The marker's own answer proves which prompt ended it: a prompt redrawn late (after
            # `settle`) can pass for the end of the marker, its answer then still to come.
            if "pagination" not in answer.lower():
                raise self._lose(f"the marker 'set cli pagination off' ended without its own answer "
                                 f"(got {answer[:120]!r}): a prompt was drawn again")
        return self.banner

    @property
    def synchronized(self) -> bool:
        """Whether the channel knows where the session stands (it is at its prompt, nothing pending)."""
        return self._synced and self._lost is None

    def _strip_prompt(self, text: str) -> str:
        match = self.prompt_re.search(text)
        return text[:match.start()] if match else text

    async def _send_command_line(self, command: str) -> None:
        self._check_usable(repr(command))
        _typeable(command, "a command")
        if not self._synced:
            raise self._lose(f"{command!r} was not sent: the session is not synchronized")
        read_only = _read_only(command)
        if read_only:
            # Whatever came since the last prompt must be redrawn prompts only.
            await self._settle(0.0)
        else:
            # (d): a command that changes state waits for a quiet line first.
            await self._settle(self.quiet)
        self._synced = False  # until its own prompt comes back
        if read_only:
            self._write(command + "\n")
            await self._read_echoed_line(command)
            return
        self._write(command)
        await self._await_echo(command)
        self._write("\n")
        text = await self.read_until(re.compile(r"\n"), f"the end of the echoed line of {command!r}")
        if text.strip():
            raise self._lose(f"{text.strip()[:120]!r} came between the echo of {command!r} and its return")

    def _could_become_echo(self, text: str, command: str) -> bool:
        """Whether `text` is prompts followed by the start of `command`'s echo (or of a prompt).

        The echo may already have gone onto a second line (an appliance re-spaces a long line, as
        `_echo_body` accepts): what follows the prompt lines is compared with its line breaks
        squeezed like any other blank, so a wrapped echo arriving a character at a time is
        recognised at every step, not only when it comes in one read.
        """
        prompt = f"{self.username}:"
        # Prompts, on their own lines or drawn again on the same line, and blanks before the echo.
        rest = text.lstrip()
        while rest.startswith(prompt):
            rest = rest[len(prompt):].lstrip()
        if prompt.startswith(rest):
            return True
        typed, wanted = _squeeze(rest), _squeeze(command)
        return wanted.startswith(typed) or not typed

    async def _await_echo(self, command: str) -> None:
        """Read the echo of `command` (typed, return not yet sent); anything else is LostTrack."""
        pattern = _echo_re(command)
        while True:
            text = self._normalized()
            match = pattern.search(text)
            if match and self._only_prompts(text[:match.start()]):
                self._keep("")
                return
            if not self._could_become_echo(text, command):
                raise self._lose(f"the echo of {command!r} did not come back as typed (seen: "
                                 f"{text.strip()[-120:]!r}); its return was not sent")
            await self._read_chunk(f"the echo of {command!r}", self.timeout)

    async def _read_echoed_line(self, command: str) -> None:
        """Consume the echo of a command sent with its return; refuse anything but prompts before it."""
        echo = _echo_line_re(command)
        # The echo, or else the prompt (which only matches at the very end, so an echo comes first).
        text = await self.read_until(re.compile(f"{echo.pattern}|{self.prompt_re.pattern}"),
                                     f"the echo of {command!r}")
        match = echo.search(text)
        if match is None:
            # Back at the prompt without the line we typed: what ran is not what was asked.
            seen = text.strip("\n").split("\n", 1)[0][:120]
            raise self._lose(f"the appliance did not echo {command!r} as sent (first line seen: {seen!r})")
        line = match.group(0)
        before = text[:match.start()] + line[:line.find(command.split()[0])]
        if not self._only_prompts(before):
            raise self._lose(f"{before.strip()[-120:]!r} came before the echo of {command!r}")

    async def send(self, command: str, *, timeout: float | None = None, check: bool = True) -> str:
        """Run one command; returns its output (between the echo and the next prompt).

        With `check`, output carrying `Executed command unsuccessfully` raises CommandFailed.
        """
        return (await self.dialog(command, [], timeout=timeout, check=check)).output

    async def dialog(self, command: str, answers: Sequence[Answer], *, timeout: float | None = None,
                     check: bool = True, progress: Callable[[], object] | None = None) -> DialogResult:
        """Run a command that asks questions, answering each as it appears, up to the prompt.

        `timeout` bounds each silence of the CLI. With `progress`, a silence is not a stall while
        what it returns keeps changing (e.g. bytes arriving in the receiver during a long push,
        which some appliances show no dots for).
        """
        timeout = self.timeout if timeout is None else timeout
        retries = _READ_ONLY_RETRIES if _read_only(command) else 0
        for attempt in range(retries + 1):
            result = await self._dialog_once(command, answers, timeout, progress)
            if attempt < retries and result.output.strip() == _BARE_FAILURE:
                self.transcript.note(f"{command!r} printed only {_BARE_FAILURE!r}; it changes nothing, so it is "
                                     "sent again")
                continue
            break
        reason = failure_reason(result.output) if check else None
        if reason is not None:
            raise CommandFailed(f"{self.host}: {command!r} failed: {mask(reason)}", mask(result.output))
        return DialogResult(mask(result.output), result.answered)

    async def _dialog_once(self, command: str, answers: Sequence[Answer], timeout: float,
                           progress: Callable[[], object] | None) -> DialogResult:
        seen = progress() if progress is not None else None
        try:
            await self._send_command_line(command)
            result = await self._dialog_body(command, answers, timeout, progress, seen)
        except (ChannelTimeout, ChannelClosed) as exc:
            # Mid-dialog, the session is at a question or in a command: nothing more goes in.
            self._lose(str(exc))
            raise
        self._synced = True
        return result

    async def _dialog_body(self, command: str, answers: Sequence[Answer], timeout: float,
                           progress: Callable[[], object] | None, seen: object) -> DialogResult:
        output: list[str] = []
        answered: list[str] = []
        used: set[int] = set()
        # Answers' patterns may come from a playbook (a `cli` step's prompts): bounded searches.
        patterns = [compile_pattern(a.pattern + r"[ \t]*$") for a in answers]
        deadline_hint = f"the '{self.username}:' prompt after {command!r}"
        while True:
            normalized = self._normalized()
            # The prompt and the questions end the text: search its end, not all of a long output
            # again for each chunk that arrives (quadratic in `file list`, `show network status`).
            last_line = normalized.rfind("\n", 0, len(normalized) - 1)
            prompt = self.prompt_re.search(normalized, max(0, last_line))
            if (prompt and self.answer_quiet > 0 and not any(part.strip() for part in output)
                    and not normalized[:prompt.start()].strip() and await self._read_within(self.answer_quiet)):
                # A prompt right after the echo may be one drawn twice, with the output still to
                # come: wait a moment, and look again at what came (a command with output of its
                # own shows any extra prompt inside it, found below).
                continue
            if prompt:
                output.append(normalized[:prompt.start()])
                self._keep(normalized[prompt.end():])
                # A bare prompt inside the output is a prompt drawn twice: which of them ended
                # the command cannot be known. Each part is looked at on its own: a part after an
                # answer starts a line (the answer's return), whether or not the appliance echoed it.
                extra = any(self._bare_prompt_line_re.search(part) for part in output)
                if extra:
                    raise self._lose(f"an extra '{self.username}:' prompt came in the output of {command!r}")
                break
            if self._answer_pager(normalized):
                continue
            hit = None
            for index, (answer, regex) in enumerate(zip(answers, patterns, strict=True)):
                if answer.once and index in used:
                    continue
                try:
                    found = search(regex, normalized, max(0, len(normalized) - _QUESTION_WINDOW), what="prompt")
                except PatternTimeout as exc:
                    raise self._lose(str(exc)) from None
                if found:
                    hit = index
                    break
            if hit is not None and self.answer_quiet > 0 and await self._read_within(self.answer_quiet):
                continue  # more came after what looked like the question: look again
            if hit is not None:
                answer = answers[hit]
                try:
                    _typeable(answer.text(), f"the answer to {answer.label!r}")
                except ValueError as exc:
                    raise self._lose(str(exc)) from None  # the session waits at a question: nothing more
                used.add(hit)
                answered.append(answer.label)
                output.append(normalized)
                self._keep("")
                self._write(answer.text() + "\n")
                continue
            waiting = [a.label for i, a in enumerate(answers) if not (a.once and i in used)]
            what = deadline_hint if not waiting else f"{deadline_hint} or one of the prompts {waiting}"
            try:
                await self._read_chunk(what, timeout)
            except ChannelTimeout:
                now = progress() if progress is not None else None
                if now == seen:
                    raise
                seen = now
        return DialogResult("".join(output).strip("\n"), answered)

    async def close(self) -> None:
        """Leave with `quit` when the session is at its prompt; a lost one gets nothing typed."""
        if not self.synchronized:
            return
        try:
            self._write("quit\n")
        except ChannelClosed:
            pass
