"""The activelog parsers and arrival checks on details the lab tests leave open (found by bench/mutation.py).

The arrival checks run here against a scripted appliance (tests/test_session_channel.py) and a
receiver stand-in whose files "arrive" when the dialog's last question is answered: no SSH, no
labs, so each case is quick and says exactly what the appliance printed and what arrived.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest

from ops.actions.activelog import ActivelogAction, ActivelogArgs, _failure_message
from ops.actions.base import HostContext, StepFailed, StepResult
from ops.parsers.activelog import Announcement, ParseError, parse_announcement, parse_file_list, transfer_completed
from ops.patterns import PatternTimeout
from ops.session.channel import VOSChannel
from ops.session.errors import ChannelTimeout
from ops.timezones import ApplianceClock
from tests.helpers import run
from tests.test_session_channel import ScriptedAppliance

# -- parsers ------------------------------------------------------------------------------

GATHERED = "Please wait while the system is gathering files info ...done.\n"


@pytest.mark.parametrize("answer", [
    GATHERED + "Number of files affected: 3\nWould you like to proceed [y/n]? ",  # no byte count
    GATHERED + "Total size in Bytes: 1,024\nWould you like to proceed [y/n]? ",  # no file count
])
def test_an_announcement_missing_a_count_is_refused_not_half_read(answer: str) -> None:
    """Without both counts nothing can be checked on arrival: the answer is refused (ParseError, which
    the step reports as not understood), never taken with a count missing."""
    with pytest.raises(ParseError, match="expected 'Number of files affected' and 'Total size in Bytes'"):
        parse_announcement(answer)


def test_a_refused_answer_is_quoted_by_its_last_300_characters() -> None:
    """The error shows what the appliance said, bounded: the end of a long answer, where its reason is."""
    answer = "A" * 500 + "".join(chr(ord("a") + i % 26) for i in range(299)) + "!"
    with pytest.raises(ParseError) as info:
        parse_announcement(answer)
    message = str(info.value)
    assert message.startswith("expected 'Number of files affected' and 'Total size in Bytes' in the appliance's "
                              "answer, got: ")
    assert message.endswith(repr(answer[-300:]))


def test_an_announcement_without_kbytes_or_traversal_lines_still_reads() -> None:
    """Only the two counts are needed; an appliance that omits the other lines is understood."""
    text = GATHERED + "Number of files affected: 2\nTotal size in Bytes: 2,048\nWould you like to proceed [y/n]? "
    assert parse_announcement(text) == Announcement(files=2, bytes=2048, kbytes=None, traversed=None)


def test_kbytes_with_thousands_separators() -> None:
    text = (GATHERED + "Sub-directories were not traversed.\nNumber of files affected: 9\n"
            "Total size in Bytes: 12,345,678\nTotal size in Kbytes: 12,056.3262\n")
    assert parse_announcement(text) == Announcement(files=9, bytes=12345678, kbytes=12056.3262, traversed=False)


@pytest.mark.parametrize("text, completed", [
    (".\nTransfer completed.\n", True),
    (".\n", False),  # the dialog ended without the appliance saying so
    ("Transfer completed.\nExecuted command unsuccessfully\n", False),
    ("Executed command unsuccessfully\n", False),
])
def test_transfer_completed_needs_the_words_and_no_failure(text: str, completed: bool) -> None:
    assert transfer_completed(text) is completed


def test_file_list_rows_after_other_lines_and_their_sizes() -> None:
    """Rows are read wherever they are (after a header, a blank line or a pager prompt), files with
    their sizes, directories without."""
    text = ("admin:file list activelog desktop detail\n"
            "15 Sep,2016 09:07:48 <dir> logs\n"
            "\n"
            "options: q=quit, n=next, p=prev, b=begin, e=end (lines 1 - 1 of 3) :\n"
            "02 Dec,2016 17:41:02 1,234,567 catalina.out\n"
            "dir count = 1, file count = 2\n"
            "03 Dec,2016 08:00:00 12 core.1234\n")
    entries = parse_file_list(text)
    assert [(e.name, e.is_dir, e.size) for e in entries] == [
        ("logs", True, None), ("catalina.out", False, 1_234_567), ("core.1234", False, 12)]


def test_a_row_whose_date_cannot_be_read_is_kept_without_a_date() -> None:
    entries = parse_file_list("31 Feb,2016 09:07:48 100 odd.log\n")
    assert [(e.name, e.size, e.modified) for e in entries] == [("odd.log", 100, None)]


# -- arrival checks -------------------------------------------------------------------------

PROMPT = "admin:"


@dataclass(frozen=True)
class Arrived:
    path: str
    size: int
    sha256: str


def arrived(path: str, size: int) -> Arrived:
    return Arrived(path, size, hashlib.sha256(b"x" * size).hexdigest())


class Receiver:
    """What `_pull` asks of the run's receiver: where the appliance should push, and what arrived."""

    advertised_host = "192.0.2.10"
    port = 4022

    def __init__(self, held: list[Arrived] | None = None) -> None:
        self.entries: list[Arrived] = list(held or [])
        self.uploading = 0  # bytes of files still arriving

    def manifest(self, host: str) -> list[Arrived]:
        """What arrived for `host` (all of it is node1's)."""
        return sorted(self.entries, key=lambda e: e.path) if host == "node1" else []

    def stats(self, host: str) -> tuple[int, int]:
        if host != "node1":
            return 0, 0
        return len(self.entries), sum(e.size for e in self.entries) + self.uploading


