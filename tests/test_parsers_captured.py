"""Parsers on appliance text the lab did not write (tests/fixtures/captured/SOURCES.md says where each is from)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ops.parsers.activelog import parse_announcement, parse_file_list, transfer_completed
from ops.session.channel import VOSChannel, clean
from tests.helpers import run
from tests.test_session_channel import ScriptedAppliance

CAPTURED = Path(__file__).parent / "fixtures" / "captured"


def test_file_list_detail_rows_as_the_reference_quotes_them() -> None:
    text = clean((CAPTURED / "file-list-activelog-root-detail.txt").read_bytes().decode())
    entries = {e.name: e for e in parse_file_list(text)}
    assert set(entries) == {"desktop", "platform", "catalina.out", "core.1234",
                            "Desktop-webservices.2017-01-07T23-59-59.000.log", "empty.log"}
    assert entries["desktop"].is_dir and entries["desktop"].size is None
    assert entries["desktop"].modified == datetime(2016, 9, 15, 9, 7, 48)
    assert entries["catalina.out"].size == 1_234_567 and not entries["catalina.out"].is_dir
    assert entries["empty.log"].size == 0
    # Neither the pager prompt nor the echo nor the prompt is taken for a row.
    assert not any("options" in name or "admin" in name for name in entries)


def test_file_list_through_its_pager_on_the_channel() -> None:
    """The captured screen cut at its pager prompts: the channel answers n, then q on the last page,
    and hands back every row of both pages."""
    raw = (CAPTURED / "file-list-activelog-root-detail.txt").read_bytes().decode()
    body = raw.split("\r\n", 1)[1]  # after the echoed command line
    first, rest = body.split("(lines 1 - 4 of 6) : ", 1)
    second, tail = rest.split("(lines 5 - 6 of 6) : ", 1)
    app = ScriptedAppliance({"file list activelog / detail": [first + "(lines 1 - 4 of 6) : "],
                             "<key 'n'>": [second + "(lines 5 - 6 of 6) : "], "<key 'q'>": [tail]})

    async def go() -> str:
        ch = VOSChannel(app, app, "admin", timeout=3, host="node1", settle=0.02, quiet=0.01)
        app.queue.put_nowait("admin:")
        await ch.login(pagination_off=False)
        return await ch.send("file list activelog / detail")

    output = run(go())
    assert len(parse_file_list(output)) == 6
    assert app.written[-2:] == ["n", "q"]


def test_the_real_file_get_dialog_of_the_reference() -> None:
    text = clean((CAPTURED / "file-get-activelog-dialog.txt").read_bytes().decode())
    announced = parse_announcement(text)
    assert announced is not None and (announced.files, announced.bytes) == (1, 2702728)
    assert transfer_completed(text)
