"""The channel's four session invariants (README, Guarantees), each against a scripted appliance
that breaks it on purpose. Each test fails when its invariant's check is taken out of the channel."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from ops.session.channel import Answer, VOSChannel
from ops.session.errors import ChannelTimeout, LostTrack
from tests.helpers import run
from tests.test_session_channel import ScriptedAppliance


class TimedAppliance(ScriptedAppliance):
    """A scripted appliance that notes when each write came."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.write_times: list[float] = []

    def write(self, data: str) -> None:
        self.write_times.append(time.monotonic())
        super().write(data)


def test_a_nothing_is_sent_until_the_prompt_stayed_quiet_redraws_included() -> None:
    # (a) The prompt, then two redraws 0.15 s apart (a slow CLI start): the first thing typed comes
    # `settle` seconds after the last redraw, never in between.
    app = TimedAppliance({"set cli pagination off": ["Automatic Pagination : Off\r\nadmin:"]})

    async def go() -> float:
        ch = VOSChannel(app, app, "admin", timeout=5, host="node1", settle=0.3, quiet=0.01)
        app.queue.put_nowait("Welcome\r\nadmin:")

        async def redraw() -> float:
            for _ in range(2):
                await asyncio.sleep(0.15)
                app.queue.put_nowait("\r\nadmin:")
            return time.monotonic()

        task = asyncio.ensure_future(redraw())
        await ch.login()
        return await task

    last_redraw = run(go())
    assert app.written[0] == "set cli pagination off"
    assert app.write_times[0] - last_redraw >= 0.29


def test_a_banner_that_goes_on_after_a_prompt_is_waited_out() -> None:
    app = TimedAppliance({"set cli pagination off": ["Automatic Pagination : Off\r\nadmin:"]})

    async def go() -> str:
        ch = VOSChannel(app, app, "admin", timeout=5, host="node1", settle=0.2, quiet=0.01)
        app.queue.put_nowait("admin:")
        app.queue.put_nowait("\r\nCommand Line Interface is starting up, please wait ...\r\nadmin:")
        await ch.login()
        return "ok"

    assert run(go()) == "ok"
    assert app.written == ["set cli pagination off", "\n"]


def test_b_an_answer_waits_until_its_question_is_the_last_thing_received() -> None:
    # (b) "Password:" arrives, then 50 ms later more of the screen: the answer is typed only once
    # nothing more came for `answer_quiet`, so after the last piece.
    app = TimedAppliance({"utils x": [], "Tmp-Pw-4471x": ["\r\ndone\r\nadmin:"]})

    async def go() -> float:
        ch = VOSChannel(app, app, "admin", timeout=3, host="node1", settle=0.02, quiet=0.01, answer_quiet=0.15)
        app.queue.put_nowait("admin:")
        await ch.login(pagination_off=False)

        async def screen() -> float:
            while "\n" not in app.written:
                await asyncio.sleep(0.005)
            app.queue.put_nowait("Password:")
            await asyncio.sleep(0.05)
            app.queue.put_nowait("\r\nThe password was rejected by policy. Password:")
            return time.monotonic()

        task = asyncio.ensure_future(screen())
        result = await ch.dialog("utils x", [Answer(r"Password:", "Tmp-Pw-4471x", once=True)])
        assert result.answered == ["Password:"]
        return await task

    last_piece = run(go())
    answer_at = app.write_times[app.written.index("Tmp-Pw-4471x\n")]
    assert answer_at >= last_piece


def test_b_a_question_left_from_before_the_command_is_never_answered() -> None:
    # (b) A question that is on screen before our command's echo is not the command's question.
    app = ScriptedAppliance({"utils webproxy cache clear rest": ["Cleared\r\nadmin:"]})

    async def go() -> None:
        ch = VOSChannel(app, app, "admin", timeout=3, host="node1", settle=0.02, quiet=0.05)
        app.queue.put_nowait("admin:")
        await ch.login(pagination_off=False)
        app.queue.put_nowait("\r\nNew Password:")  # a dialog nobody asked for
        await asyncio.sleep(0.01)
        with pytest.raises(LostTrack, match="lost track of the session"):
            await ch.dialog("utils webproxy cache clear rest", [Answer("Password:", "Tmp-Pw-4471x")])

    run(go())
    assert app.written == []