class Appliance(ScriptedAppliance):
    """A scripted appliance that pushes `pushed` into the receiver when the download directory is typed."""

    def __init__(self, replies: dict[str, list[str]], receiver: Receiver, pushed: list[Arrived],
                 directory: str = "/") -> None:
        super().__init__(replies)
        self.receiver, self.pushed, self.directory = receiver, pushed, directory

    def write(self, data: str) -> None:
        if data == self.directory + "\n":
            self.receiver.entries += self.pushed
        super().write(data)
        # What one write brings back comes as one chunk (the base class queues it a character at a time).
        pieces = []
        while not self.queue.empty():
            pieces.append(self.queue.get_nowait())
        if pieces:
            self.queue.put_nowait("".join(pieces))


class Context(HostContext):
    def __init__(self, app: Appliance, receiver: Receiver, timeout: float = 2.0) -> None:
        self.host = SimpleNamespace(name="node1", timezone=None)  # type: ignore[assignment]
        self.app, self._receiver, self.timeout = app, receiver, timeout
        self.account = SimpleNamespace(username="ops-node1", password="Rcv-Pw-20931")
        self._channel: VOSChannel | None = None

    async def channel(self) -> VOSChannel:
        if self._channel is None:
            self._channel = VOSChannel(self.app, self.app, "admin", timeout=self.timeout, host="node1", settle=0.01,
                                       quiet=0.005, answer_quiet=0.005)
            self.app.queue.put_nowait(PROMPT)
            await self._channel.login(pagination_off=False)
        return self._channel

    def receiver(self) -> tuple[Any, Any]:
        return self._receiver, self.account


def announcement(files: int, size: int) -> str:
    return (f"\r\nPlease wait while the system is gathering files info ...done.\r\n"
            f"Sub-directories were not traversed.\r\nNumber of files affected: {files}\r\n"
            f"Total size in Bytes: {size:,}\r\nTotal size in Kbytes: {size / 1024:.4f}\r\n"
            "Would you like to proceed [y/n]? ")


def dialog(command: str, head: str, end: str = ".\r\nTransfer completed.\r\n" + PROMPT,
           directory: str = "/") -> dict[str, list[str]]:
    """The appliance's side of `file get activelog`, as tests/fixtures/captured/file-get-activelog-dialog.txt."""
    return {command: [head], "y": ["\r\nSFTP server IP: "], "192.0.2.10": ["SFTP server port [22]: "],
            "4022": ["User ID: "], "ops-node1": ["Password: "], "Rcv-Pw-20931": ["Download directory: "],
            directory: ["\r\n", end]}


def pull(replies: dict[str, list[str]], pushed: list[Arrived], held: list[Arrived] | None = None,
         **args: Any) -> tuple[StepResult | StepFailed, Appliance]:
    receiver = Receiver(held)
    app = Appliance(replies, receiver, pushed, args.get("directory", "/"))
    ctx = Context(app, receiver)
    spec = ActivelogArgs.model_validate({"path": "desktop/logs/*", **args})

    async def go() -> StepResult | StepFailed:
        try:
            return await ActivelogAction()._pull(ctx, spec, ApplianceClock())
        except StepFailed as exc:
            return exc

    return run(go()), app


GET = "file get activelog desktop/logs/*"
LIST = "file list activelog desktop/logs/* detail"


