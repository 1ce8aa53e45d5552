"""The channel on details its invariant tests leave open (found by bench/mutation.py): what is refused
before it is typed, which commands go in one write, what a read-only command's bare failure costs,
what the errors say, and how the channel leaves a session.

Each case talks to a scripted appliance (tests/test_session_channel.py) on no network at all;
a timeout is only ever the outcome under test, never waited for otherwise.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from ops.secrets import Secret, mask
from ops.session.channel import Answer, VOSChannel, is_read_only
from ops.session.errors import ChannelClosed, ChannelTimeout, CommandFailed, LostTrack
from tests.helpers import run
from tests.test_session_channel import ScriptedAppliance

BARE = "Executed command unsuccessfully"


class Appliance(ScriptedAppliance):
    """A scripted appliance whose replies to a line may change from one time to the next (each list
    in `sequence[line]` is used once, in order), and whose answer to one write comes as one chunk."""

    def __init__(self, replies: dict[str, list[str]] | None = None,
                 sequence: dict[str, list[list[str]]] | None = None, **kw: object) -> None:
        super().__init__(replies or {}, **kw)  # type: ignore[arg-type]
        self.sequence = sequence or {}
        self.sent: list[str] = []

    def write(self, data: str) -> None:
        line = self.line
        for char in data:
            if char in "\r\n":
                self.sent.append(line)
                if self.sequence.get(line):
                    self.replies[line] = self.sequence[line].pop(0)
                line = ""
            else:
                line += char
        super().write(data)
        pieces = []
        while not self.queue.empty():
            pieces.append(self.queue.get_nowait())
        for chunk in re.split("(<EOF>)", "".join(pieces)):
            if chunk:
                self.queue.put_nowait(chunk)


def channel(app: ScriptedAppliance, timeout: float = 2.0, quiet: float = 0.005) -> VOSChannel:
    return VOSChannel(app, app, "admin", timeout=timeout, host="node1", settle=0.01, quiet=quiet, answer_quiet=0.005)


async def logged_in(app: ScriptedAppliance, timeout: float = 2.0, quiet: float = 0.005) -> VOSChannel:
    ch = channel(app, timeout, quiet)
    app.queue.put_nowait("admin:")
    await ch.login(pagination_off=False)
    return ch


# -- what is never typed ------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["\n", "\r", "\t", "\x00", "\x1b", "\x1f", "\x7f"])
def test_a_command_holding_a_control_character_is_refused_before_anything_is_typed(bad: str) -> None:
    app = Appliance({"show status": ["Host : node1\r\nadmin:"]})

    async def go() -> None:
        ch = await logged_in(app)
        with pytest.raises(ValueError) as info:
            await ch.send(f"show status{bad}utils system restart")
        assert str(info.value) == ("refusing to type a command: it holds a line break or control character, which "
                                   "the appliance would take as the end of the line and more")
        assert app.written == []
        assert await ch.send("show status") == "Host : node1"  # the session is still fine

    run(go())


def test_an_answer_holding_a_line_break_stops_the_session_at_its_question() -> None:
    """The appliance waits at the question: half an answer cannot be taken back, so nothing is typed."""
    app = Appliance({"utils reset_ui_password": ["New password: "]})

    async def go() -> None:
        ch = await logged_in(app)
        with pytest.raises(LostTrack, match=re.escape("refusing to type the answer to 'new password'")):
            await ch.dialog("utils reset_ui_password", [Answer("New password:", "Pw-1\nutils system restart",
                                                               name="new password")])
        assert app.sent == ["utils reset_ui_password"]
        with pytest.raises(LostTrack, match="nothing more is typed"):
            await ch.send("show status")
        assert not ch.synchronized

    run(go())


def test_nothing_is_sent_before_the_session_is_synchronized() -> None:
    app = Appliance({"show status": ["Host : node1\r\nadmin:"]})

    async def go() -> None:
        ch = channel(app)
        with pytest.raises(LostTrack, match=re.escape("'show status' was not sent: the session is not synchronized")):
            await ch.send("show status")

    run(go())
    assert app.written == []


# -- one write or echo first ----------------------------------------------------------------

@pytest.mark.parametrize("command, read_only", [
    ("show status", True), ("SHOW   status", True), ("show", True),
    ("file list activelog desktop detail", True), ("file view activelog desktop/x.log", True),
    ("utils ntp status", True), ("utils service list", True),
    ("showx status", False), ("file get activelog desktop/*", False), ("file delete activelog x", False),
    ("utils service restart Cisco Tomcat", False), ("utils ntp restart", False), ("set cli pagination off", False),
])
def test_only_read_only_commands_go_with_their_return_in_one_write(command: str, read_only: bool) -> None:
    """A command that changes state is typed, its echo checked, and only then its return sent."""
    app = Appliance({command: ["ok\r\nadmin:"]})

    async def go() -> str:
        return await (await logged_in(app)).send(command)

    assert run(go()) == "ok"
    assert app.written == ([command + "\n"] if read_only else [command, "\n"])


# -- a read-only command's bare failure ------------------------------------------------------

def test_a_read_only_command_that_prints_only_the_failure_is_sent_again_twice_at_most() -> None:
    app = Appliance(sequence={"show version active": [[BARE + "\r\nadmin:"], [BARE + "\r\nadmin:"],
                                                      ["Active Master Version: 12.5\r\nadmin:"]]})

    async def go() -> tuple[str, str]:
        ch = await logged_in(app)
        return await ch.send("show version active"), ch.transcript.text()

    output, transcript = run(go())
    assert output == "Active Master Version: 12.5"
    assert app.sent == ["show version active"] * 3
    assert transcript.count(f"'show version active' printed only {BARE!r}; it changes nothing, so it is sent again") \
        == 2


def test_three_bare_failures_in_a_row_fail_the_command() -> None:
    app = Appliance({"show status": [BARE + "\r\nadmin:"]})

    async def go() -> str:
        ch = await logged_in(app)
        with pytest.raises(CommandFailed, match=f"node1: 'show status' failed: {BARE}"):
            await ch.send("show status")
        assert await ch.send("show status", check=False) == BARE  # check=False hands the output back
        assert ch.synchronized
        return ch.transcript.text()

    transcript = run(go())
    assert app.sent == ["show status"] * 6
    assert transcript.count("so it is sent again") == 4  # two per command: the third failure is not sent again


def test_a_state_changing_command_is_never_sent_again() -> None:
    app = Appliance({"utils service restart Cisco Tomcat": [BARE + "\r\nadmin:"]})

    async def go() -> str:
        ch = await logged_in(app)
        with pytest.raises(CommandFailed):
            await ch.send("utils service restart Cisco Tomcat")
        return ch.transcript.text()

    assert "sent again" not in run(go())
    assert app.sent == ["utils service restart Cisco Tomcat"]


def test_a_dialog_checks_for_the_failure_unless_told_not_to() -> None:
    app = Appliance({"utils x": ["Proceed? "], "y": ["Invalid state\r\n" + BARE + "\r\nadmin:"]})

    async def go() -> None:
        ch = await logged_in(app)
        with pytest.raises(CommandFailed, match=f"^node1: 'utils x' failed: .*Invalid state / {BARE}$"):
            await ch.dialog("utils x", [Answer(r"Proceed\?", "y")])

    run(go())


def test_a_failure_with_an_explanation_is_not_sent_again() -> None:
    app = Appliance({"show status": ["Service Manager is busy\r\n" + BARE + "\r\nadmin:"]})

    async def go() -> None:
        with pytest.raises(CommandFailed, match=f"Service Manager is busy / {BARE}") as info:
            await (await logged_in(app)).send("show status")
        assert info.value.output == "Service Manager is busy\n" + BARE

    run(go())
    assert app.sent == ["show status"]


# -- what the errors say ----------------------------------------------------------------------

def test_a_timeout_names_the_last_line_seen_cut_to_120_characters_and_masked() -> None:
    Secret("Vis-Secret-5521")
    line = "y" * 30 + "x" * 100 + " token Vis-Secret-5521 end"
    app = Appliance({"utils slow": ["first line\r\n" + line]})

    async def go() -> None:
        with pytest.raises(ChannelTimeout) as info:
            await (await logged_in(app, timeout=0.2)).send("utils slow")
        assert str(info.value) == ("node1: timed out after 0.2s waiting for the 'admin:' prompt after 'utils slow' "
                                   f"(last line seen: {mask(line[-120:])!r})")
        assert "Vis-Secret-5521" not in str(info.value)

    run(go())


def test_a_session_closed_mid_command_is_reported_and_lost() -> None:
    app = Appliance({"utils x": ["working\r\n", "<EOF>"]})

    async def go() -> None:
        ch = await logged_in(app)
        with pytest.raises(ChannelClosed, match=re.escape("node1: the appliance closed the session while waiting "
                                                          "for the 'admin:' prompt after 'utils x'")):
            await ch.send("utils x")
        written = len(app.written)
        with pytest.raises(LostTrack, match=re.escape("not sending 'show status': the session was lost earlier")):
            await ch.send("show status")
        await ch.close()
        assert len(app.written) == written

    run(go())


def test_a_session_closed_while_the_line_settles_is_reported_and_lost() -> None:
    app = Appliance({"show status": ["Host : node1\r\nadmin:"]})

    async def go() -> None:
        ch = await logged_in(app, quiet=0.5)
        app.queue.put_nowait("<EOF>")
        with pytest.raises(ChannelClosed, match="node1: the appliance closed the session$"):
            await ch.send("utils service restart Cisco Tomcat")
        assert not ch.synchronized
        with pytest.raises(LostTrack, match="the appliance closed the session"):
            await ch.send("show status")

    run(go())
    assert app.written == []


def test_a_write_to_a_closed_session_is_channel_closed() -> None:
    class Broken(Appliance):
        def write(self, data: str) -> None:
            raise BrokenPipeError("broken pipe")

    async def go() -> None:
        ch = await logged_in(Broken())
        with pytest.raises(ChannelClosed, match="node1: cannot send input, the session is closed"):
            await ch.send("show status")
        await ch.close()  # not synchronized any more: nothing to do, no error

    run(go())


# -- login and leaving -----------------------------------------------------------------------

def test_login_keeps_the_banner_and_ends_synchronized_with_paging_off() -> None:
    app = Appliance({"set cli pagination off": ["Automatic Pagination : Off\r\nadmin:"]})

    async def go() -> tuple[str, bool, str]:
        ch = channel(app)
        app.queue.put_nowait("Welcome to Cisco Finesse\r\nVersion 12.6\r\n\r\nadmin:")
        banner = await ch.login()
        return banner, ch.synchronized, ch.banner

    banner, synchronized, kept = run(go())
    assert banner == kept == "Welcome to Cisco Finesse\nVersion 12.6\n"
    assert synchronized
    assert app.sent == ["set cli pagination off"]


def test_a_pagination_marker_without_its_answer_loses_the_session() -> None:
    """A prompt redrawn late can end the marker before its answer: then which prompt ended what is unknown."""
    app = Appliance({"set cli pagination off": ["admin:"]})

    async def go() -> None:
        ch = channel(app)
        app.queue.put_nowait("admin:")
        with pytest.raises(LostTrack, match=re.escape("the marker 'set cli pagination off' ended without its own "
                                                      "answer (got '')")):
            await ch.login()
        assert not ch.synchronized

    run(go())


def test_leaving_types_quit_only_at_a_synchronized_prompt() -> None:
    app = Appliance({"show status": ["Host : node1\r\nadmin:"]})

    async def go() -> None:
        ch = await logged_in(app)
        await ch.close()
        assert app.written[-1:] == ["quit\n"]

        class Gone(Appliance):
            def write(self, data: str) -> None:
                raise OSError("closed")

        gone = await logged_in(Gone())
        await gone.close()  # the session went first: leaving is still quiet

    run(go())


# -- echo ---------------------------------------------------------------------------------------

def test_an_echo_that_is_not_the_command_stops_it_before_its_return() -> None:
    class Mangled(Appliance):
        def write(self, data: str) -> None:
            super().write(data.replace("Tomcat", "Tomcar"))

    app = Mangled({"utils service restart Cisco Tomcar": ["Restarted\r\nadmin:"]})

    async def go() -> None:
        ch = await logged_in(app)
        with pytest.raises(LostTrack, match=re.escape("the echo of 'utils service restart Cisco Tomcat' did not "
                                                      "come back as typed")):
            await ch.send("utils service restart Cisco Tomcat")

    run(go())
    assert "\n" not in app.written


def test_an_echo_respaced_by_the_appliance_is_accepted() -> None:
    class Respacing(Appliance):
        def write(self, data: str) -> None:
            if data == "utils service restart Cisco Tomcat":
                self.line = data
                self.queue.put_nowait("utils service restart\r\n   Cisco Tomcat")
                return
            super().write(data)

    app = Respacing({"utils service restart Cisco Tomcat": ["Restarted\r\nadmin:"]})

    async def go() -> str:
        return await (await logged_in(app)).send("utils service restart Cisco Tomcat")

    assert run(go()) == "Restarted"


def test_text_between_the_echo_and_its_return_stops_the_command() -> None:
    broadcast = "Broadcast from root: the system is going down for maintenance in five minutes, " * 2

    class Chatty(Appliance):
        def write(self, data: str) -> None:
            if data == "\n":
                self.queue.put_nowait(broadcast)
            super().write(data)

    app = Chatty({"utils service restart Cisco Tomcat": ["Restarted\r\nadmin:"]})

    async def go() -> None:
        ch = await logged_in(app)
        with pytest.raises(LostTrack) as info:
            await ch.send("utils service restart Cisco Tomcat")
        assert str(info.value) == (f"node1: lost track of the session: {broadcast.strip()[:120]!r} came between the "
                                   "echo of 'utils service restart Cisco Tomcat' and its return; nothing more was "
                                   "typed")

    run(go())


def test_text_before_a_read_only_commands_echo_stops_it() -> None:
    app = Appliance({"show status": ["Host : node1\r\nadmin:"]}, echo=False)

    async def go() -> None:
        ch = await logged_in(app)

        def noisy(data: str) -> None:
            app.queue.put_nowait("stale line\r\nshow status\r\nHost : node1\r\nadmin:")
            app.written.append(data)

        app.write = noisy  # type: ignore[method-assign]
        with pytest.raises(LostTrack, match=re.escape("'stale line' came before the echo of 'show status'")):
            await ch.send("show status")

    run(go())


# -- dialogs -------------------------------------------------------------------------------------

def test_an_answer_that_is_not_once_is_given_each_time_its_question_comes() -> None:
    app = Appliance({"utils x": ["Continue [y/n]? "], "n": ["Stopped\r\nadmin:"]},
                    sequence={"y": [["Continue [y/n]? "], ["Last one? "]]})

    async def go() -> tuple[list[str], str]:
        ch = await logged_in(app)
        result = await ch.dialog("utils x", [Answer(r"Continue \[y/n\]\?", "y", once=False, name="continue"),
                                             Answer(r"Last one\?", "n")])
        return result.answered, result.output

    answered, output = run(go())
    assert answered == ["continue", "continue", r"Last one\?"]
    # The output holds the whole dialog: the questions with what was typed, then what followed.
    assert output == "Continue [y/n]? y\nContinue [y/n]? y\nLast one? n\nStopped"


def test_a_once_answer_is_not_given_twice() -> None:
    app = Appliance({"utils x": ["Password: "], "Pw-1": ["\r\nPassword: "]})

    async def go() -> None:
        ch = await logged_in(app, timeout=0.2)
        with pytest.raises(ChannelTimeout, match=re.escape("waiting for the 'admin:' prompt after 'utils x' (last")):
            await ch.dialog("utils x", [Answer("Password:", "Pw-1")])

    run(go())
    assert app.sent == ["utils x", "Pw-1"]


def test_a_silence_is_not_a_stall_while_progress_moves() -> None:
    """With `progress`, the step's timeout bounds a silence in which nothing moves, not the transfer."""
    app = Appliance({"file get activelog x": ["pushing\r\n"]})
    moved = [0]

    async def go() -> str:
        ch = await logged_in(app, timeout=0.2)

        async def transfer() -> None:
            for _ in range(12):  # 0.6 s of silence in the CLI (three timeouts), bytes arriving all along
                await asyncio.sleep(0.05)
                moved[0] += 1000
            app.queue.put_nowait("Transfer completed.\r\nadmin:")

        task = asyncio.ensure_future(transfer())
        result = await ch.dialog("file get activelog x", [], progress=lambda: moved[0])
        await task
        return result.output

    assert run(go()) == "pushing\nTransfer completed."


