"""The receiver's jail and upload engine on details the other receiver tests leave open (found by
bench/mutation.py): the exact reasons a client is refused, how paths are resolved, what a client may
change of a file, how quotas count rewrites and removals, and how a commit that cannot link ends.

Each case logs in with asyncssh's SFTP client over loopback, or drives the upload engine itself.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import stat
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from ops.receiver import ManifestEntry, Receiver, jail, uploads
from ops.receiver.accounts import Accounts
from tests.test_receiver import all_files, connect, eventually, run, sftp_session


def _new_file_mode() -> int:
    """The mode a new file gets under this process's umask (another test in the worker may have set a private one)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o644 & ~mask


def _new_dir_mode() -> int:
    """The mode a directory the receiver makes gets under this process's umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o755 & ~mask


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def refused(attempt: Awaitable[Any]) -> tuple[int, str]:
    """The SFTP status code and reason the receiver answered `attempt` with."""
    with pytest.raises(asyncssh.SFTPError) as excinfo:
        await attempt
    return excinfo.value.code, excinfo.value.reason


PERMISSION = asyncssh.FX_PERMISSION_DENIED
FAILURE = asyncssh.FX_FAILURE


# -- paths -------------------------------------------------------------------------------------

def test_paths_resolve_inside_the_jail_with_dots_and_empty_parts() -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver, sftp_session(receiver) as sftp:
            await sftp.mkdir("d")
            async with sftp.open("./d//./f.log", "wb") as fh:
                await fh.write(b"f")
            assert await sftp.realpath("d/../d/./f.log") == "/d/f.log"
            assert await sftp.realpath("d/..") == "/"
            assert await sftp.realpath("/") == "/"
            assert await sftp.realpath("x/y/../z") == "/x/z"  # names that do not exist resolve too
            assert (await sftp.stat("/d/../d//f.log")).size == 1
            assert receiver.manifest("h") == [ManifestEntry("d/f.log", 1, sha(b"f"))]

    with_tmp(body)


def test_each_refusal_names_its_reason() -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver, sftp_session(receiver) as sftp:
            async with sftp.open("f.log", "wb") as fh:
                await fh.write(b"f")
            await sftp.mkdir("d")
            outside = (PERMISSION, "path leads outside the receiver directory")
            assert await refused(sftp.stat("..")) == outside
            assert await refused(sftp.stat("d/../..")) == outside
            assert await refused(sftp.open("d/../../f.log", "wb")) == outside
            reserved = (PERMISSION, "name reserved for uploads in progress")
            temp = ".f.log.part-0123456789ab"
            assert await refused(sftp.stat(temp)) == reserved
            assert await refused(sftp.open("d/" + temp, "wb")) == reserved
            assert await refused(sftp.stat(temp + "/..")) == reserved  # refused even if a later '..' undoes it
            root = (PERMISSION, "operation not allowed on the root directory")
            assert await refused(sftp.mkdir("/")) == root
            assert await refused(sftp.rmdir("d/..")) == root
            assert await refused(sftp.open("/", "wb")) == root
            assert await refused(sftp.rename("/", "x")) == root
            assert await refused(sftp.rename("f.log", "/")) == root
            assert await refused(sftp.readlink("f.log")) == (PERMISSION, "links are not supported")
            assert await refused(sftp.symlink("f.log", "s")) == (PERMISSION, "link creation is not allowed")
            assert await refused(sftp.link("f.log", "s")) == (PERMISSION, "link creation is not allowed")
            assert await refused(sftp.remove("f.log")) == (PERMISSION, "files in the receiver cannot be removed")
            assert await refused(sftp.open("f.log", "wb")) == (
                FAILURE, "file exists; the receiver never overwrites a file")
            assert await refused(sftp.rename("d", "f.log")) == (
                FAILURE, "target exists; the receiver never overwrites a file")
            assert await refused(sftp.rename("d", "d/e")) == (PERMISSION, "cannot move a directory into itself")
            assert await refused(sftp.open("d", "rb")) == (FAILURE, "Is a directory")
            assert (await refused(sftp.listdir("f.log")))[1] == "Not a directory"
            assert await refused(sftp.mkdir("d")) == (FAILURE, "File exists")
            assert sorted(os.listdir(tmp / "h")) == ["d", "f.log"]

    with_tmp(body)


def test_a_path_through_a_file_or_a_missing_directory_fails_like_the_file_system() -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver, sftp_session(receiver) as sftp:
            async with sftp.open("f.log", "wb") as fh:
                await fh.write(b"f")
            with pytest.raises(asyncssh.SFTPNoSuchFile):
                await sftp.stat("missing/deeper/x.log")
            assert (await refused(sftp.stat("f.log/x/y")))[1] == os.strerror(errno.ENOTDIR)
            assert all_files(tmp / "h") == ["f.log"]

    with_tmp(body)


def test_an_upload_or_mkdir_below_a_missing_directory_fails_and_creates_nothing() -> None:
    """What a client creates below a directory that does not exist must fail (no such file), as on
    any file system: the file must not land under another name, nor the manifest name a path that
    is not on disk."""
    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver, sftp_session(receiver) as sftp:
            await sftp.mkdir("logs")
            with pytest.raises(asyncssh.SFTPNoSuchFile):
                async with sftp.open("logs/missing/deeper/x.log", "wb") as fh:
                    await fh.write(b"hello")
            with pytest.raises(asyncssh.SFTPNoSuchFile):
                await sftp.mkdir("nodir/sub")
            assert receiver.manifest("h") == []
            assert sorted(os.listdir(tmp / "h")) == ["logs"] and os.listdir(tmp / "h" / "logs") == []

    with_tmp(body)


def test_a_symlink_deep_in_a_path_is_refused_for_that_reason() -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp / "recv") as receiver:
            account = receiver.add_account("h")
            (account.directory / "a" / "b").mkdir(parents=True)  # made outside the receiver: lstat'ed
            (account.directory / "a" / "b" / "link").symlink_to(tmp)
            async with await connect(receiver, account) as conn, conn.start_sftp_client() as sftp:
                assert (await sftp.stat("a/b")).type == asyncssh.FILEXFER_TYPE_DIRECTORY
                for path in ("a/b/link", "a/b/link/recv", "/a/./b/link/x"):
                    assert await refused(sftp.stat(path)) == (PERMISSION, "symbolic links are not followed")

    with_tmp(body)


# -- activity ----------------------------------------------------------------------------------

def test_sftp_activity_keeps_a_connection_open_past_the_idle_timeout() -> None:
    """Every SFTP request counts as activity: a connection busy for twice the idle timeout stays up
    (one request every tenth of the timeout), and is closed once it goes quiet."""
    async def body(tmp: Path) -> None:
        async with Receiver(tmp, idle_timeout=1.5) as receiver:
            account = receiver.add_account("h")
            async with await connect(receiver, account) as conn, conn.start_sftp_client() as sftp:
                loop = asyncio.get_running_loop()
                until = loop.time() + 3.0
                while loop.time() < until:
                    assert await sftp.realpath("x") == "/x"
                    await asyncio.sleep(0.15)
                await asyncio.wait_for(conn.wait_closed(), 15.0)

    with_tmp(body)


# -- what a client may change ------------------------------------------------------------------

def test_times_are_honoured_modes_and_sizes_are_not() -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver, sftp_session(receiver) as sftp:
            await sftp.mkdir("d", asyncssh.SFTPAttrs(permissions=0o700))
            async with sftp.open("f.log", "wb", asyncssh.SFTPAttrs(permissions=0o600)) as fh:
                await fh.write(b"data")
                await fh.utime((1_000_000, 2_000_000))
                await fh.chmod(0o000)
                assert await refused(fh.truncate(1)) == (asyncssh.FX_OP_UNSUPPORTED,
                                                         "changing a file's size is not allowed")
            await sftp.utime("d", (3_000_000, 4_000_000))
            await sftp.chmod("d", 0o000)
            assert await refused(sftp.truncate("f.log", 0)) == (asyncssh.FX_OP_UNSUPPORTED,
                                                                "changing a file's size is not allowed")
            with pytest.raises(asyncssh.SFTPNoSuchFile):
                await sftp.utime("nothing.log", (1, 2))
            await sftp.mkdir("e")
            await sftp.setstat("e", asyncssh.SFTPAttrs(atime=5_000_000, mtime=6_000_000), follow_symlinks=False)
            assert os.stat(tmp / "h" / "e").st_mtime == 6_000_000
            assert await refused(sftp.setstat("e", asyncssh.SFTPAttrs(size=0), follow_symlinks=False)) == (
                asyncssh.FX_OP_UNSUPPORTED, "changing a file's size is not allowed")
            f, d = os.stat(tmp / "h" / "f.log"), os.stat(tmp / "h" / "d")
            assert (stat.S_IMODE(f.st_mode), f.st_atime, f.st_mtime) == (_new_file_mode(), 1_000_000, 2_000_000)
            assert (stat.S_IMODE(d.st_mode), d.st_atime, d.st_mtime) == (_new_dir_mode(), 3_000_000, 4_000_000)
            assert (await sftp.stat("f.log")).mtime == 2_000_000
            assert (await sftp.lstat("d")).mtime == 4_000_000
            assert (tmp / "h" / "f.log").read_bytes() == b"data"

    with_tmp(body)


def test_an_attribute_change_without_both_times_changes_nothing() -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver, sftp_session(receiver) as sftp:
            async with sftp.open("f.log", "wb") as fh:
                await fh.write(b"data")
            os.utime(tmp / "h" / "f.log", (5_000_000, 6_000_000))
            await sftp.setstat("f.log", asyncssh.SFTPAttrs(uid=0, gid=0))
            await sftp.setstat("f.log", asyncssh.SFTPAttrs(permissions=0o777))
            st = os.stat(tmp / "h" / "f.log")
            assert (stat.S_IMODE(st.st_mode), st.st_atime, st.st_mtime) == (_new_file_mode(), 5_000_000, 6_000_000)

    with_tmp(body)


def test_file_system_statistics_of_the_jail_and_of_an_open_file() -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver, sftp_session(receiver) as sftp:
            here = os.statvfs(tmp / "h")
            assert (await sftp.statvfs("/")).bsize == here.f_bsize
            async with sftp.open("f.log", "wb") as fh:
                await fh.write(b"data")
                assert (await fh.statvfs()).namemax == here.f_namemax
                assert (await fh.stat()).size == 4
                await fh.fsync()
            async with sftp.open("f.log", "rb") as fh:
                assert (await fh.stat()).size == 4
                await fh.fsync()
            assert receiver.manifest("h") == [ManifestEntry("f.log", 4, sha(b"data"))]

    with_tmp(body)


def test_only_sftp_version_3_is_served() -> None:
    """asyncssh asks open56 only of servers of SFTP 5 and later; the receiver refuses it anyway."""
    with pytest.raises(asyncssh.SFTPOpUnsupported, match="^only SFTP version 3 is served$"):
        jail.JailedSFTPServer.open56(None, b"f.log", 0, 0, asyncssh.SFTPAttrs())  # type: ignore[arg-type]


# -- listings ----------------------------------------------------------------------------------

def test_a_listing_shows_dot_entries_with_their_attributes_and_hides_uploads_in_progress() -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver, sftp_session(receiver) as sftp:
            await sftp.mkdir("d")
            async with sftp.open("d/f.log", "wb") as fh:
                await fh.write(b"12345")
            partial = await sftp.open("d/partial.log", "wb")
            await partial.write(b"xx")
            os.utime(tmp / "h", (1_000_000, 1_000_000))
            os.utime(tmp / "h" / "d", (2_000_000, 2_000_000))
            names = {n.filename: n.attrs for n in await sftp.readdir("d")}
            assert sorted(names) == [".", "..", "f.log"]
            assert (names["."].mtime, names[".."].mtime, names["f.log"].size) == (2_000_000, 1_000_000, 5)
            root = {n.filename: n.attrs for n in await sftp.readdir("/")}
            assert sorted(root) == [".", "..", "d"]
            assert root["."].mtime == root[".."].mtime == 1_000_000  # the jail's parent is never shown
            await partial.close()
            assert sorted(await sftp.listdir("d")) == [".", "..", "f.log", "partial.log"]

    with_tmp(body)


# -- reading back ------------------------------------------------------------------------------

def test_a_finished_file_read_back_frees_its_handle_on_close() -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp, max_handles_per_account=2) as receiver, sftp_session(receiver) as sftp:
            async with sftp.open("f.log", "wb") as fh:
                await fh.write(b"abcdef")
            for _ in range(5):  # more than the handle limit, one after the other
                async with sftp.open("f.log", "rb") as fh:
                    assert await fh.read(3, 2) == b"cde"
                    assert await refused(fh.write(b"x", 0)) == (PERMISSION, "file not open for writing")
            assert (tmp / "h" / "f.log").read_bytes() == b"abcdef"

    with_tmp(body)


def test_an_upload_opened_write_only_cannot_be_read_through_its_handle() -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver, sftp_session(receiver) as sftp:
            async with sftp.open("f.log", "wb") as fh:
                await fh.write(b"abc", 0)
                with pytest.raises(asyncssh.SFTPError):
                    await fh.read(3, 0)
            async with sftp.open("g.log", "w+b") as fh:
                await fh.write(b"abc", 0)
                assert await fh.read(3, 0) == b"abc"

    with_tmp(body)


def test_append_writes_land_at_the_end_whatever_offset_is_asked() -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver, sftp_session(receiver) as sftp:
            async with sftp.open("f.log", "ab") as fh:
                await fh.write(b"one,", 0)
                await fh.write(b"two,", 0)
                await fh.write(b"three", 100)
            assert (tmp / "h" / "f.log").read_bytes() == b"one,two,three"
            assert receiver.manifest("h") == [ManifestEntry("f.log", 13, sha(b"one,two,three"))]

    with_tmp(body)


# -- quotas and rewrites -----------------------------------------------------------------------

def test_a_rewrite_inside_a_file_costs_no_quota_and_is_hashed_as_stored() -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp, max_bytes_per_account=10) as receiver, sftp_session(receiver) as sftp:
            async with sftp.open("f.log", "wb") as fh:
                await fh.write(b"aaaaaaaaaa", 0)  # the whole quota
                await fh.write(b"bb", 0)  # rewrites the start: no growth
                assert receiver.stats("h") == (0, 10)
                await fh.write(b"c", 9)
                assert receiver.stats("h") == (0, 10)
            assert receiver.manifest("h") == [ManifestEntry("f.log", 10, sha(b"bbaaaaaaac"))]
            assert receiver.stats("h") == (1, 10)
            fh = await sftp.open("g.log", "wb")
            assert await refused(fh.write(b"d", 0)) == (FAILURE, "quota exceeded: at most 10 bytes per account")

    with_tmp(body)


def test_a_rewrite_after_the_quota_failure_leaves_nothing_and_frees_the_quota() -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp, max_bytes_per_account=10) as receiver, sftp_session(receiver) as sftp:
            fh = await sftp.open("f.log", "wb")
            await fh.write(b"aaaa", 0)
            assert await refused(fh.write(b"b" * 7, 4)) == (FAILURE, "quota exceeded: at most 10 bytes per account")
            assert await refused(fh.close()) == (
                FAILURE, "file discarded: quota exceeded: at most 10 bytes per account")
            assert receiver.stats("h") == (0, 0) and all_files(tmp / "h") == []
            async with sftp.open("f.log", "wb") as fh:
                await fh.write(b"b" * 10, 0)
            assert receiver.manifest("h") == [ManifestEntry("f.log", 10, sha(b"b" * 10))]

    with_tmp(body)


def test_an_out_of_order_rewrite_is_hashed_from_the_file() -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver, sftp_session(receiver) as sftp:
            async with sftp.open("f.log", "wb") as fh:
                await fh.write(b"aaaa", 0)
                await fh.write(b"bb", 1)  # behind what was hashed: the digest is taken from the file
                await fh.write(b"cc", 4)
            assert receiver.manifest("h") == [ManifestEntry("f.log", 6, sha(b"abbacc"))]
            async with sftp.open("g.log", "wb") as fh:
                await fh.write(b"x" * 40_000, 10)  # a hole, written in place of the worker thread
                await fh.write(b"y" * 10, 0)
            want = b"y" * 10 + b"x" * 40_000
            assert (tmp / "h" / "g.log").read_bytes() == want
            assert receiver.manifest("h")[1] == ManifestEntry("g.log", len(want), sha(want))

    with_tmp(body)


@pytest.mark.parametrize("gap, ok", [(100, True), (99, False)])
def test_a_write_gap_of_exactly_the_limit_is_allowed(gap: int, ok: bool) -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp, max_write_gap=gap) as receiver, sftp_session(receiver) as sftp:
            fh = await sftp.open("f.log", "wb")
            await fh.write(b"ab", 0)
            if ok:
                await fh.write(b"z", 102)
                await fh.close()
                assert receiver.manifest("h") == [ManifestEntry("f.log", 103, sha(b"ab" + bytes(100) + b"z"))]
            else:
                assert await refused(fh.write(b"z", 102)) == (
                    FAILURE, "write refused: offset 102 would leave 100 bytes of the file unwritten (at most 99)")
                await refused(fh.close())
                assert receiver.manifest("h") == []

    with_tmp(body)


def test_a_removed_directory_gives_back_its_place_but_never_below_none() -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp, max_files_per_account=2) as receiver:
            account = receiver.add_account("h")
            (account.directory / "made-outside").mkdir()
            async with await connect(receiver, account) as conn, conn.start_sftp_client() as sftp:
                await sftp.rmdir("made-outside")  # not counted when made, so nothing to give back
                await sftp.mkdir("a")
                await sftp.mkdir("b")
                message = "quota exceeded: at most 2 files and directories per account"
                assert await refused(sftp.mkdir("c")) == (FAILURE, message)
                await sftp.rmdir("a")  # one place back
                await sftp.mkdir("c")
                assert await refused(sftp.mkdir("d")) == (FAILURE, message)
                await sftp.rmdir("b")
                await sftp.rmdir("c")  # two places back
                await sftp.mkdir("d")
                await sftp.mkdir("e")
                assert await refused(sftp.mkdir("f")) == (FAILURE, message)

    with_tmp(body)


def test_a_removed_directory_that_is_made_again_is_checked_again() -> None:
    """A directory the receiver made, removed, then replaced by a symlink (by someone else) is not
    trusted as one of the receiver's own any more."""
    async def body(tmp: Path) -> None:
        async with Receiver(tmp / "recv") as receiver:
            account = receiver.add_account("h")
            async with await connect(receiver, account) as conn, conn.start_sftp_client() as sftp:
                await sftp.mkdir("d")
                await sftp.rmdir("d")
                (account.directory / "d").symlink_to(tmp)
                assert await refused(sftp.open("d/x.log", "wb")) == (PERMISSION, "symbolic links are not followed")
            assert not (tmp / "x.log").exists()

    with_tmp(body)