def listing(*rows: tuple[str, int | None]) -> list[str]:
    lines = "".join(f"07 Jan,2017 23:59:59 {'<dir>' if size is None else f'{size:,}'} {name}\r\n"
                    for name, size in rows)
    return [lines + PROMPT]


def test_a_whole_transfer_answers_the_dialog_and_lists_what_arrived() -> None:
    files = [arrived("desktop/logs/a.log", 10), arrived("desktop/logs/b.log", 20)]
    result, app = pull(dialog(GET, announcement(2, 30)), files)
    assert isinstance(result, StepResult), result
    assert result.changed and result.message == "2 files, 30 bytes"
    assert result.files == [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in files]
    assert result.data == {"command": GET, "announced_files": 2, "announced_bytes": 30, "files_received": 2,
                           "bytes_received": 30, "files": result.files, "compressed": False}
    # What the appliance was told, each after its own question.
    typed = [w for w in app.written if w.endswith("\n")]
    assert typed == ["\n", "y\n", "192.0.2.10\n", "4022\n", "ops-node1\n", "Rcv-Pw-20931\n", "/\n"]


def test_files_held_before_the_pull_are_not_counted_as_arrived() -> None:
    old = arrived("desktop/logs/old.log", 30)
    result, _ = pull(dialog(GET, announcement(1, 30)) | {LIST: listing(("new.log", 30))}, [], held=[old])
    assert isinstance(result, StepFailed)
    assert result.data["files_received"] == 0 and result.data["missing"] == ["desktop/logs/new.log"]


def test_a_missing_file_fails_the_pull_and_is_named() -> None:
    replies = dialog(GET, announcement(3, 60)) | {
        LIST: listing(("a.log", 10), ("b.log", 20), ("c.log", 30), ("webservices", None))}
    result, _ = pull(replies, [arrived("desktop/logs/a.log", 10), arrived("desktop/logs/c.log", 30)])
    assert isinstance(result, StepFailed)
    assert str(result) == ("node1: incomplete transfer: the appliance announced 3 files / 60 bytes, "
                           "2 files / 40 bytes arrived whole; missing: desktop/logs/b.log")
    assert result.data["missing"] == ["desktop/logs/b.log"]
    assert result.data["files_received"] == 2 and result.data["bytes_received"] == 40


def test_a_file_cut_short_fails_the_pull() -> None:
    replies = dialog(GET, announcement(2, 30)) | {LIST: listing(("a.log", 10), ("b.log", 20))}
    result, _ = pull(replies, [arrived("desktop/logs/a.log", 10), arrived("desktop/logs/b.log", 19)])
    assert isinstance(result, StepFailed)
    assert "announced 2 files / 30 bytes, 2 files / 29 bytes arrived whole" in str(result)


def test_more_than_announced_fails_the_pull_too() -> None:
    """The check is equality: a file the appliance did not announce is as wrong as one missing."""
    replies = dialog(GET, announcement(1, 10)) | {LIST: listing(("a.log", 10))}
    result, _ = pull(replies, [arrived("desktop/logs/a.log", 10), arrived("desktop/logs/x.log", 5)])
    assert isinstance(result, StepFailed) and "announced 1 files / 10 bytes, 2 files / 15 bytes" in str(result)


def test_without_verify_an_incomplete_transfer_is_kept() -> None:
    result, _ = pull(dialog(GET, announcement(2, 30)), [arrived("desktop/logs/a.log", 10)], verify=False)
    assert isinstance(result, StepResult) and result.message == "1 files, 10 bytes"


def test_without_transfer_completed_the_pull_fails_though_everything_arrived() -> None:
    files = [arrived("desktop/logs/a.log", 10)]
    result, _ = pull(dialog(GET, announcement(1, 10), end=".\r\n" + PROMPT), files)
    assert isinstance(result, StepFailed)
    assert str(result) == ("node1: the appliance did not report 'Transfer completed'; incomplete transfer: the "
                           "appliance announced 1 files / 10 bytes, 1 files / 10 bytes arrived whole")
    assert "missing" not in result.data  # nothing is missing: no listing was asked for