def test_a_pattern_that_runs_away_stops_the_session() -> None:
    """A playbook's prompt pattern that backtracks without end: the search is bounded, the session lost."""
    app = Appliance({"utils x": ["a" * 40 + "!"]})

    async def go() -> None:
        ch = await logged_in(app)
        with pytest.raises(LostTrack, match=re.escape("node1: lost track of the session: prompt "
                                                      + repr("(a|aa)+$" + r"[ \t]*$") + " took over")):
            await ch.dialog("utils x", [Answer("(a|aa)+$", "y")])

    run(go())


@pytest.mark.parametrize("command, read_only", [
    ("show status", True), ("  Show   Version active", True), ("utils service list", True),
    ("utils service restart Cisco Finesse Tomcat", False), ("shows", False), ("file get activelog x", False),
])
def test_is_read_only_says_which_commands_may_be_repeated(command: str, read_only: bool) -> None:
    """What a cli step may repeat (until/retries) without repeat_changes: true."""
    assert is_read_only(command) is read_only


# -- echoes arriving a character at a time, as a PTY sends them ---------------------------------

class Echoing(ScriptedAppliance):
    """Before echoing a state-changing command (a character at a time), sends `lead`, a character at
    a time too; `echo` replaces the command's echo when given."""

    def __init__(self, lead: str, echo: str | None = None, whole: bool = False) -> None:
        super().__init__({RESTART: ["Restarted\r\nadmin:"]})
        self.lead, self.echo_text, self.whole = lead, echo, whole

    def write(self, data: str) -> None:
        if data == RESTART:
            for piece in [self.lead] if self.whole else self.lead:
                self.queue.put_nowait(piece)
            if self.echo_text is not None:
                self.line = data
                for char in self.echo_text:
                    self.queue.put_nowait(char)
                return
        super().write(data)