# -- renames -----------------------------------------------------------------------------------

def test_a_directory_with_an_upload_in_progress_is_not_renamed() -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver, sftp_session(receiver) as sftp:
            await sftp.makedirs("d/e")
            await sftp.mkdir("dd")
            fh = await sftp.open("d/e/f.log", "wb")
            await fh.write(b"f")
            assert await refused(sftp.rename("d", "x")) == (FAILURE, "directory has uploads in progress")
            await sftp.rename("dd", "y")  # a name that merely starts the same is not below it
            assert await refused(sftp.rename("y", "d/e/f.log")) == (
                FAILURE, "target exists; the receiver never overwrites a file")  # reserved by the upload
            await fh.close()
            await sftp.rename("d", "x")
            assert receiver.manifest("h") == [ManifestEntry("x/e/f.log", 1, sha(b"f"))]
            async with sftp.open("x/g.log", "wb") as fh:
                await fh.write(b"g")
            await sftp.rename("x/g.log", "g.log")
            assert [e.path for e in receiver.manifest("h")] == ["g.log", "x/e/f.log"]
            assert await refused(sftp.rename("x", "x/e/inner")) == (PERMISSION, "cannot move a directory into itself")
            await sftp.rename("x", "xx")  # a sibling whose name starts with the old one is not inside it
            assert [e.path for e in receiver.manifest("h")] == ["g.log", "xx/e/f.log"]
            assert all_files(tmp / "h") == ["g.log", "xx/e/f.log"]

    with_tmp(body)