def test_a_failure_after_the_announcement_names_the_reason_and_what_is_missing() -> None:
    end = "Could not connect to the SFTP server\r\nExecuted command unsuccessfully\r\n" + PROMPT
    replies = dialog(GET, announcement(2, 30), end=end) | {LIST: listing(("a.log", 10), ("b.log", 20))}
    result, _ = pull(replies, [arrived("desktop/logs/a.log", 10)])
    assert isinstance(result, StepFailed)
    assert str(result).startswith("node1: ")
    assert ("Could not connect to the SFTP server / Executed command unsuccessfully; incomplete transfer: the "
            "appliance announced "
            "2 files / 30 bytes, 1 files / 10 bytes arrived whole; missing: desktop/logs/b.log") in str(result)
    assert result.data["missing"] == ["desktop/logs/b.log"]


def test_a_failure_before_any_announcement_is_the_appliances_reason() -> None:
    replies = {GET: ["\r\nunable to gather files\r\nExecuted command unsuccessfully\r\n" + PROMPT]}
    result, _ = pull(replies, [])
    assert isinstance(result, StepFailed)
    assert str(result) == (f"node1: {GET!r} failed: unable to gather files / Executed command unsuccessfully")
    assert result.data == {"command": GET}


def test_an_answer_not_understood_fails_with_the_appliances_text() -> None:
    replies = {GET: ["\r\nThe log partition is being rotated, please retry later.\r\n" + PROMPT]}
    result, _ = pull(replies, [])
    assert isinstance(result, StepFailed)
    assert str(result).startswith(f"node1: {GET!r}: the appliance's answer was not understood (expected ")
    assert "being rotated" in str(result) and result.data["command"] == GET
    assert "rotated" in result.data["output"]


def test_no_files_matched_is_a_result_not_a_failure() -> None:
    result, _ = pull({GET: ["\r\nNo files matched the criteria.\r\n" + PROMPT]}, [])
    assert isinstance(result, StepResult)
    assert (result.changed, result.message, result.files) == (False, "no files matched", [])
    assert result.data == {"command": GET, "announced_files": 0, "announced_bytes": 0, "files_received": 0,
                           "bytes_received": 0, "files": []}


def test_compressed_pulls_are_not_counted_but_an_archive_must_arrive() -> None:
    command = GET + " compress"
    archive = arrived("desktop/logs.tar.gz", 5)
    ok, _ = pull(dialog(command, announcement(3, 300)), [archive], compress=True)
    assert isinstance(ok, StepResult) and ok.files == [{"path": archive.path, "size": 5, "sha256": archive.sha256}]
    assert ok.data["compressed"] is True
    none, _ = pull(dialog(command, announcement(3, 300)), [], compress=True)
    assert isinstance(none, StepFailed)
    assert str(none) == "compressed transfer reported complete but no archive arrived"
    assert none.data["command"] == command and none.data["announced_files"] == 3  # for the report


def test_a_dialog_that_stalls_fails_after_the_steps_timeout_naming_every_question_left() -> None:
    replies = {GET: [announcement(1, 10).replace("Would you like to proceed [y/n]? ", "")]}
    with pytest.raises(ChannelTimeout) as info:
        pull(replies, [], timeout=0.2)
    assert str(info.value).startswith(
        f"node1: timed out after 0.2s waiting for the 'admin:' prompt after {GET!r} or one of the prompts "
        "['proceed', 'SFTP server IP', 'SFTP server port', 'User ID', 'Password', 'Download directory', "
        "'host key question'] (last line seen: ")


@pytest.mark.parametrize("question", ["Are you sure you want to continue connecting (yes/no)? ",
                                      "Are you sure you want to continue connecting (yes/no/[fingerprint])? "])
def test_the_appliance_asking_about_the_receivers_host_key_is_answered_yes(question: str) -> None:
    replies = dialog(GET, announcement(1, 10)) | {"192.0.2.10": [question], "yes": ["SFTP server port [22]: "]}
    result, app = pull(replies, [arrived("desktop/logs/a.log", 10)])
    assert isinstance(result, StepResult), result
    assert "yes\n" in app.written