RESTART = "utils service restart Cisco Tomcat"


def restart(app: ScriptedAppliance, timeout: float = 2.0) -> str:
    async def go() -> str:
        ch = await logged_in(app, timeout=timeout)
        return await asyncio.wait_for(ch.send(RESTART), 10)

    return run(go())  # type: ignore[no-any-return]


@pytest.mark.parametrize("lead", ["\r\nadmin:", "\r\nadmin:\r\nadmin:", "\r\n admin:"])
def test_prompts_redrawn_before_the_echo_are_only_prompts(lead: str) -> None:
    assert restart(Echoing(lead)) == "Restarted"


@pytest.mark.parametrize("lead, echo", [("Broadcast: going down\r\n", None), ("", "utils serviceX")])
def test_an_echo_that_goes_wrong_is_refused_as_soon_as_it_does(lead: str, echo: str | None) -> None:
    """Not after a timeout: the first character that cannot be part of the echo stops the command."""
    app = Echoing(lead, echo)
    with pytest.raises(LostTrack, match=re.escape(f"the echo of {RESTART!r} did not come back as typed")):
        restart(app, timeout=5.0)
    assert "\n" not in app.written


def test_an_echo_wrapped_onto_a_second_line_a_character_at_a_time_is_accepted() -> None:
    """Found by the mutation run: a partial echo on a second line was refused, though the whole one is taken."""
    assert restart(Echoing("", "utils service restart\r\n   Cisco Tomcat")) == "Restarted"
    assert restart(Echoing("admin:\r\n", "utils service\r\nrestart Cisco\r\n  Tomcat")) == "Restarted"


