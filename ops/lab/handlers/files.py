"""`file list activelog` and `file get activelog`: the log pull the toolkit exists for."""

from __future__ import annotations

import asyncio
import contextlib
import stat
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import asyncssh

from ops.lab import faults
from ops.lab import push as sftp_push
from ops.lab.commands import CommandContext, CommandError, command
from ops.lab.logtree import RELTIME_UNITS, LogFile, matching, parse_abstime, spec_directory, spec_parts, total_size
from ops.lab.terminal import SessionClosed

if TYPE_CHECKING:
    from ops.lab.server import LabAppliance

GET_USAGE = ("file get activelog file-spec [reltime {months|weeks|days|hours|minutes} N | "
             "abstime hh:mm:MM/DD/YY hh:mm:MM/DD/YY] [match regex] [recurs] [compress]")
LIST_USAGE = "file list activelog file-spec [page] [detail] [reverse] [date|size]"
NO_FILES = "No files matched the criteria."


def format_kbytes(size: int) -> str:
    """Bytes/1024 with up to four decimals and no trailing zeros, like `2639.3828`."""
    text = f"{size / 1024:.4f}".rstrip("0").rstrip(".")
    return text or "0"


def _stamp(lab: LabAppliance, mtime: float) -> str:
    return lab.local(mtime).strftime("%d %b,%Y %H:%M:%S")


# --------------------------------------------------------------------------- file list


@dataclass(frozen=True)
class _Entry:
    name: str
    is_dir: bool
    size: int
    mtime: float


def _list_entries(root: Path, spec: str) -> list[_Entry]:
    try:
        parts = spec_parts(spec)
    except ValueError:
        raise CommandError(f"Invalid file spec: {spec}") from None
    where = spec_directory(root, parts)
    if where is None:
        raise CommandError(f"Directory not found: {spec}")
    entries = []
    for path, st in matching(*where):
        is_dir = stat.S_ISDIR(st.st_mode)
        entries.append(_Entry(path.name, is_dir, 0 if is_dir else st.st_size, st.st_mtime))
    return entries


@command("file list activelog", usage=LIST_USAGE)
async def file_list_activelog(ctx: CommandContext, args: list[str]) -> None:
    """List a directory below activelog, with `detail` rows `dd Mon,yyyy hh:mm:ss <dir>|size name`."""
    if not args:
        raise CommandError("Missing file-spec", syntax=True)
    spec, options = args[0], [a.lower() for a in args[1:]]
    for opt in options:
        if opt not in ("page", "detail", "reverse", "date", "size"):
            raise CommandError(f"Invalid option: {opt}", syntax=True)
    entries = sorted(_list_entries(ctx.lab.log_root, spec), key=lambda e: e.name)
    if "date" in options:
        entries.sort(key=lambda e: e.mtime)
    elif "size" in options:
        entries.sort(key=lambda e: e.size)
    if "reverse" in options:
        entries.reverse()
    lines = []
    for e in entries:
        what = "<dir>" if e.is_dir else f"{e.size:,}"
        if "detail" in options:
            lines.append(f"{_stamp(ctx.lab, e.mtime)} {what} {e.name}")
        else:
            lines.append(f"<dir> {e.name}" if e.is_dir else e.name)
    dirs = sum(1 for e in entries if e.is_dir)
    lines.append(f"dir count = {dirs}, file count = {len(entries) - dirs}")
    await ctx.term.page_file(lines)


# --------------------------------------------------------------------------- file get


@dataclass
class GetRequest:
    """The parsed options of `file get activelog`."""

    spec: str
    recurs: bool = False
    compress: bool = False
    reltime: tuple[str, int] | None = None
    abstime: tuple[datetime, datetime] | None = None
    match: str | None = None