# -- the upload engine -------------------------------------------------------------------------

def test_temporary_names_have_one_exact_shape() -> None:
    hexes = "0123456789ab"
    for name in (f".f.log.part-{hexes}", f"..part-{hexes}", f".a\nb.part-{hexes}"):
        assert uploads.is_temp_name(name), name
    for name in (f"f.log.part-{hexes}", f".f.log.part-{hexes}0", f".f.log.part-{hexes[:-1]}",
                 ".f.log.part-0123456789AB", f".f.log.part-{hexes}.x", f".f.logpart-{hexes}",
                 f"x.f.log.part-{hexes}"):
        assert not uploads.is_temp_name(name), name


def test_a_name_of_the_longest_length_uploads_under_a_shortened_temporary_name() -> None:
    name = "n" * 255

    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver, sftp_session(receiver) as sftp:
            fh = await sftp.open(name, "wb")
            await fh.write(b"x")
            (temp,) = os.listdir(tmp / "h")
            assert temp.startswith("." + "n" * 200 + ".part-") and len(temp) == 1 + 200 + 6 + 12
            await fh.close()
            assert receiver.manifest("h") == [ManifestEntry(name, 1, sha(b"x"))]

    with_tmp(body)


def engine(tmp: Path, **limits: Any) -> tuple[Accounts, uploads.UploadEngine, Any]:
    accounts = Accounts()
    return accounts, uploads.UploadEngine(accounts, Receiver(tmp, **limits)), accounts.create("h", tmp)