@pytest.mark.parametrize("echo", ["utils service restart\r\nCisco Finesse",
                                  "utils service\r\nadmin:restart Cisco Tomcat",
                                  "utils service\r\nBroadcast: going down"])
def test_a_wrapped_echo_that_is_not_the_command_still_loses_track(echo: str) -> None:
    with pytest.raises(LostTrack, match="did not come back as typed"):
        restart(Echoing("", echo))


def test_a_wrong_echo_is_quoted_by_its_last_120_characters() -> None:
    seen = "Broadcast from root: " + "".join(chr(ord("a") + i % 26) for i in range(150))
    app = Echoing(seen, whole=True)
    with pytest.raises(LostTrack) as info:
        restart(app)
    assert str(info.value) == (f"node1: lost track of the session: the echo of {RESTART!r} did not come back as "
                               f"typed (seen: {seen[-120:]!r}); its return was not sent; nothing more was typed")


def test_a_state_changing_command_never_echoed_times_out_naming_its_echo() -> None:
    app = ScriptedAppliance({}, echo=False)

    async def go() -> None:
        ch = await logged_in(app, timeout=0.2)
        expected = f"timed out after 0.2s waiting for the echo of {RESTART!r}"
        with pytest.raises(ChannelTimeout, match=re.escape(expected)):
            await asyncio.wait_for(ch.send(RESTART), 10)

    run(go())
    assert app.written == [RESTART]  # its return never sent


def test_a_lost_session_says_so_in_the_transcript() -> None:
    app = Echoing("Broadcast: going down\r\n")

    async def go() -> str:
        ch = await logged_in(app)
        with pytest.raises(LostTrack):
            await ch.send(RESTART)
        return ch.transcript.text()

    assert (f"### lost track of the session: the echo of {RESTART!r} did not come back as typed (seen: 'B'); "
            "its return was not sent; nothing more is typed\n") in run(go())


# -- read-only commands' echoes ----------------------------------------------------------------

@pytest.mark.parametrize("first", ["  show versoin active", "Xshow version active " + "q" * 130])
def test_a_read_only_command_run_as_something_else_names_the_first_line_seen(first: str) -> None:
    app = ScriptedAppliance({"show version active": [first + "\r\nInvalid command\r\nadmin:"]}, echo=False)

    async def go() -> None:
        ch = await logged_in(app)
        with pytest.raises(LostTrack) as info:
            await ch.send("show version active")
        assert str(info.value) == ("node1: lost track of the session: the appliance did not echo 'show version "
                                   f"active' as sent (first line seen: {first[:120]!r}); nothing more was typed")

    run(go())


def test_a_read_only_command_naming_its_first_word_again_runs() -> None:
    command = "file list activelog desktop/file detail"
    app = ScriptedAppliance({command: ["07 Jan,2017 23:59:59 1 a.log\r\nadmin:"]})

    async def go() -> str:
        return await (await logged_in(app)).send(command)

    assert run(go()) == "07 Jan,2017 23:59:59 1 a.log"


def test_text_before_a_read_only_echo_is_quoted_by_its_last_120_characters() -> None:
    stale = "stale: " + "".join(chr(ord("a") + i % 26) for i in range(150))
    app = ScriptedAppliance({"show status": [stale + "\r\nshow status\r\nHost : node1\r\nadmin:"]}, echo=False)

    async def go() -> None:
        ch = await logged_in(app)
        with pytest.raises(LostTrack) as info:
            await ch.send("show status")
        assert str(info.value) == (f"node1: lost track of the session: {stale[-120:]!r} came before the echo of "
                                   "'show status'; nothing more was typed")

    run(go())


# -- the end of a command ----------------------------------------------------------------------

def test_a_commands_own_timeout_bounds_its_silences() -> None:
    app = ScriptedAppliance({"show status": ["Host : node1\r\n"]})  # and no prompt

    async def go() -> None:
        ch = await logged_in(app, timeout=5.0)
        with pytest.raises(ChannelTimeout, match=re.escape("timed out after 0.3s waiting for the 'admin:' prompt")):
            await asyncio.wait_for(ch.send("show status", timeout=0.3), 10)

    run(go())


def test_a_prompt_followed_by_a_line_break_still_ends_the_command() -> None:
    app = ScriptedAppliance({"show status": ["Host : node1\r\nadmin:\r\n"], "show version active": ["12.6\r\nadmin:"]})

    async def go() -> tuple[str, str]:
        ch = await logged_in(app)
        first = await asyncio.wait_for(ch.send("show status"), 10)
        return first, await ch.send("show version active")

    assert run(go()) == ("Host : node1", "12.6")