def test_a_silent_push_is_not_a_stall_while_bytes_arrive() -> None:
    """A big file over a slow link: the CLI prints nothing for longer than the step's timeout, but the
    receiver sees bytes arriving, so the pull goes on (a silence with no bytes still fails)."""
    receiver = Receiver()
    files = [arrived("desktop/logs/big.log", 5000)]

    class Slow(Appliance):
        def write(self, data: str) -> None:
            if data == "/\n":
                asyncio.ensure_future(self.push())
                data = "/"  # the line is ended (and answered) by push()
            super().write(data)

        async def push(self) -> None:
            for _ in range(12):  # 0.6 s without a byte on the CLI: three of the step's timeouts
                await asyncio.sleep(0.05)
                self.receiver.uploading += 400
            self.receiver.uploading = 0
            self.receiver.entries += files
            self.queue.put_nowait("\r\n.\r\nTransfer completed.\r\n" + PROMPT)

    app = Slow(dialog(GET, announcement(1, 5000)), receiver, [])
    spec = ActivelogArgs.model_validate({"path": "desktop/logs/*", "timeout": 0.2})
    result = run(ActivelogAction()._pull(Context(app, receiver), spec, ApplianceClock()))
    assert result.message == "1 files, 5000 bytes"


def test_a_failed_compressed_pull_lists_nothing_missing() -> None:
    """An archive is not the files it holds: a compressed pull that fails does not go looking for them."""
    end = "Could not connect to the SFTP server\r\nExecuted command unsuccessfully\r\n" + PROMPT
    replies = dialog(GET + " compress", announcement(2, 30), end=end) | {LIST: listing(("a.log", 10))}
    result, app = pull(replies, [], compress=True)
    assert isinstance(result, StepFailed) and "Could not connect to the SFTP server" in str(result)
    assert "missing" not in result.data
    assert not any(w.startswith("file list") for w in app.written)


def test_the_download_directory_is_the_one_asked_for() -> None:
    files = [arrived("desktop/logs/a.log", 10)]
    result, app = pull(dialog(GET, announcement(1, 10), directory="/incoming"), files, directory="/incoming")
    assert isinstance(result, StepResult), result
    assert "/incoming\n" in app.written


# -- what the appliance lists for a request ------------------------------------------------

async def _listed(replies: dict[str, list[str]], **args: Any) -> tuple[list[tuple[str, int]], Appliance]:
    receiver = Receiver()
    app = Appliance(replies, receiver, [])
    spec = ActivelogArgs.model_validate(args)
    return await ActivelogAction()._listing(Context(app, receiver), spec, ApplianceClock()), app


def listed(replies: dict[str, list[str]], **args: Any) -> tuple[list[tuple[str, int]], Appliance]:
    return run(_listed(replies, **args))  # type: ignore[no-any-return]


def test_the_listing_walks_sub_directories_only_with_recurs() -> None:
    replies = {"file list activelog desktop/logs/* detail": listing(("a.log", 1), ("webservices", None)),
               "file list activelog desktop/logs/webservices detail": listing(("w.log", 2), ("old", None)),
               "file list activelog desktop/logs/webservices/old detail": listing(("o.log", 3))}
    flat, _ = listed(replies, path="desktop/logs/*")
    assert flat == [("desktop/logs/a.log", 1)]
    deep, _ = listed(replies, path="desktop/logs/*", recurs=True)
    assert deep == [("desktop/logs/a.log", 1), ("desktop/logs/webservices/w.log", 2),
                    ("desktop/logs/webservices/old/o.log", 3)]


@pytest.mark.parametrize("directory", ["desktop/logs", "desktop/logs/XMPP"])
def test_the_listing_of_a_directory_spec_puts_its_files_below_it(directory: str) -> None:
    replies = {f"file list activelog {directory} detail": listing(("a.log", 1))}
    assert listed(replies, path=directory)[0] == [(f"{directory}/a.log", 1)]


def test_a_spec_naming_one_file_lists_that_file() -> None:
    replies = {"file list activelog desktop/logs/a.log detail": listing(("a.log", 7))}
    assert listed(replies, path="desktop/logs/a.log")[0] == [("desktop/logs/a.log", 7)]


def test_the_listing_applies_match_and_the_time_window() -> None:
    rows = ("07 Jan,2017 23:59:59 1 Desktop-a.log\r\n07 Jan,2017 23:59:59 2 other.log\r\n"
            "01 Jan,2017 00:00:00 3 Desktop-old.log\r\n31 Feb,2017 00:00:00 4 Desktop-undated.log\r\n" + PROMPT)
    replies = {"file list activelog desktop/logs/* detail": [rows]}
    got, _ = listed(replies, path="desktop/logs/*", match="^Desktop-",
                    abstime={"from": "2017-01-07 00:00", "to": "2017-01-08 00:00"})
    # A row whose date cannot be read is kept: better a file too many in `missing` than one left out.
    assert got == [("desktop/logs/Desktop-a.log", 1), ("desktop/logs/Desktop-undated.log", 4)]
    edges, _ = listed(replies, path="desktop/logs/*",
                      abstime={"from": "2017-01-01 00:00", "to": "2017-01-07 23:59:59"})
    assert [path for path, _ in edges] == ["desktop/logs/Desktop-a.log", "desktop/logs/other.log",
                                           "desktop/logs/Desktop-old.log", "desktop/logs/Desktop-undated.log"]