async def finished(result: Any) -> None:
    if result is not None:
        await result


@pytest.mark.parametrize("code", [errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK])
def test_without_hard_links_a_commit_renames_into_place(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    def no_links(src: str, dst: str) -> None:
        raise OSError(code, os.strerror(code))
    monkeypatch.setattr(uploads.os, "link", no_links)

    async def body(tmp: Path) -> None:
        accounts, eng, state = engine(tmp)
        upload = eng.begin(state, "f.log", str(tmp / "f.log"), read=False, append=False)
        assert eng.write(upload, 0, b"data") == 4
        await finished(eng.finish(upload))
        assert all_files(tmp) == ["f.log"] and (tmp / "f.log").read_bytes() == b"data"
        assert accounts.entries("h") == [ManifestEntry("f.log", 4, sha(b"data"))]
        assert accounts.stats("h") == (1, 4)
        # A name that appeared meanwhile is never replaced, and the upload's bytes are given back.
        upload = eng.begin(state, "g.log", str(tmp / "g.log"), read=False, append=False)
        assert eng.write(upload, 0, b"new") == 3
        (tmp / "g.log").write_bytes(b"other")
        with pytest.raises(asyncssh.SFTPFileAlreadyExists, match="^file exists; the receiver never overwrites a file$"):
            await finished(eng.finish(upload))
        assert all_files(tmp) == ["f.log", "g.log"] and (tmp / "g.log").read_bytes() == b"other"
        assert accounts.stats("h") == (1, 4)

    with_tmp(body)


def test_a_commit_whose_link_fails_otherwise_discards_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(uploads.os, "link", no_space)

    async def body(tmp: Path) -> None:
        accounts, eng, state = engine(tmp)
        upload = eng.begin(state, "f.log", str(tmp / "f.log"), read=False, append=False)
        eng.write(upload, 0, b"data")
        with pytest.raises(OSError) as excinfo:
            await finished(eng.finish(upload))
        assert excinfo.value.errno == errno.ENOSPC
        assert all_files(tmp) == [] and accounts.entries("h") == [] and accounts.stats("h") == (0, 0)
        assert state.uploads == set() and state.reserved == set()

    with_tmp(body)


def test_a_name_that_appears_before_the_link_is_never_replaced() -> None:
    async def body(tmp: Path) -> None:
        accounts, eng, state = engine(tmp)
        upload = eng.begin(state, "f.log", str(tmp / "f.log"), read=False, append=False)
        eng.write(upload, 0, b"mine")
        (tmp / "f.log").write_bytes(b"theirs")
        with pytest.raises(asyncssh.SFTPFileAlreadyExists, match="^file exists; the receiver never overwrites a file$"):
            await finished(eng.finish(upload))
        assert all_files(tmp) == ["f.log"] and (tmp / "f.log").read_bytes() == b"theirs"
        assert accounts.stats("h") == (0, 0) and accounts.entries("h") == []
        # The name is free again for the engine, which still refuses it because it exists.
        with pytest.raises(asyncssh.SFTPFileAlreadyExists, match="^file exists; the receiver never overwrites a file$"):
            eng.begin(state, "f.log", str(tmp / "f.log"), read=False, append=False)

    with_tmp(body)


def test_an_aborted_upload_refuses_writes_and_close_and_is_forgotten() -> None:
    async def body(tmp: Path) -> None:
        accounts, eng, state = engine(tmp)
        upload = eng.begin(state, "f.log", str(tmp / "f.log"), read=True, append=False)
        eng.write(upload, 0, b"abc")
        assert state.reserved == {str(tmp / "f.log")} and state.uploads == {upload}
        eng.abort(upload)
        eng.abort(upload)  # a second abort changes nothing
        assert all_files(tmp) == [] and accounts.stats("h") == (0, 0)
        assert state.reserved == set() and state.uploads == set()
        with pytest.raises(asyncssh.SFTPFailure, match="^upload was aborted$"):
            eng.write(upload, 3, b"d")
        with pytest.raises(asyncssh.SFTPFailure, match="^upload was aborted$"):
            eng.finish(upload)
        await eng.abort_all()  # nothing left to abort
        # The name can be used again.
        again = eng.begin(state, "f.log", str(tmp / "f.log"), read=False, append=False)
        eng.write(again, 0, b"xyz")
        await finished(eng.finish(again))
        assert accounts.entries("h") == [ManifestEntry("f.log", 3, sha(b"xyz"))]

    with_tmp(body)


def test_abort_all_waits_for_a_write_in_a_worker_thread_then_deletes_the_file() -> None:
    async def body(tmp: Path) -> None:
        accounts, eng, state = engine(tmp)
        first = eng.begin(state, "a.log", str(tmp / "a.log"), read=False, append=False)
        second = eng.begin(state, "b.log", str(tmp / "b.log"), read=False, append=False)
        eng.write(second, 0, b"b")
        big = eng.write(first, 10, b"x" * (64 * 1024))  # out of order and big: a worker thread
        assert not isinstance(big, int)
        task = asyncio.ensure_future(big)
        await asyncio.sleep(0)
        await eng.abort_all()
        assert all_files(tmp) == [] and accounts.stats("h") == (0, 0)
        assert state.uploads == set() and state.reserved == set()
        await asyncio.gather(task, return_exceptions=True)
        assert all_files(tmp) == []

    with_tmp(body)


def test_a_failed_store_on_the_loop_fails_the_upload_with_the_systems_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int, data: Any, offset: int) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    async def body(tmp: Path) -> None:
        accounts, eng, state = engine(tmp)
        upload = eng.begin(state, "f.log", str(tmp / "f.log"), read=False, append=False)
        eng.write(upload, 0, b"abc")
        monkeypatch.setattr(uploads.os, "pwrite", full)
        with pytest.raises(OSError):
            await finished(eng.write(upload, 10, b"late"))  # out of order: stored after what was gathered
        assert upload.failed == "write failed: No space left on device"
        with pytest.raises(asyncssh.SFTPFailure, match="^file discarded: write failed: No space left on device$"):
            await finished(eng.finish(upload))
        assert all_files(tmp) == [] and accounts.stats("h") == (0, 0)

    with_tmp(body)