def test_questions_are_looked_for_only_near_the_end_of_a_long_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """As the prompt (test_a_long_output_is_not_searched_whole_for_each_chunk): a dialog whose command
    prints thousands of lines stays linear, each chunk searched for the questions only at its end."""
    import ops.session.channel as channel_module

    rows = "".join(f"file {i:05d} queued for transfer\r\n" for i in range(3000))
    app = ScriptedAppliance({"utils x": [rows[i:i + 4096] for i in range(0, len(rows), 4096)]
                             + ["Proceed? "], "y": ["done\r\nadmin:"]})
    searched: list[int] = []
    real = channel_module.search

    def spy(compiled: object, text: str, pos: int = 0, *, what: str = "pattern") -> object:
        searched.append(len(text) - pos)
        return real(compiled, text, pos, what=what)

    monkeypatch.setattr(channel_module, "search", spy)

    async def go() -> list[str]:
        ch = await logged_in(app)
        return (await ch.dialog("utils x", [Answer(r"Proceed\?", "y")])).answered

    assert run(go()) == [r"Proceed\?"]
    assert len(searched) > 20 and max(searched) <= 4096


# -- more of what the errors say --------------------------------------------------------------

@pytest.mark.parametrize("screen, last", [
    ("line one\r\nline two\r\nwaiting for host X\r\n", "waiting for host X"),
    ("line one\r\nline two\r\nPassword: ", "Password: "),
])
def test_a_timeout_quotes_the_last_line_as_it_stands(screen: str, last: str) -> None:
    app = Appliance({"utils slow": [screen]})

    async def go() -> None:
        with pytest.raises(ChannelTimeout) as info:
            await (await logged_in(app, timeout=0.2)).send("utils slow")
        assert str(info.value).endswith(f"(last line seen: {last!r})")

    run(go())


def test_no_prompt_at_all_times_out_naming_the_first_prompt_and_an_empty_screen() -> None:
    app = Appliance()

    async def go() -> None:
        with pytest.raises(ChannelTimeout) as info:
            await channel(app).login(timeout=0.2)
        assert str(info.value) == ("node1: timed out after 0.2s waiting for the first 'admin:' prompt "
                                   "(last line seen: '')")

    run(go())


def test_a_banner_that_goes_on_without_a_prompt_times_out_after_the_login_timeout() -> None:
    app = Appliance()

    async def go() -> None:
        ch = channel(app, timeout=5.0)
        app.queue.put_nowait("admin:")
        app.queue.put_nowait("\r\nCommand Line Interface is starting up, please wait ...")
        with pytest.raises(ChannelTimeout) as info:
            await asyncio.wait_for(ch.login(timeout=0.2), 10)
        assert str(info.value) == ("node1: timed out after 0.2s waiting for the 'admin:' prompt after more banner "
                                   "(last line seen: 'Command Line Interface is starting up, please wait ...')")

    run(go())


def test_after_more_banner_the_line_must_stay_quiet_again_before_anything_is_typed() -> None:
    """Invariant (a) restarts at the prompt that ends the banner: nothing is typed `settle` after it."""
    app = Appliance({"set cli pagination off": ["Automatic Pagination : Off\r\nadmin:"]})
    stamps: list[float] = []

    async def go() -> None:
        ch = VOSChannel(app, app, "admin", timeout=5, host="node1", settle=0.3, quiet=0.01)
        loop = asyncio.get_running_loop()
        app.queue.put_nowait("admin:")
        app.queue.put_nowait("\r\nmore banner\r\nadmin:")
        stamps.append(loop.time())
        real = app.write

        def timed(data: str) -> None:
            stamps.append(loop.time())
            real(data)

        app.write = timed  # type: ignore[method-assign]
        await ch.login()

    run(go())
    assert stamps[1] - stamps[0] >= 0.29


def test_output_while_idle_is_quoted_by_its_last_120_characters() -> None:
    late = "late: " + "".join(chr(ord("a") + i % 26) for i in range(150))
    app = Appliance({RESTART: ["Restarted\r\nadmin:"]})

    async def go() -> None:
        ch = await logged_in(app, quiet=0.5)  # the quiet wait before a restart sees the late output
        app.queue.put_nowait(late + "\r\n")
        with pytest.raises(LostTrack) as info:
            await ch.send(RESTART)
        assert str(info.value) == ("node1: lost track of the session: output arrived while the session sat at its "
                                   f"prompt: {late[-120:]!r}; nothing more was typed")

    run(go())


def test_a_session_closed_during_login_is_lost_for_what_comes_after() -> None:
    app = Appliance()

    async def go() -> None:
        ch = channel(app)
        app.queue.put_nowait("admin:")
        app.queue.put_nowait("<EOF>")
        with pytest.raises(ChannelClosed, match="^node1: the appliance closed the session$"):
            await ch.login(pagination_off=False)
        with pytest.raises(LostTrack) as info:
            await ch.send("show status")
        assert str(info.value) == ("node1: not sending 'show status': the session was lost earlier (the appliance "
                                   "closed the session); nothing more is typed into it")

    run(go())
    assert app.written == []


def test_a_channel_without_a_host_name_calls_it_the_appliance() -> None:
    app = Appliance()

    async def go() -> None:
        with pytest.raises(LostTrack, match="^appliance: lost track of the session: 'show status' was not sent"):
            await VOSChannel(app, app, "admin").send("show status")

    run(go())


# -- the waits that make the channel safe are short --------------------------------------------

def test_a_state_changing_command_waits_quiet_0_15_s_not_much_more() -> None:
    """README, invariant (d): `quiet` is 0.15 s; a generous bound above it (not a tight timing)."""
    app = Appliance({"show status": ["Host : node1\r\nadmin:"], RESTART: ["Restarted\r\nadmin:"]})
    stamps: list[float] = []

    async def go() -> None:
        ch = VOSChannel(app, app, "admin", timeout=5, host="node1", settle=0.01)
        app.queue.put_nowait("admin:")
        await ch.login(pagination_off=False)
        await ch.send("show status")
        stamps.append(time.monotonic())  # the prompt has just come
        real = app.write

        def timed(data: str) -> None:
            stamps.append(time.monotonic())
            real(data)

        app.write = timed  # type: ignore[method-assign]
        await ch.send(RESTART)

    run(go())
    assert 0.14 <= stamps[1] - stamps[0] < 0.9


def test_an_answer_waits_answer_quiet_50_ms_not_much_more() -> None:
    """README: 50 ms after what looks like a question; a generous bound above it (not a tight timing)."""
    app = Appliance({"utils x": ["Proceed? "], "y": ["done\r\nadmin:"]})
    stamps: list[float] = []

    async def go() -> None:
        ch = VOSChannel(app, app, "admin", timeout=5, host="node1", settle=0.01, quiet=0.01)
        app.queue.put_nowait("admin:")
        await ch.login(pagination_off=False)
        real = app.write

        def timed(data: str) -> None:
            stamps.append(time.monotonic())
            real(data)

        app.write = timed  # type: ignore[method-assign]
        await ch.dialog("utils x", [Answer(r"Proceed\?", "y")])

    run(go())
    assert app.written[-1] == "y\n"
    assert 0.045 <= stamps[-1] - stamps[-2] < 0.8  # from the command's return to the answer


