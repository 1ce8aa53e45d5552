"""Pure tests of the lab's command registry and terminal, with in-memory streams (no SSH)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from ops.lab.commands import CommandContext, CommandError, Registry
from ops.lab.handlers.files import format_kbytes, parse_get_args
from ops.lab.terminal import Interrupted, SessionClosed, Terminal


class FakeIn:
    """Feeds pre-set chunks, then EOF."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)

    async def read(self, n: int = -1) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


class FakeOut:
    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        return None


def term(*chunks: bytes, **kw: Any) -> tuple[Terminal, FakeOut]:
    out = FakeOut()
    return Terminal(FakeIn(*chunks), out, **kw), out


def test_readline_echo_crlf_backspace_secret_and_ctrl_c() -> None:
    async def main() -> None:
        t, out = term(b"ab", b"c\x7fd\r\nnext\n", "h\xc3".encode("latin-1"), b"\xa9\r")
        assert await t.readline("p:") == "abd"
        assert await t.readline() == "next"
        assert await t.readline() == "hé"
        await t.flush()  # output leaves when the program waits, as on a pty
        assert out.data == "p:abc\b \bd\r\nnext\r\nhé\r\n".encode()
        t, out = term(b"pw\r")
        assert await t.readline("Password: ", secret=True) == "pw"
        await t.flush()  # output leaves when the program waits, as on a pty
        assert out.data == b"Password: **\r\n"
        t, out = term(b"x\x03")
        with pytest.raises(Interrupted):
            await t.readline()
        with pytest.raises(SessionClosed):
            await t.readline()

    asyncio.run(main())


def test_registry_dispatch_longest_prefix_errors_and_extension() -> None:
    async def main() -> None:
        reg = Registry()
        seen: list[list[str]] = []

        @reg.command("utils webproxy cache clear", usage="utils webproxy cache clear {all|rest}")
        async def clear(ctx: CommandContext, args: list[str]) -> None:
            seen.append(args)
            if args != ["rest"]:
                raise CommandError(f"Invalid option: {' '.join(args)}", syntax=True)
            await ctx.term.writeline("Successfully cleared rest cache")

        t, out = term()
        ctx = CommandContext(term=t, lab=cast(Any, None))
        assert await reg.dispatch(ctx, "UTILS webproxy cache clear rest")
        assert not await reg.dispatch(ctx, "utils webproxy cache clear bogus")
        assert not await reg.dispatch(ctx, "utils nothing")
        assert seen == [["rest"], ["bogus"]]
        await t.flush()  # output leaves when the program waits, as on a pty
        assert out.data.decode() == (
            "Successfully cleared rest cache\r\n"
            "Invalid option: bogus\r\nSyntax:\r\n  utils webproxy cache clear {all|rest}\r\n"
            "Executed command unsuccessfully\r\n"
            "Invalid command: nothing\r\nSyntax:\r\n  utils webproxy cache clear {all|rest}\r\n"
            "Executed command unsuccessfully\r\n")

    asyncio.run(main())


def test_pager_keys() -> None:
    async def main() -> None:
        lines = [f"line {i}" for i in range(10)]
        t, out = term(b" ", b"\r\n", b"x", b"q", page_lines=3)
        await t.page(lines)
        await t.flush()  # output leaves when the program waits, as on a pty
        text = out.data.decode()
        assert text.count("Press <enter> for 1 line, <space> for one page, or <q> to quit") == 3
        assert "line 6" in text and "line 7" not in text
        t, out = term(page_lines=3)
        t.pagination = False
        await t.page(lines)
        await t.flush()  # output leaves when the program waits, as on a pty
        assert out.data.decode() == "".join(f"line {i}\r\n" for i in range(10))

    asyncio.run(main())


def test_get_args_and_kbytes() -> None:
    req = parse_get_args(["match", "^Desk", "desktop/logs", "compress", "reltime", "DAYS", "2", "recurs"])
    assert (req.spec, req.match, req.compress, req.recurs, req.reltime) == ("desktop/logs", "^Desk", True, True,
                                                                             ("days", 2))
    for bad in (["x", "reltime", "days"], ["x", "reltime", "days", "two"], ["x", "y"], [],
                ["x", "reltime", "days", "1", "abstime", "1:00:1/1/20", "2:00:1/1/20"]):
        with pytest.raises(CommandError):
            parse_get_args(bad)
    assert format_kbytes(2702728) == "2639.3828"
    assert format_kbytes(2048) == "2"
    assert format_kbytes(1536) == "1.5"


def test_output_written_before_the_program_waits_leaves_in_one_write() -> None:
    """As sshd reads a pty: lines printed in one burst reach the client together."""
    async def main() -> None:
        t, out = term()
        writes: list[bytes] = []
        out.write = writes.append  # type: ignore[method-assign]
        await t.writeline("Number of files affected: 2")
        await t.write("Would you like to proceed [y/n]? ")
        assert writes == []
        await asyncio.sleep(0)
        assert writes == [b"Number of files affected: 2\r\nWould you like to proceed [y/n]? "]
        await t.write("x" * 70_000)  # a big burst is sent at once, waiting for the channel
        assert writes[-1] == b"x" * 70_000

    asyncio.run(main())