def _eio(fd: int, data: Any, offset: int) -> int:
    """A pwrite that fails as a broken disk does."""
    raise OSError(errno.EIO, "Input/output error")


def test_a_failed_write_in_a_worker_thread_fails_the_upload(monkeypatch: pytest.MonkeyPatch) -> None:
    async def body(tmp: Path) -> None:
        accounts, eng, state = engine(tmp)
        upload = eng.begin(state, "f.log", str(tmp / "f.log"), read=False, append=False)
        monkeypatch.setattr(uploads.os, "pwrite", _eio)
        with pytest.raises(OSError):
            await finished(eng.write(upload, 10, b"x" * (64 * 1024)))
        assert upload.failed == "write failed: Input/output error" and upload.inflight is None
        with pytest.raises(asyncssh.SFTPFailure, match="^file discarded: write failed: Input/output error$"):
            await finished(eng.finish(upload))
        assert all_files(tmp) == []

    with_tmp(body)


def with_tmp(body: Any) -> None:
    """Run `body(tmp)` in a fresh temporary directory (pytest's tmp_path, without the fixture noise)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        run(body(Path(os.path.realpath(tmp))))


def test_a_posix_rename_is_a_rename_that_never_replaces() -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver, sftp_session(receiver) as sftp:
            for name in ("a.log", "b.log"):
                async with sftp.open(name, "wb") as fh:
                    await fh.write(name.encode())
            await sftp.posix_rename("a.log", "c.log")
            assert await refused(sftp.posix_rename("b.log", "c.log")) == (
                FAILURE, "target exists; the receiver never overwrites a file")
            assert await refused(sftp.posix_rename("b.log", "../b.log")) == (
                PERMISSION, "path leads outside the receiver directory")
            assert [e.path for e in receiver.manifest("h")] == ["b.log", "c.log"]
            assert (tmp / "h" / "c.log").read_bytes() == b"a.log"

    with_tmp(body)


def test_short_writes_are_completed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The system may write less than asked (a signal, a pipe-like file system): the rest follows."""
    pwrite = os.pwrite

    def short_pwrite(fd: int, data: Any, offset: int) -> int:
        return pwrite(fd, bytes(data[:3]), offset)

    def short_pwritev(fd: int, buffers: list[bytes], offset: int) -> int:
        return pwrite(fd, b"".join(buffers)[:5], offset)
    monkeypatch.setattr(uploads.os, "pwrite", short_pwrite)
    monkeypatch.setattr(uploads.os, "pwritev", short_pwritev)

    async def body(tmp: Path) -> None:
        accounts, eng, state = engine(tmp)
        upload = eng.begin(state, "f.log", str(tmp / "f.log"), read=False, append=False)
        assert eng.write(upload, 0, b"0123456789") == 10  # gathered: stored with pwritev at close
        assert await asyncio.ensure_future(finished_value(eng.write(upload, 20, b"abcdefghij"))) == 10
        assert eng.write(upload, 10, b"ABCDEFGHIJ") == 10
        await finished(eng.finish(upload))
        want = b"0123456789ABCDEFGHIJabcdefghij"
        assert (tmp / "f.log").read_bytes() == want
        assert accounts.entries("h") == [ManifestEntry("f.log", 30, sha(want))]

    with_tmp(body)