def test_a_long_output_is_cleaned_once_not_again_with_each_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """clean() is line-local: each chunk costs its own lines, so a long output stays linear."""
    import ops.session.channel as channel_module

    rows = "".join(f"tcp 0 0 10.1.1.10:8445 10.1.20.{i % 250}:{50000 + i} ESTABLISHED\r\n" for i in range(3000))
    app = ScriptedAppliance({"show network status": [rows[i:i + 4096] for i in range(0, len(rows), 4096)]
                             + ["admin:"]})
    cleaned = [0]
    real = channel_module.clean

    def counting(text: str) -> str:
        cleaned[0] += len(text)
        return real(text)

    async def go() -> str:
        ch = await logged_in(app)
        monkeypatch.setattr(channel_module, "clean", counting)
        return await ch.send("show network status")

    assert run(go()).count("\n") == 2999
    assert cleaned[0] < 3 * len(rows)


def test_the_channel_over_a_real_ssh_session_to_the_lab() -> None:
    """The scripted appliances above ignore how much is asked of read(); asyncssh's reader does not."""
    from ops.lab.server import LabAppliance, LabConfig
    from ops.session.driver import Driver, DriverOptions
    from ops.session.hostkey import HostKeyPolicy
    from ops.session.transcript import Transcript
    from ops.session.transport import Target
    from tests.helpers import LAB_PASSWORD

    async def go() -> str:
        async with LabAppliance(LabConfig(password=LAB_PASSWORD)) as lab:
            policy = HostKeyPolicy("fingerprint", fingerprint=lab.host_key_fingerprint())
            target = Target("node1", lab.host, lab.port, "admin", Secret(LAB_PASSWORD), policy, connect_timeout=5)
            driver = Driver(target, Transcript(), DriverOptions(timeout=10, settle=0.05))
            try:
                return await (await driver.open()).send("show version active")
            finally:
                await driver.close()

    assert "Active Master Version" in run(go())


def test_a_progress_line_redrawn_with_cr_after_the_echo_keeps_only_its_last_state() -> None:
    """The echo and the first state of a progress line come in one read, its redraw in the next."""
    app = ScriptedAppliance({"show status": ["show status\r\nprogress 10%", "\rprogress 100%\r\nadmin:"]},
                            echo=False)

    async def go() -> str:
        return await (await logged_in(app)).send("show status")

    assert run(go()) == "progress 100%"


# -- pagers, markers and what is typed when ------------------------------------------------------

PAGER = "options: q=quit, n=next, p=prev, b=begin, e=end (lines 1 - 2 of 3) : "


def test_a_pager_after_a_long_output_is_looked_for_on_the_last_line_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import ops.session.channel as channel_module

    rows = "".join(f"07 Jan,2017 23:59:59 {i:,} Desktop-webservices.{i:05d}.log\r\n" for i in range(3000))
    app = ScriptedAppliance({"file list activelog desktop detail": [rows[i:i + 4096] for i in range(0, len(rows), 4096)]
                             + [PAGER], "<key 'n'>": ["\r" + " " * len(PAGER) + "\rlast.log\r\nadmin:"]})
    searched: list[int] = []
    real = channel_module.PAGER_RE

    class Spy:
        def search(self, text: str, pos: int = 0) -> re.Match[str] | None:
            searched.append(len(text) - pos)
            return real.search(text, pos)

    monkeypatch.setattr(channel_module, "PAGER_RE", Spy())

    async def go() -> str:
        return await (await logged_in(app)).send("file list activelog desktop detail")

    assert run(go()).endswith("Desktop-webservices.02999.log\nlast.log")
    assert "n" in app.written and len(searched) > 30 and max(searched) < 200


def test_a_pager_prompt_followed_by_a_line_break_is_still_answered() -> None:
    app = ScriptedAppliance({"file list activelog desktop detail": ["a.log\r\nb.log\r\n" + PAGER + "\r\n"],
                             "<key 'n'>": ["\rc.log\r\nadmin:"]})

    async def go() -> str:
        ch = await logged_in(app)
        return await asyncio.wait_for(ch.send("file list activelog desktop detail"), 10)

    assert run(go()) == "a.log\nb.log\nc.log"
    assert "n" in app.written


def test_a_login_banner_that_pages_is_paged_through() -> None:
    app = ScriptedAppliance({"<key ' '>": ["\r" + " " * 70 + "\rrest of the notice\r\nadmin:"]})

    async def go() -> str:
        ch = channel(app)
        app.queue.put_nowait("Authorized use only.\r\nPress <enter> for 1 line, <space> for one page, or <q> to quit")
        return await asyncio.wait_for(ch.login(pagination_off=False), 10)

    assert run(go()) == "Authorized use only.\nrest of the notice"
    assert app.written == [" "]


def test_a_pagination_marker_answered_otherwise_is_quoted_by_120_characters() -> None:
    answer = "Welcome back. " * 20
    app = Appliance({"set cli pagination off": [answer + "\r\nadmin:"]})

    async def go() -> None:
        ch = channel(app)
        app.queue.put_nowait("admin:")
        with pytest.raises(LostTrack) as info:
            await ch.login()
        assert str(info.value) == ("node1: lost track of the session: the marker 'set cli pagination off' ended "
                                   f"without its own answer (got {answer.strip()[:120]!r}): a prompt was drawn again; "
                                   "nothing more was typed")

    run(go())


def test_a_read_only_command_does_not_wait_for_a_quiet_line() -> None:
    """Only commands that change state wait `quiet`; a `show` goes at once (a generous bound, not a timing)."""
    app = Appliance({"show status": ["Host : node1\r\nadmin:"], "show version active": ["12.6\r\nadmin:"]})
    stamps: list[float] = []

    async def go() -> None:
        ch = await logged_in(app, quiet=6.0)
        await ch.send("show status")
        stamps.append(time.monotonic())
        await ch.send("show version active")
        stamps.append(time.monotonic())

    run(go())
    assert stamps[1] - stamps[0] < 3.0  # a wait would be 6 s