def parse_get_args(args: list[str]) -> GetRequest:
    """Parse `<spec> [recurs] [compress] [reltime U N] [abstime A B] [match R]`, options in any order."""
    spec: str | None = None
    req = GetRequest(spec="")
    i = 0
    while i < len(args):
        word, low = args[i], args[i].lower()
        if low == "recurs":
            req.recurs = True
        elif low == "compress":
            req.compress = True
        elif low == "reltime":
            if i + 2 >= len(args):
                raise CommandError("reltime needs a unit and a number", syntax=True)
            unit, count = args[i + 1].lower(), args[i + 2]
            if unit not in RELTIME_UNITS:
                raise CommandError(f"Invalid reltime unit: {args[i + 1]}", syntax=True)
            if not count.isdigit():
                raise CommandError(f"Invalid reltime value: {count}", syntax=True)
            req.reltime = (unit, int(count))
            i += 2
        elif low == "abstime":
            if i + 2 >= len(args):
                raise CommandError("abstime needs a start and an end time", syntax=True)
            try:
                start, end = parse_abstime(args[i + 1]), parse_abstime(args[i + 2])
            except ValueError as exc:
                raise CommandError(str(exc), syntax=True) from None
            if start > end:
                raise CommandError("abstime start is after its end", syntax=True)
            req.abstime = (start, end)
            i += 2
        elif low == "match":
            if i + 1 >= len(args):
                raise CommandError("match needs a regular expression", syntax=True)
            req.match = args[i + 1]
            i += 1
        elif spec is None:
            spec = word
        else:
            raise CommandError(f"Invalid option: {word}", syntax=True)
        i += 1
    if spec is None:
        raise CommandError("Missing file-spec", syntax=True)
    if req.reltime and req.abstime:
        raise CommandError("reltime and abstime cannot be used together", syntax=True)
    req.spec = spec
    return req


async def _ask_target(ctx: CommandContext) -> tuple[sftp_push.PushTarget, str]:
    term = ctx.term
    host = (await term.readline("SFTP server IP: ")).strip()
    port_text = (await term.readline("SFTP server port [22]: ")).strip()
    user = (await term.readline("User ID: ")).strip()
    password = await term.readline("Password: ", secret=True)
    directory = (await term.readline("Download directory: ")).strip()
    if not host:
        raise CommandError("Invalid SFTP server IP")
    if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise CommandError(f"Invalid SFTP server port: {port_text}")
    return sftp_push.PushTarget(host, int(port_text or 22), user, directory), password


async def _check_host_key(ctx: CommandContext, target: sftp_push.PushTarget, key: asyncssh.SSHKey) -> None:
    """What ssh does with a receiver's host key: known, changed (refused), or ask the user."""
    where = f"{target.host}:{target.port}"
    label = sftp_push.key_type_label(key)
    known = ctx.lab.known_hosts.get(where)
    if known is not None:
        if known.public_data != key.public_data:
            raise sftp_push.PushError("\n".join([
                "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
                "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
                "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
                f"{label} key fingerprint is {key.get_fingerprint('sha256')}.",
                "Host key verification failed.",
            ]))
        return
    term = ctx.term
    await term.writeline(f"The authenticity of host '{target.host} ({target.host})' can't be established.")
    await term.writeline(f"{label} key fingerprint is {key.get_fingerprint('sha256')}.")
    answer = (await term.readline("Are you sure you want to continue connecting (yes/no)? ")).strip().lower()
    while answer not in ("yes", "no"):
        answer = (await term.readline("Please type 'yes' or 'no': ")).strip().lower()
    if answer != "yes":
        raise sftp_push.PushError("Host key verification failed.")
    ctx.lab.known_hosts[where] = key
    await term.writeline(f"Warning: Permanently added '{target.host}' ({label}) to the list of known hosts.")