async def finished_value(result: Any) -> Any:
    return result if isinstance(result, int) else await result


def test_a_write_failure_without_a_system_reason_is_named_by_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(fd: int, data: Any, offset: int) -> int:
        raise OSError("the disk went away")

    async def body(tmp: Path) -> None:
        _accounts, eng, state = engine(tmp)
        upload = eng.begin(state, "f.log", str(tmp / "f.log"), read=False, append=False)
        monkeypatch.setattr(uploads.os, "pwrite", broken)
        with pytest.raises(OSError, match="the disk went away"):
            eng.write(upload, 5, b"x")
        assert upload.failed == "write failed: the disk went away"

    with_tmp(body)


def test_a_big_out_of_order_write_goes_to_a_worker_thread_and_reports_its_length() -> None:
    async def body(tmp: Path) -> None:
        accounts, eng, state = engine(tmp)
        upload = eng.begin(state, "f.log", str(tmp / "f.log"), read=False, append=False)
        big = b"b" * (64 * 1024)
        assert await finished_value(eng.write(upload, 4, big)) == len(big)
        assert upload.inflight is None
        assert eng.write(upload, 0, b"aaaa") == 4  # out of order too now: stored at once
        # And one behind gathered data waits for it, then reports its own length.
        await finished(eng.finish(upload))
        assert accounts.entries("h") == [ManifestEntry("f.log", 4 + len(big), sha(b"aaaa" + big))]

    with_tmp(body)


def test_files_and_directories_are_made_readable_and_not_writable_by_others_whatever_the_umask() -> None:
    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver, sftp_session(receiver) as sftp:
            await sftp.mkdir("d")
            async with sftp.open("d/f.log", "wb") as fh:
                await fh.write(b"f")
        assert stat.S_IMODE(os.stat(tmp / "h" / "d").st_mode) == 0o755
        assert stat.S_IMODE(os.stat(tmp / "h" / "d" / "f.log").st_mode) == 0o644

    old = os.umask(0)
    try:
        with_tmp(body)
    finally:
        os.umask(old)