def test_a_command_cancelled_midway_leaves_nothing_more_typed() -> None:
    """Ctrl-C in the middle of a command: the session is somewhere in it, so not even `quit` goes in."""
    app = Appliance({RESTART: ["Stopping Cisco Tomcat ...\r\n"]})

    async def go() -> None:
        ch = await logged_in(app)
        task = asyncio.ensure_future(ch.send(RESTART))
        while "\n" not in app.written:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        typed = list(app.written)
        await ch.close()
        assert app.written == typed and not ch.synchronized

    run(go())


def test_an_echo_whose_return_never_comes_back_times_out_naming_it() -> None:
    class Swallowing(Appliance):
        def write(self, data: str) -> None:
            if data == "\n":
                return  # the return is lost on the way
            super().write(data)

    app = Swallowing()

    async def go() -> None:
        ch = await logged_in(app, timeout=0.2)
        expected = f"timed out after 0.2s waiting for the end of the echoed line of {RESTART!r}"
        with pytest.raises(ChannelTimeout, match=re.escape(expected)):
            await asyncio.wait_for(ch.send(RESTART), 10)

    run(go())


def test_a_silence_with_no_progress_costs_one_timeout_not_two() -> None:
    """Progress is compared with its value when the command went: nothing moved, so the first
    timeout is the stall (README: a pause with no bytes fails after the timeout; two would be 2 s)."""
    app = Appliance({"file get activelog x": ["pushing\r\n"]})

    async def go() -> float:
        ch = await logged_in(app, timeout=1.0)
        started = time.monotonic()
        with pytest.raises(ChannelTimeout, match="timed out after 1s"):
            await asyncio.wait_for(ch.dialog("file get activelog x", [], progress=lambda: 4096), 10)
        return time.monotonic() - started

    assert run(go()) < 1.9


def test_after_a_timeout_mid_dialog_the_refusals_say_why() -> None:
    app = Appliance({"file get activelog x": ["Would you like to proceed [y/n]? "]})

    async def go() -> None:
        ch = await logged_in(app, timeout=0.2)
        with pytest.raises(ChannelTimeout):
            await ch.dialog("file get activelog x", [])
        with pytest.raises(LostTrack) as info:
            await ch.send("show status")
        assert str(info.value).startswith("node1: not sending 'show status': the session was lost earlier (node1: "
                                          "timed out after 0.2s waiting for the 'admin:' prompt after 'file get "
                                          "activelog x'")

    run(go())


def test_a_transfer_that_moved_and_then_froze_still_times_out() -> None:
    """Progress excuses a silence only while it moves: once it stops, the next timeout is a stall."""
    app = Appliance({"file get activelog x": ["pushing\r\n"]})
    moved = [0]

    async def go() -> None:
        ch = await logged_in(app, timeout=0.2)

        async def transfer() -> None:
            for _ in range(6):  # bytes for 0.3 s, then nothing more ever
                await asyncio.sleep(0.05)
                moved[0] += 1000

        task = asyncio.ensure_future(transfer())
        with pytest.raises(ChannelTimeout, match="timed out after 0.2s"):
            await asyncio.wait_for(ch.dialog("file get activelog x", [], progress=lambda: moved[0]), 5)
        await task

    run(go())


@pytest.mark.parametrize("printed", ["   Host Name : node1\r\n   Uptime : 12 days", "XMPP Service [STARTED]\r\n"
                                     "Cisco Finesse Tomcat [STARTED] X"])
def test_the_output_is_handed_back_as_printed_but_for_blank_lines_around_it(printed: str) -> None:
    app = Appliance({"show status": ["\r\n" + printed + "\r\n\r\nadmin:"]})

    async def go() -> str:
        return await (await logged_in(app)).send("show status")

    assert run(go()) == printed.replace("\r\n", "\n")


# -- what arrived while nobody was reading ---------------------------------------------------------


@pytest.mark.parametrize("command", ["utils webproxy cache clear rest", "show status"])
def test_a_question_that_arrived_unread_while_the_session_was_idle_stops_the_command_untyped(command: str) -> None:
    """(c)/(d): output that came while the session sat at its prompt means it is not where we think,
    even when the channel was not reading at the time (the runner busy elsewhere for longer than
    `quiet`): nothing may be typed, least of all a read-only command with its return, which would
    answer the question. Found by the mutation run: _settle measured the quiet from the last byte it
    read and returned without reading what was already buffered."""
    app = Appliance({command: ["Done\r\nadmin:"]})

    async def go() -> None:
        ch = await logged_in(app, quiet=0.005)
        await asyncio.sleep(0.1)  # idle for 20 times `quiet`: the line was quiet when last read
        app.queue.put_nowait("\r\nNew Password:")  # arrives, unread, while the session is idle
        with pytest.raises(LostTrack, match="output arrived while the session sat at its prompt"):
            await ch.send(command)
        assert app.written == [] and app.sent == []

    run(go())


def test_a_line_received_before_a_pager_prompt_is_cleaned_once_like_any_other() -> None:
    """What came before a pager prompt is kept as received text (cleaned once), then the rest of the
    output follows: the output is the same as when it all comes without a pager. (An escape sequence
    written inside another leaves one behind after cleaning; cleaning that line a second time would
    take it out, so a line's text would depend on where the appliance paged.)"""
    lines = "line A\r\nline \x1b\x1b[0m[0m B\r\n"
    pager = "Press <enter> for 1 line, <space> for one page, or <q> to quit"
    paged = Appliance({"show big": [lines + pager], "<key ' '>": ["\r" + " " * len(pager) + "\rline C\r\nadmin:"]})
    whole = Appliance({"show big": [lines + "line C\r\nadmin:"]})

    async def go(app: Appliance) -> str:
        return await (await logged_in(app)).send("show big")

    expected = run(go(whole))
    assert expected == "line A\nline \x1b[0m B\nline C"
    assert run(go(paged)) == expected


class RedrawnOnTheLine(ScriptedAppliance):
    """Draws its prompt once more on the same line (no line break) as the command is typed, a
    character at a time, then echoes the command."""

    def __init__(self, command: str, replies: dict[str, list[str]]) -> None:
        super().__init__(replies)
        self.command = command
        self.drawn = False

    def write(self, data: str) -> None:
        if not self.drawn and data == self.command:
            self.drawn = True
            for char in "admin: admin: ":
                self.queue.put_nowait(char)
        super().write(data)


