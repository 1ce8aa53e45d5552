"""The VOS channel against scripted appliance output: split prompts, pagers, stalls, failures."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from ops.secrets import Secret
from ops.session.channel import Answer, VOSChannel, clean
from ops.session.errors import ChannelClosed, ChannelTimeout, CommandFailed, LostTrack
from tests.helpers import run


class ScriptedAppliance:
    """Answers each line written to it with pieces of text, echoing input like a PTY does."""

    def __init__(self, replies: dict[str, list[str]], echo: bool = True, masked: set[str] | None = None) -> None:
        self.replies = replies
        self.echo = echo
        self.masked = masked or set()
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.line = ""
        self.written: list[str] = []

    # Writer side
    def write(self, data: str) -> None:
        self.written.append(data)
        for char in data:
            if char in "\r\n":
                line, self.line = self.line, ""
                self.queue.put_nowait("\r\n")
                for piece in self.replies.get(line, self.replies.get("*", [])):
                    self.queue.put_nowait(piece)
            else:
                self.line += char
                if self.echo:
                    self.queue.put_nowait("*" if self.line.split(":")[0] in self.masked else char)
        if data in ("q", " ", "n"):
            for piece in self.replies.get(f"<key {data!r}>", []):
                self.queue.put_nowait(piece)

    # Reader side
    async def read(self, n: int = -1) -> str:
        item = await self.queue.get()
        if item == "<EOF>":
            return ""
        return item

    def at_eof(self) -> bool:
        return False


def channel(app: ScriptedAppliance, timeout: float = 2.0, settle: float = 0.05) -> VOSChannel:
    return VOSChannel(app, app, "admin", timeout=timeout, host="node1", settle=settle, quiet=0.02)


async def logged_in(app: ScriptedAppliance, timeout: float = 2.0) -> VOSChannel:
    """A channel past a bare `admin:` prompt (pagination left alone)."""
    ch = channel(app, timeout)
    app.queue.put_nowait("admin:")
    await ch.login(pagination_off=False)
    return ch


def send_one(app: ScriptedAppliance, command: str, timeout: float = 2.0) -> str:
    """Log in and run one command; its output (or the channel's exception)."""
    async def go() -> str:
        return await (await logged_in(app, timeout)).send(command)
    return run(go())


def test_output_between_echo_and_prompt_with_prompt_split_across_reads() -> None:
    app = ScriptedAppliance({"show version active": ["Active Master Version: 12.6", ".1.10000-5\r\nActive Ver",
                                                     "sion Installed Software Options:\r\nadm", "in:"]})

    async def go() -> str:
        ch = channel(app)
        app.queue.put_nowait("Welcome\r\n\r\nad")
        app.queue.put_nowait("min:")
        await ch.login(pagination_off=False)
        return await ch.send("show version active")

    out = run(go())
    assert out == "Active Master Version: 12.6.1.10000-5\nActive Version Installed Software Options:"


@pytest.mark.parametrize("command, pager, key", [
    ("show long", "Press <enter> for 1 line, <space> for one page, or <q> to quit", " "),
    # The `file view`/`file list` pager moves on with `n`.
    ("file list activelog x", "options: q=quit, n=next, p=prev, b=begin, e=end (lines 1 - 2 of 3) : ", "n"),
    # ... and asks on the last page too, where `q` leaves it.
    ("file list activelog x", "options: q=quit, n=next, p=prev, b=begin, e=end (lines 3 - 3 of 3) : ", "q"),
])
def test_pager_prompt_is_answered_and_removed(command: str, pager: str, key: str) -> None:
    app = ScriptedAppliance({command: ["line1\r\nline2\r\n" + pager],
                             f"<key {key!r}>": ["\r" + " " * len(pager) + "\rline3\r\nadmin:"]})

    assert send_one(app, command) == "line1\nline2\nline3"
    assert key in app.written


def test_dialog_answers_prompts_and_masks_secrets() -> None:
    secret = Secret("S3cret-Value-99")
    app = ScriptedAppliance({
        "do thing": ["Would you like to proceed [y/n]? "],
        "y": ["Password: "],
        "S3cret-Value-99": ["\r\nDone.\r\nadmin:"],
    }, echo=True)

    async def go() -> str:
        ch = await logged_in(app)
        result = await ch.dialog("do thing", [Answer(r"proceed \[y/n\]\?", "y"),
                                              Answer(r"Password:", secret)])
        return result.output + "\n---\n" + ch.transcript.text()

    text = run(go())
    assert "Done." in text
    assert "S3cret-Value-99" not in text


def test_dialog_that_stalls_names_the_prompt_it_waited_for() -> None:
    app = ScriptedAppliance({"file get activelog x": ["Would you like to proceed [y/n]? "], "y": ["SFTP server IP: "]})

    async def go() -> None:
        ch = await logged_in(app, timeout=0.3)
        await ch.dialog("file get activelog x", [Answer(r"proceed \[y/n\]\?", "y", name="proceed"),
                                                 Answer(r"Download directory:", "/", name="Download directory")])

    with pytest.raises(ChannelTimeout) as info:
        run(go())
    message = str(info.value)
    assert "node1" in message and "Download directory" in message and "SFTP server IP" in message


def test_failure_line_raises_command_failed_with_reason() -> None:
    app = ScriptedAppliance({"bogus": ["Invalid command: bogus\r\nExecuted command unsuccessfully\r\nadmin:"]})

    with pytest.raises(CommandFailed, match="Invalid command: bogus"):
        send_one(app, "bogus")


def test_closed_session_is_reported() -> None:
    app = ScriptedAppliance({"quit": ["<EOF>"]})

    with pytest.raises(ChannelClosed, match="closed the session"):
        send_one(app, "quit")


def test_no_echo_times_out_naming_the_echo() -> None:
    app = ScriptedAppliance({}, echo=False)

    with pytest.raises(ChannelTimeout, match=re.escape("the echo of 'show version active'")):
        send_one(app, "show version active", timeout=0.2)


def test_clean_handles_ansi_cr_and_backspace() -> None:
    assert clean("\x1b[1mbold\x1b[0m\r\nab\x08c\r\n") == "bold\nac\n"
    assert clean("pager text\r          \rnext") == "next"


def test_show_commands_go_with_their_return_in_one_write_others_wait_for_the_echo() -> None:
    app = ScriptedAppliance({"show version active": ["Active Master Version: 12.6.1\r\nadmin:"],
                             "utils webproxy cache clear rest": ["Cache cleared\r\nadmin:"]})

    async def go() -> tuple[str, str]:
        ch = await logged_in(app)
        return await ch.send("show version active"), await ch.send("utils webproxy cache clear rest")

    assert run(go()) == ("Active Master Version: 12.6.1", "Cache cleared")
    # One round trip for the read-only command; the other is typed, its echo awaited, then return.
    assert app.written == ["show version active\n", "utils webproxy cache clear rest", "\n"]


def test_a_show_command_echoed_otherwise_loses_the_session_at_once_and_nothing_more_is_typed() -> None:
    # The CLI got a different line than the one sent (no echo as typed; it shows what it ran).
    # Invariant (c): an echo that is not ours stops the session; the channel types nothing more.
    app = ScriptedAppliance({"show version active": ["show versoin active\r\nInvalid command\r\nadmin:"],
                             "show status": ["Host Name : node1\r\nadmin:"]}, echo=False)

    async def go() -> None:
        ch = await logged_in(app, timeout=5.0)
        with pytest.raises(LostTrack, match=re.escape("did not echo 'show version active' as sent")) as info:
            await ch.send("show version active")
        assert "show versoin active" in str(info.value)
        assert "lost track of the session" in str(info.value)
        written = len(app.written)
        with pytest.raises(LostTrack, match="nothing more is typed"):
            await ch.send("show status")
        await ch.close()
        assert len(app.written) == written  # not the command, not even `quit`

    started = time.monotonic()
    run(go())
    assert time.monotonic() - started < 4.0  # refused at the prompt, not after the 5 s timeout


def test_a_show_command_echoed_on_a_redrawn_prompt_line_is_accepted() -> None:
    # A line editor that redraws its input line after type-ahead: CR, prompt, the line, CR LF.
    app = ScriptedAppliance({"show status": ["\radmin:show status\r\nHost Name : node1\r\nadmin:"]}, echo=False)

    assert send_one(app, "show status") == "Host Name : node1"


def test_a_long_output_is_not_searched_whole_for_each_chunk() -> None:
    """The prompt ends the text: each chunk of a long output (`show network status` of thousands of
    agents, `file list` of thousands of files) is followed by a search of the last line only, not
    of everything received so far (which made such commands quadratic)."""
    rows = "".join(f"tcp 0 0 10.1.1.10:8445 10.1.20.{i % 250}:{50000 + i} ESTABLISHED\r\n" for i in range(3000))
    app = ScriptedAppliance({"show network status": [rows[i:i + 4096] for i in range(0, len(rows), 4096)]
                             + ["admin:"]})
    searched: list[int] = []

    async def go() -> str:
        ch = await logged_in(app)
        real = ch.prompt_re

        class Spy:
            pattern = real.pattern

            def search(self, text: str, pos: int = 0) -> re.Match[str] | None:
                searched.append(len(text) - pos)
                return real.search(text, pos)
        ch.prompt_re = Spy()  # type: ignore[assignment]
        return await ch.send("show network status")

    out = run(go())
    assert out.count("\n") == 2999 and len(searched) > 30
    assert max(searched) < 200


def test_a_question_spanning_lines_is_still_answered() -> None:
    app = ScriptedAppliance({"utils system restart": ["Warning: the node restarts.\r\nContinue?\r\n(yes/no): "],
                             "no": ["\r\nadmin:"]})

    async def go() -> list[str]:
        ch = await logged_in(app)
        return (await ch.dialog("utils system restart", [Answer(r"Continue\?\n\(yes/no\):", "no")])).answered

    assert len(run(go())) == 1