def test_a_directory_the_receiver_made_is_not_looked_at_again_for_each_file_below_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A pull resolves its directories for every file: the ones the receiver made itself cannot have
    become symlinks through a client, so they are not lstat'ed again (see AccountState.own_dirs)."""
    looked_at: list[str] = []
    lstat = os.lstat

    def spy(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        looked_at.append(os.fsdecode(path))
        return lstat(path, *args, **kwargs)

    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver, sftp_session(receiver) as sftp:
            await sftp.mkdir("d")
            monkeypatch.setattr(jail.os, "lstat", spy)
            for name in ("a.log", "b.log"):
                async with sftp.open(f"d/{name}", "wb") as fh:
                    await fh.write(b"x")
            monkeypatch.undo()
            assert str(tmp / "h" / "d") not in looked_at
            assert [e.path for e in receiver.manifest("h")] == ["d/a.log", "d/b.log"]

    with_tmp(body)


def test_an_abort_while_a_worker_thread_writes_waits_for_it_before_closing_the_file(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Closing the descriptor under a running write could let its number be reused by the next file
    and the write land there: the abort completes once the write has."""
    import logging
    import threading

    started, release = threading.Event(), threading.Event()
    store = uploads.store

    def slow_store(upload: Any, offset: int, data: bytes) -> None:
        started.set()
        release.wait(20)
        store(upload, offset, data)
    monkeypatch.setattr(uploads, "store", slow_store)
    caplog.set_level(logging.INFO, logger="ops.receiver.uploads")

    async def body(tmp: Path) -> None:
        accounts, eng, state = engine(tmp)
        first = eng.begin(state, "a.log", str(tmp / "a.log"), read=False, append=False)
        writing = asyncio.ensure_future(finished_value(eng.write(first, 5, b"x" * (64 * 1024))))
        assert await asyncio.to_thread(started.wait, 20)
        eng.abort(first)
        eng.abort(first)  # twice: still one abort
        with pytest.raises(asyncssh.SFTPFailure, match="^upload was aborted$"):
            eng.write(first, 0, b"y")
        second = eng.begin(state, "b.log", str(tmp / "b.log"), read=False, append=False)
        assert eng.write(second, 0, b"mine") == 4
        release.set()
        await asyncio.gather(writing, return_exceptions=True)
        await asyncio.sleep(0)  # the abort's callback
        await finished(eng.finish(second))
        assert all_files(tmp) == ["b.log"] and (tmp / "b.log").read_bytes() == b"mine"
        assert accounts.stats("h") == (1, 4)
        assert [r.getMessage() for r in caplog.records] == ["discarded partial upload a.log (65541 bytes) for h"]

    with_tmp(body)


def test_an_upload_whose_temporary_file_vanished_is_still_aborted_cleanly() -> None:
    async def body(tmp: Path) -> None:
        accounts, eng, state = engine(tmp)
        upload = eng.begin(state, "f.log", str(tmp / "f.log"), read=False, append=False)
        eng.write(upload, 0, b"abc")
        os.unlink(upload.temp)
        eng.abort(upload)
        assert accounts.stats("h") == (0, 0) and state.uploads == set() and all_files(tmp) == []

    with_tmp(body)


def test_a_zero_length_write_beyond_the_end_counts_what_the_file_holds_once_committed(
        caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="ops.receiver.uploads")

    async def body(tmp: Path) -> None:
        accounts, eng, state = engine(tmp)
        upload = eng.begin(state, "f.log", str(tmp / "f.log"), read=False, append=False)
        assert eng.write(upload, 0, b"abcd") == 4
        assert await finished_value(eng.write(upload, 100, b"")) == 0  # reaches offset 100, writes nothing
        assert accounts.stats("h") == (0, 100)
        await finished(eng.finish(upload))
        assert accounts.entries("h") == [ManifestEntry("f.log", 4, sha(b"abcd"))]
        assert accounts.stats("h") == (1, 4)
        assert [r.getMessage() for r in caplog.records] == ["received f.log (4 bytes) from h"]

    with_tmp(body)


def _close() -> bool:
    return jail.closing_during_teardown()


def _process_close() -> bool:
    return _close()


def _cleanup() -> bool:
    return _close()


def _teardown_above_a_client_close() -> bool:
    def _cleanup() -> bool:
        return _process_close()
    return _cleanup()


def test_the_nearest_of_a_client_close_and_a_teardown_decides() -> None:
    """close() called under asyncssh's teardown (_cleanup) aborts; under a client's FXP_CLOSE
    (_process_close) it finishes, even if a teardown were further up; from anywhere else it is not
    a teardown."""
    assert _cleanup() is True
    assert _process_close() is False
    assert _teardown_above_a_client_close() is False
    assert _close() is False
    done: list[bool] = []
    import threading

    thread = threading.Thread(target=lambda: done.append(jail.closing_during_teardown()))  # a stack that runs out
    thread.start()
    thread.join(10)
    assert done == [False]


def test_a_temporary_name_that_exists_is_never_opened_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """The temporary file is created new: a symlink or file already at its name (none can be made by a
    client) makes the upload fail rather than write elsewhere."""
    monkeypatch.setattr(uploads.secrets, "token_hex", lambda n: "0" * 2 * n)

    async def body(tmp: Path) -> None:
        _accounts, eng, state = engine(tmp / "jail")
        (tmp / "jail").mkdir()
        (tmp / "jail" / ".f.log.part-000000000000").symlink_to(tmp / "outside")
        with pytest.raises(FileExistsError):
            eng.begin(state, "f.log", str(tmp / "jail" / "f.log"), read=False, append=False)
        assert not (tmp / "outside").exists()

    with_tmp(body)


def test_the_write_gap_counts_every_byte_sent_for_the_file() -> None:
    async def body(tmp: Path) -> None:
        _accounts, eng, state = engine(tmp, max_write_gap=100)
        upload = eng.begin(state, "f.log", str(tmp / "f.log"), read=False, append=False)
        eng.write(upload, 0, b"a" * 100)
        eng.write(upload, 100, b"b" * 100)
        assert await finished_value(eng.write(upload, 250, b"c")) == 1  # 50 bytes never written: allowed
        with pytest.raises(asyncssh.SFTPFailure, match=r"^write refused: offset 400 would leave 199 bytes"):
            eng.write(upload, 400, b"d")

    with_tmp(body)


# -- survivors of the quiet rerun (2026-12-01, evening) ---------------------------------------------

def test_an_sftp_session_that_ends_with_a_file_open_aborts_it_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's SFTP session ends (its channel closes) while the connection stays up: the file
    it never closed is aborted then, its temporary file removed, not left until the connection goes.
    asyncssh closes a session's open handles before it calls `exit()` (and the jail aborts a close
    made during that teardown); `exit()` aborts on its own too, whatever asyncssh does first."""
    servers: list[jail.JailedSFTPServer] = []
    real_init = jail.JailedSFTPServer.__init__

    def recording(self: jail.JailedSFTPServer, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        servers.append(self)

    monkeypatch.setattr(jail.JailedSFTPServer, "__init__", recording)

    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver:
            account = receiver.add_account("h")
            async with await connect(receiver, account) as conn:
                sftp = await conn.start_sftp_client()
                fh = await sftp.open("f.log", "wb")
                await fh.write(b"never closed")
                assert any(".part-" in name for name in all_files(tmp))
                sftp.exit()
                await sftp.wait_closed()
                assert await eventually(lambda: all_files(tmp) == []), all_files(tmp)
                assert receiver.manifest("h") == []
                # exit() alone, with a file open:
                sftp = await conn.start_sftp_client()
                fh = await sftp.open("g.log", "wb")
                await fh.write(b"open")
                servers[-1].exit()
                assert all_files(tmp) == [] and receiver.manifest("h") == []
                with pytest.raises(asyncssh.SFTPError):
                    await fh.close()
                sftp.exit()

    with_tmp(body)


def test_abort_all_finishes_when_a_write_in_a_worker_thread_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    async def body(tmp: Path) -> None:
        accounts, eng, state = engine(tmp)
        upload = eng.begin(state, "f.log", str(tmp / "f.log"), read=False, append=False)
        monkeypatch.setattr(uploads.os, "pwrite", _eio)
        task = asyncio.ensure_future(eng.write(upload, 10, b"x" * (64 * 1024)))  # out of order, big: a thread
        await asyncio.sleep(0)
        assert upload.inflight is not None
        await eng.abort_all()  # the failed write is waited for, not raised
        assert all_files(tmp) == [] and accounts.stats("h") == (0, 0)
        with pytest.raises(OSError):
            await task

    with_tmp(body)


def test_the_engine_forgets_an_upload_once_it_is_committed_or_aborted() -> None:
    """A long run's receiver holds no finished upload (issue 20: memory bounded by what is in flight):
    once committed or aborted, nothing keeps the upload alive."""
    import gc
    import weakref

    async def body(tmp: Path) -> None:
        _accounts, eng, state = engine(tmp)
        kept = eng.begin(state, "a.log", str(tmp / "a.log"), read=False, append=False)
        eng.write(kept, 0, b"a")
        await finished(eng.finish(kept))
        dropped = eng.begin(state, "b.log", str(tmp / "b.log"), read=False, append=False)
        eng.abort(dropped)
        refs = [weakref.ref(kept), weakref.ref(dropped)]
        del kept, dropped
        gc.collect()
        assert [ref() for ref in refs] == [None, None]

    with_tmp(body)


def test_a_file_read_back_is_opened_without_following_a_link_and_is_not_inherited(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A link swapped in after the path was checked is not followed (O_NOFOLLOW), and the handle's
    descriptor does not leak into a process the toolkit starts (O_CLOEXEC)."""
    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver, sftp_session(receiver) as sftp:
            async with sftp.open("f.log", "wb") as fh:
                await fh.write(b"abc")
            async with sftp.open("f.log", "rb") as fh:
                inherited = [fd for fd in range(3, 1024) if _open_regular(fd, tmp / "h" / "f.log")]
                assert inherited and not any(os.get_inheritable(fd) for fd in inherited)
            (tmp / "outside.log").write_bytes(b"secret")
            target = str(tmp / "h" / "f.log")
            real_open = os.open

            def swapped_after_the_check(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
                if str(path) == target and flags & os.O_ACCMODE == os.O_RDONLY:
                    os.unlink(target)  # checked a file; now a link to outside the jail
                    os.symlink(tmp / "outside.log", target)
                return real_open(path, flags, *args, **kwargs)

            monkeypatch.setattr(jail.os, "open", swapped_after_the_check)
            with pytest.raises(asyncssh.SFTPError):
                await sftp.open("f.log", "rb")

    with_tmp(body)


def _open_regular(fd: int, path: Path) -> bool:
    try:
        return os.path.samefile(f"/proc/self/fd/{fd}", path)
    except OSError:
        return False


def test_an_open_that_creates_or_truncates_is_an_upload_even_without_the_write_flag() -> None:
    """Create or truncate asked without FXF_WRITE still goes the upload's way: a new name is uploaded
    under a temporary name and committed on close; an existing file is never truncated (nor opened
    for reading instead)."""
    async def body(tmp: Path) -> None:
        async with Receiver(tmp) as receiver, sftp_session(receiver) as sftp:
            async with sftp.open("new.log", asyncssh.FXF_READ | asyncssh.FXF_CREAT):
                assert any(".part-" in name for name in all_files(tmp))
            assert (tmp / "h" / "new.log").read_bytes() == b""
            async with sftp.open("old.log", "wb") as fh:
                await fh.write(b"old")
            assert await refused(sftp.open("old.log", asyncssh.FXF_READ | asyncssh.FXF_TRUNC)) == (
                asyncssh.FX_FAILURE, "file exists; the receiver never overwrites a file")
            assert (tmp / "h" / "old.log").read_bytes() == b"old"

    with_tmp(body)