def test_a_prompt_drawn_twice_on_one_line_before_the_echo_is_accepted_however_it_arrives() -> None:
    """Found by the mutation run: arriving in pieces, `admin: admin: utils ...` was taken for a wrong
    echo (LostTrack), though the same text in one read was accepted."""
    command = "utils webproxy cache clear rest"
    app = RedrawnOnTheLine(command, {command: ["Cleared\r\nadmin:"]})

    async def go() -> str:
        return await (await logged_in(app)).send(command)

    assert run(go()) == "Cleared"
    assert app.written == [command, "\n"]


def test_with_answer_quiet_0_a_prompt_right_after_the_echo_ends_the_command_without_looking_further() -> None:
    """answer_quiet=0 turns off the wait for a prompt drawn twice: the first prompt ends the command,
    and what is already waiting behind it is left for the next command's check (which then stops)."""
    app = ScriptedAppliance({"show x": ["admin:", "late\r\nadmin:"]})

    async def go() -> None:
        ch = VOSChannel(app, app, "admin", timeout=2, host="node1", settle=0.01, quiet=0.005, answer_quiet=0)
        app.queue.put_nowait("admin:")
        await ch.login(pagination_off=False)
        assert await ch.send("show x") == ""
        with pytest.raises(LostTrack, match="output arrived while the session sat at its prompt"):
            await ch.send("show x")

    run(go())


def test_with_answer_quiet_0_a_question_is_answered_as_soon_as_it_is_seen() -> None:
    """answer_quiet=0 turns off the wait after a question too: it is answered when seen, whatever is
    already waiting behind it."""
    app = ScriptedAppliance({"utils x": ["Proceed? ", "\r\nmore"], "y": ["\r\nDone\r\nadmin:"]})

    async def go() -> list[str]:
        ch = VOSChannel(app, app, "admin", timeout=2, host="node1", settle=0.01, quiet=0.005, answer_quiet=0)
        app.queue.put_nowait("admin:")
        await ch.login(pagination_off=False)
        return (await ch.dialog("utils x", [Answer(r"Proceed\?", "y", name="proceed")])).answered

    assert run(go()) == ["proceed"]
    assert app.written == ["utils x", "\n", "y\n"]


class SilentReturn(Appliance):
    """An appliance that echoes nothing of a hidden answer, not even its return (echo off)."""

    def write(self, data: str) -> None:
        if self.line == "" and data.endswith("\n") and data[:-1] in ("Pw-1",):
            self.written.append(data)
            for piece in self.replies.get(data[:-1], []):
                self.queue.put_nowait(piece)
            return
        super().write(data)


def test_a_prompt_drawn_right_after_a_hidden_answer_is_an_extra_prompt() -> None:
    """The text after an answer starts a line (the answer's return), echoed or not: a bare prompt
    there is a prompt drawn twice, and the session is lost, not read as the command's output."""
    app = SilentReturn({"utils x": ["Password:"], "Pw-1": ["admin:\r\nDone\r\nadmin:"]}, echo=True)

    async def go() -> None:
        ch = await logged_in(app)
        with pytest.raises(LostTrack, match="an extra 'admin:' prompt came in the output of 'utils x'"):
            await ch.dialog("utils x", [Answer("Password:", Secret("Pw-1"))])

    run(go())
    assert app.sent == ["utils x"]


def test_a_line_whose_escape_sequence_is_cut_between_reads_is_read_as_the_screen_shows_it() -> None:
    """Text is cleaned a whole line at a time: a colour sequence cut between two reads (and a
    progress line rewritten with CR) comes out as the screen shows it, not as pieces cut elsewhere."""
    app = ScriptedAppliance({"utils x": ["Status: \x1b[32", "mOK\x1b[0m\r\nWorking 10%", "\rWorking 99%\r\nadmin:"]})

    async def go() -> str:
        return await (await logged_in(app)).send("utils x")

    assert run(go()) == "Status: OK\nWorking 99%"


def test_a_read_only_command_is_typed_without_waiting_for_a_quiet_line() -> None:
    """Only a command that changes state waits `quiet` for silence; a `show` is typed at once at a
    synchronized prompt (event order, not a time bound: it is typed before a late prompt redraw
    scheduled 0.3 s later, which a wait for a quiet line would see first)."""
    app = ScriptedAppliance({"show status": ["Host : node1\r\nadmin:"]})
    order: list[str] = []

    async def go() -> str:
        ch = await logged_in(app, quiet=0.01)
        real_write = app.write

        def write(data: str) -> None:
            order.append("typed")
            real_write(data)

        app.write = write  # type: ignore[method-assign]

        def redraw() -> None:
            order.append("redrawn")
            app.queue.put_nowait("\r\nadmin:")

        asyncio.get_running_loop().call_later(0.3, redraw)
        return await ch.send("show status")

    assert run(go()).startswith("Host : node1")
    assert order[0] == "typed"


def test_a_pager_inside_a_dialog_is_paged_and_never_taken_for_its_question() -> None:
    """A dialog's output pages: the pager's own line (which ends in "to quit") is answered with a space
    and then forgotten, so an answer whose question also ends in "quit" waits for that question."""
    pager = "Press <enter> for 1 line, <space> for one page, or <q> to quit"
    app = ScriptedAppliance({"utils x": ["line1\r\n" + pager],
                             "y": ["done\r\nadmin:"]})
    real_write = app.write

    events: list[str] = []

    def page() -> None:
        events.append("question shown")
        app.queue.put_nowait("\r" + " " * len(pager) + "\rline2\r\nReally quit")

    def write(data: str) -> None:
        if data == "y\n":
            events.append("answer typed")
        if data != " ":
            real_write(data)
            return
        # A pager takes its key without echoing it; the next page comes a moment later (a slow link).
        app.written.append(data)
        asyncio.get_running_loop().call_later(0.2, page)

    app.write = write  # type: ignore[method-assign]

    async def go() -> str:
        ch = await logged_in(app)
        return (await ch.dialog("utils x", [Answer("quit", "y")])).output

    assert "done" in run(go())
    assert "".join(app.written) == "utils x\n y\n"  # the command, the pager's space, the answer
    assert events == ["question shown", "answer typed"]