def test_c_an_extra_prompt_in_the_output_stops_the_host_and_nothing_more_is_typed() -> None:
    # (c) A stale prompt right after the echo, then the real output: which prompt ended the
    # command cannot be known, so the session is lost, and not even `quit` is typed.
    app = ScriptedAppliance({"show network status": ["admin:\r\n", "tcp 0 0 a:8445 b:1 ESTABLISHED\r\nadmin:"]})

    async def go() -> None:
        ch = VOSChannel(app, app, "admin", timeout=3, host="node1", settle=0.02, quiet=0.01)
        app.queue.put_nowait("admin:")
        await ch.login(pagination_off=False)
        with pytest.raises(LostTrack, match="extra 'admin:' prompt"):
            await ch.send("show network status")
        typed = list(app.written)
        with pytest.raises(LostTrack):
            await ch.send("utils service restart Cisco Finesse Tomcat")
        await ch.close()
        assert app.written == typed

    run(go())


def test_c_output_arriving_after_the_prompt_is_caught_before_the_next_command() -> None:
    # (c)/(d) The command's prompt came, then more output: the prompt was a stale one. The next
    # command (a restart) is not typed.
    app = ScriptedAppliance({"show status": ["Host : node1\r\nadmin:"]})

    async def go() -> None:
        ch = VOSChannel(app, app, "admin", timeout=3, host="node1", settle=0.02, quiet=0.2)
        app.queue.put_nowait("admin:")
        await ch.login(pagination_off=False)
        await ch.send("show status")
        app.queue.put_nowait("\r\nlate output of something\r\nadmin:")
        with pytest.raises(LostTrack, match="output arrived while the session sat at its prompt"):
            await ch.send("utils service restart Cisco Finesse Tomcat")

    run(go())
    assert not any("restart" in w for w in app.written)


def test_d_after_a_timeout_mid_dialog_no_state_changing_command_is_sent() -> None:
    # (d) The appliance stalls at a question: the session is somewhere in a dialog, so the next
    # command would be typed into it. It is refused without writing.
    app = ScriptedAppliance({"file get activelog x": ["Would you like to proceed [y/n]? "]})

    async def go() -> None:
        ch = VOSChannel(app, app, "admin", timeout=0.3, host="node1", settle=0.02, quiet=0.01)
        app.queue.put_nowait("admin:")
        await ch.login(pagination_off=False)
        with pytest.raises(ChannelTimeout):
            await ch.dialog("file get activelog x", [])
        typed = list(app.written)
        with pytest.raises(LostTrack, match="nothing more is typed"):
            await ch.send("utils reset_application_ui_administrator_password")
        assert app.written == typed
        assert not ch.synchronized

    run(go())


def test_d_a_state_changing_command_waits_for_a_quiet_line() -> None:
    # (d) The previous prompt just arrived: the restart is typed only `quiet` seconds after it.
    app = TimedAppliance({"show status": ["Host : node1\r\nadmin:"],
                          "utils webproxy cache clear rest": ["Cleared\r\nadmin:"]})

    async def go() -> None:
        ch = VOSChannel(app, app, "admin", timeout=3, host="node1", settle=0.02, quiet=0.25)
        app.queue.put_nowait("admin:")
        await ch.login(pagination_off=False)
        await ch.send("show status")
        await ch.send("utils webproxy cache clear rest")

    run(go())
    show, clear = app.write_times[0], app.write_times[1]
    assert app.written[1] == "utils webproxy cache clear rest"
    assert clear - show >= 0.25


def test_the_settle_time_is_a_host_setting(tmp_path: object) -> None:
    """Where an admin knows the appliances redraw late (or never), `settle:` says so, per host or in defaults."""
    from pathlib import Path

    from ops.inventory import load_inventory
    from ops.yamlsource import InputError

    path = Path(str(tmp_path)) / "inventory.yaml"
    path.write_text("defaults: {password: env:X, settle: 0.2}\ngroups: {g: {hosts: [a, b]}}\n"
                    "hosts:\n  a: {address: 10.0.0.1}\n  b: {address: 10.0.0.2, settle: 1.5}\n")
    hosts = load_inventory(path).hosts
    assert (hosts["a"].settle, hosts["b"].settle) == (0.2, 1.5)
    path.write_text("hosts:\n  a: {address: 10.0.0.1, password: env:X, settle: -1}\n")
    with pytest.raises(InputError, match="settle"):
        load_inventory(path)


def test_the_settle_a_host_gets_by_default_is_the_documented_half_second(tmp_path: Path) -> None:
    """README (invariant a): the line must stay quiet 0.5 s after the first prompt unless the inventory
    says otherwise; the driver passes the host's value to the channel (the channel's own default is
    never used)."""
    from ops.inventory import load_inventory

    path = tmp_path / "inventory.yaml"
    path.write_text("hosts:\n  a:\n    address: 127.0.0.1\n    username: admin\n    password: env:X\n"
                    "  b:\n    address: 127.0.0.1\n    username: admin\n    password: env:X\n    settle: 2\n",
                    encoding="utf-8")
    hosts = load_inventory(path).hosts
    assert (hosts["a"].settle, hosts["b"].settle) == (0.5, 2)
