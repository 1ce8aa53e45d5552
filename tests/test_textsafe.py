"""Text from outside reaches terminals and spreadsheets as data, never markup or control codes (issue 14, class 1)."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from ops.actions.base import HostContext
from ops.actions.network_status import NetworkStatusAction, NetworkStatusArgs
from ops.events import HostStarted, StepFinished, StepStarted
from ops.progress import LiveProgress, PlainProgress
from ops.report import HostRecord, RunReport, recap_lines
from ops.textsafe import cell, inert

HOSTILE = [
    "\x1b]52;c;ZWNobyBoYWNrZWQ=\x07",  # OSC 52: write the clipboard
    "\x1b]0;owned\x07",  # OSC 0: window title
    "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",  # OSC 8: a hyperlink
    "\x1b[2J\x1b[H",  # clear the screen
    "\x9b31m",  # C1 CSI
    "\u202eevil\u202c",  # bidi override
    "bell\x07 and NUL\x00",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_inert_leaves_no_control_character(text: str) -> None:
    out = inert(text)
    assert not any(ord(c) < 32 and c not in "\t\n" or 0x7f <= ord(c) <= 0x9f or 0x202a <= ord(c) <= 0x2069
                   for c in out)


def test_inert_keeps_ordinary_text_tabs_and_newlines() -> None:
    assert inert("Logs of [/var/log]\tok\nnext") == "Logs of [/var/log]\tok\nnext"


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_csv_cells_never_start_a_formula(value: str) -> None:
    out = cell(value)
    assert isinstance(out, str) and not out.startswith(("=", "+", "-", "@", "\t", "\r"))


def _live_output(step: str, error: str) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=200, height=40, color_system="truecolor")
    live = LiveProgress(["finesse-a"], console=console)
    live.event(HostStarted("finesse-a"))
    live.event(StepStarted("finesse-a", step))
    live.event(StepFinished("finesse-a", step, "failed", error))
    console.print(live._table())
    return buffer.getvalue()


def test_a_step_name_with_brackets_is_text_not_markup_in_the_live_table() -> None:
    out = _live_output("Logs of [/var/log]", "[bold red]not markup[/]")
    assert "Logs of [/var/log]" in out and "[bold red]not markup[/]" in out


@pytest.mark.parametrize("text", HOSTILE)
def test_appliance_text_in_the_live_lines_carries_no_escape_of_its_own(text: str) -> None:
    out = _live_output("step", f"appliance said {text}")
    # rich's own colour codes are CSI sequences; the appliance's OSC/clear/bidi are shown escaped.
    for bad in ("\x1b]", "\x1b[2J", "\x07", "\u202e", "\x9b", "\x00"):
        assert bad not in out


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_lines_and_the_recap_carry_no_control_character(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    PlainProgress(verbose=True).event(StepFinished("finesse-a", "x", "failed", text))
    report = RunReport(run_id="r", playbook="p", playbook_name="p", started="s")
    report.hosts["finesse-a"] = HostRecord(status="failed", error=f"boom {text}")
    lines = "\n".join(recap_lines(report)) + capsys.readouterr().out
    assert "\x1b" not in lines and "\x07" not in lines and "\u202e" not in lines and "\x9b" not in lines


class _Channel:
    def __init__(self, output: str) -> None:
        self.output = output

    async def send(self, command: str, **kw: Any) -> str:
        return self.output


class _Ctx(HostContext):
    def __init__(self, host_dir: Path, output: str) -> None:
        self.host_dir = host_dir
        self._channel = _Channel(output)

    async def channel(self) -> Any:
        return self._channel

    def receiver(self) -> Any:
        raise NotImplementedError


def test_the_network_status_csv_is_inert_in_a_spreadsheet(tmp_path: Path) -> None:
    output = ("Active Internet connections (w/o servers)\n"
              "Proto Recv-Q Send-Q Local Address     Foreign Address       State       PID/Program name\n"
              "tcp        0      0 10.1.1.10:8445    10.1.20.51:51234      ESTABLISHED 4721/=HYPERLINK(x)\n")
    result = asyncio.run(NetworkStatusAction().run(_Ctx(tmp_path, output), NetworkStatusArgs(process=True)))
    with (tmp_path / result.data["csv_file"]).open(newline="") as handle:
        cells = [value for row in csv.reader(handle) for value in row]
    assert any("HYPERLINK" in value for value in cells)
    assert not any(value.startswith(("=", "+", "@")) for value in cells)


@pytest.mark.parametrize("sep", ["\x85", "\x9b", "\u2028", "\u2029", "\n", "\x7f"])
def test_c1_controls_and_unicode_line_separators_are_never_typed_or_written(sep: str, tmp_path: Path) -> None:
    """Found by trying them by hand: NEL, the 8-bit CSI and U+2028/2029 passed as "one line"."""
    from ops.schedule import ScheduleError, make_schedule
    from ops.session.channel import _typeable
    from ops.textsafe import has_control

    assert has_control(f"show status{sep}utils service restart Cisco Tomcat")
    assert not has_control("show status é 中文 \u200e")
    with pytest.raises(ValueError, match="refusing to type"):
        _typeable(f"show status{sep}y", "a command")
    with pytest.raises(ScheduleError):
        make_schedule(tmp_path / "pb.yaml", "1h", inventory=tmp_path / "inventory.yaml", user=f"ops{sep}root")