@command("file get activelog", usage=GET_USAGE)
async def file_get_activelog(ctx: CommandContext, args: list[str]) -> None:
    """Select files below activelog, confirm, ask for an SFTP server and push them there."""
    req = parse_get_args(args)
    lab, term = ctx.lab, ctx.term
    await term.write("Please wait while the system is gathering files info ...")
    if "busy_answer" in lab.config.faults:
        await term.writeline("done.")
        await term.writeline("The log partition is being rotated, please retry in a few minutes.")
        return
    try:
        files = lab.select(req.spec, recurs=req.recurs, reltime=req.reltime, abstime=req.abstime, match=req.match)
    except ValueError as exc:
        await term.writeline("failed.")
        raise CommandError(str(exc)) from None
    await term.writeline("done.")
    if not files:
        await term.writeline(NO_FILES)
        return
    size = total_size(files)
    await term.write(
        f"Sub-directories were {'' if req.recurs else 'not '}traversed.\n"
        f"Number of files affected: {len(files)}\n"
        f"Total size in Bytes: {size}\n"
        f"Total size in Kbytes: {format_kbytes(size)}\n"
    )
    if "command_fails" in lab.config.faults:
        await term.writeline("Error: unable to gather files, the log partition is not accessible")
        raise CommandError()
    if not await term.confirm("Would you like to proceed [y/n]? "):
        return
    if "hang_dialog" in lab.config.faults:
        await faults.hang()
    await term.writeline()
    target, password = await _ask_target(ctx)
    if "disconnect_dialog" in lab.config.faults:
        raise SessionClosed()
    await term.writeline()
    await _transfer(ctx, req, target, password, files)


def _record(ctx: CommandContext, target: sftp_push.PushTarget, files: list[LogFile], remote: list[str],
            compressed: bool, error: str = "") -> None:
    record = sftp_push.PushRecord(target.host, target.port, target.username, target.directory, tuple(files),
                                  tuple(remote), compressed, ok=not error, error=error)
    ctx.lab.pushes.append(record)


async def _transfer(ctx: CommandContext, req: GetRequest, target: sftp_push.PushTarget, password: str,
                    files: list[LogFile]) -> None:
    lab, term = ctx.lab, ctx.term
    when = lab.local(lab.clock())
    base, remote = sftp_push.remote_layout(target, files, nested=lab.config.nested_layout,
                                           hostname=lab.config.hostname, when=when)

    async def dot() -> None:
        await term.write(".")

    with contextlib.ExitStack() as scratch:
        if req.compress:
            name = f"{lab.config.hostname}_{when:%Y%m%d%H%M%S}_activelog.tgz"
            archive = Path(scratch.enter_context(
                tempfile.TemporaryDirectory(prefix="ops-lab-tgz-", ignore_cleanup_errors=True))) / name
            await asyncio.to_thread(sftp_push.build_archive, lab.log_root, files, archive)
            uploads = [(archive, f"{base}/{name}")]
        else:
            uploads = [(lab.log_root / f.relpath, r) for f, r in zip(files, remote, strict=True)]
        try:
            if "short_transfer" in lab.config.faults:
                uploads = uploads[:-1]
            if "short_bytes" in lab.config.faults and uploads:
                local, remote_path = uploads[-1]
                half = Path(scratch.enter_context(
                    tempfile.TemporaryDirectory(prefix="ops-lab-half-", ignore_cleanup_errors=True))) / local.name
                data = local.read_bytes()
                half.write_bytes(data[: len(data) // 2])
                uploads[-1] = (half, remote_path)
            # Behind sshd the appliance pushes with OpenSSH's own sftp, unless a fault or a pace
            # needs the programmable client.
            programmable = ("sftp_disconnect" in lab.config.faults or lab.config.transfer_rate
                            or lab.config.transfer_delay)
            if lab.config.sshd and not programmable:
                await sftp_push.push_openssh(target, password, lambda key: _check_host_key(ctx, target, key),
                                             uploads, legacy=lab.config.sftp_legacy_only, on_file=dot)
            else:
                await sftp_push.push(target, password, lambda key: _check_host_key(ctx, target, key), uploads,
                                     legacy=lab.config.sftp_legacy_only,
                                     transfer_delay=lab.config.transfer_delay, rate=lab.config.transfer_rate,
                                     on_file=dot,
                                     drop_in_last_file="sftp_disconnect" in lab.config.faults)
        except sftp_push.PushError as exc:
            await term.writeline()
            _record(ctx, target, files, [r for _, r in uploads], req.compress, str(exc))
            raise CommandError(str(exc)) from None
    _record(ctx, target, files, [r for _, r in uploads], req.compress)
    await term.writeline()
    await term.writeline("Transfer completed.")