def test_a_lost_session_ends_the_listing_with_what_it_had() -> None:
    replies = {"file list activelog desktop/logs/* detail": listing(("a.log", 1), ("sub", None)),
               "file list activelog desktop/logs/sub detail": [PROMPT + "\r\ngarbage\r\n" + PROMPT]}
    got, _ = listed(replies, path="desktop/logs/*", recurs=True)
    assert got == [("desktop/logs/a.log", 1)]


def test_the_listing_stops_after_200_directories() -> None:
    """A tree of thousands of directories is not walked to its end for a best-effort list of what is missing."""
    top = listing(*[(f"d{i:03d}", None) for i in range(300)])
    replies = {"file list activelog desktop/logs/* detail": top, "*": listing(("f.log", 1))}
    got, app = listed(replies, path="desktop/logs/*", recurs=True)
    assert sum(w.startswith("file list") for w in app.written) == 200
    assert got == [(f"desktop/logs/d{i:03d}/f.log", 1) for i in range(199)]


def test_an_empty_file_is_listed_with_size_0() -> None:
    """A resume compares these sizes with the files held: an empty log held whole is not fetched again."""
    replies = {"file list activelog desktop/logs/* detail": listing(("empty.log", 0), ("a.log", 3))}
    assert listed(replies, path="desktop/logs/*")[0] == [("desktop/logs/empty.log", 0), ("desktop/logs/a.log", 3)]


def test_the_listing_waits_for_the_appliance_only_the_steps_timeout() -> None:
    replies = {"file list activelog desktop/logs/* detail": ["07 Jan,2017 23:59:59 1 a.log\r\n"]}  # no prompt
    receiver = Receiver()
    ctx = Context(Appliance(replies, receiver, []), receiver, timeout=5.0)
    spec = ActivelogArgs.model_validate({"path": "desktop/logs/*", "timeout": 0.2})
    assert run(ActivelogAction()._listing(ctx, spec, ApplianceClock())) == []
    assert ctx._channel is not None
    assert "timed out after 0.2s waiting for the 'admin:' prompt" in ctx._channel.transcript.text()


def test_a_match_pattern_that_runs_away_on_a_listed_name_fails_naming_it() -> None:
    replies = {"file list activelog desktop/logs/* detail": listing(("a" * 40 + "!", 1))}
    with pytest.raises(PatternTimeout, match=re.escape("match '(a|aa)+$' took over")):
        listed(replies, path="desktop/logs/*", match="(a|aa)+$")


def test_missing_is_what_the_listing_has_and_did_not_arrive_whole() -> None:
    replies = {LIST: listing(("a.log", 10), ("b.log", 20), ("c.log", 30))}
    receiver = Receiver()
    ctx = Context(Appliance(replies, receiver, []), receiver)
    spec = ActivelogArgs.model_validate({"path": "desktop/logs/*"})
    got = [arrived("desktop/logs/c.log", 30), arrived("host/desktop/logs/a.log", 10)]  # the latter below a directory
    missing = run(ActivelogAction()._missing(ctx, spec, got, ApplianceClock()))
    assert missing == ["desktop/logs/b.log"]


def test_the_failure_message_shows_at_most_20_missing_files() -> None:
    missing = [f"f{i:02d}.log" for i in range(25)]
    text = _failure_message("node1", 25, 2500, [], 0, missing, None)
    assert text == ("node1: incomplete transfer: the appliance announced 25 files / 2500 bytes, 0 files / 0 bytes "
                    "arrived whole; missing: " + ", ".join(missing[:20]) + " ...")
    assert _failure_message("node1", 20, 2000, [], 0, missing[:20], None).endswith("f19.log")
    assert _failure_message("node1", 21, 2100, [], 0, missing[:21], None).endswith("f19.log ...")
    assert _failure_message("node1", 1, 1, [], 0, [], "it broke") == ("node1: it broke; incomplete transfer: the "
                                                                      "appliance announced 1 files / 1 bytes, "
                                                                      "0 files / 0 bytes arrived whole")
