"""`activelog` step: `file get activelog ...`, pushed by the appliance into the built-in receiver.

The step answers the appliance's dialog with the receiver's address and this run's credentials
for the host, waits for `Transfer completed.`, then checks that what arrived whole matches what
the appliance announced (`Number of files affected`, `Total size in Bytes`).
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ops.actions.base import Action, Args, HostContext, StepFailed, StepResult, check_regex, one_line
from ops.logsets import LOG_SETS
from ops.parsers.activelog import FILES_RE, ParseError, parse_announcement, parse_file_list, transfer_completed
from ops.parsers.errors import failure_reason
from ops.parsers.ntp import appliance_time
from ops.patterns import compile_pattern, search
from ops.session.channel import Answer
from ops.session.errors import SessionError
from ops.state import StepState, normalise
from ops.timezones import ApplianceClock, ZoneName, zone

UNIT_SECONDS = {"minutes": 60, "hours": 3600, "days": 86400, "weeks": 7 * 86400, "months": 30 * 86400}
RELTIME_UNITS = tuple(UNIT_SECONDS)
ABSTIME_RE = re.compile(r"^\d{1,2}:\d{2}:\d{1,2}/\d{1,2}/\d{2}$", re.ASCII)
ABSTIME_FORMAT = "%H:%M:%m/%d/%y"


class Reltime(Args):
    """Exactly one of the units, e.g. `{days: 2}`."""

    minutes: int | None = Field(None, gt=0)
    hours: int | None = Field(None, gt=0)
    days: int | None = Field(None, gt=0)
    weeks: int | None = Field(None, gt=0)
    months: int | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one_unit(self) -> Reltime:
        given = [u for u in RELTIME_UNITS if getattr(self, u) is not None]
        if len(given) != 1:
            raise ValueError(f"reltime takes exactly one of {', '.join(RELTIME_UNITS)} (got {len(given)})")
        return self

    def unit(self) -> str:
        return next(u for u in RELTIME_UNITS if getattr(self, u) is not None)

    def seconds(self) -> int:
        """The window's length; VOS counts a month as 30 days."""
        unit = self.unit()
        return UNIT_SECONDS[unit] * int(getattr(self, unit))

    def cli(self) -> str:
        return f"reltime {self.unit()} {getattr(self, self.unit())}"


def _abstime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        text = value.strip()
        if ABSTIME_RE.fullmatch(text):
            return datetime.strptime(text, ABSTIME_FORMAT)
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a time: use hh:mm:MM/DD/YY (18:00:10/20/13) or YYYY-MM-DD HH:MM")


class Abstime(Args):
    """A window: `{from: "2026-11-24 08:00", to: "2026-11-24 12:00"}`, in the appliance's local time,
    or in `timezone` (the admin's, an IANA name), converted to the host's `timezone`."""

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    timezone: ZoneName | None = None

    def in_zone(self, appliance_zone: str | None) -> Abstime:
        """The same window in the appliance's local time."""
        if self.timezone is None:
            return self
        source, target = zone(self.timezone), zone(appliance_zone or "UTC")

        def convert(moment: datetime) -> datetime:
            return moment.replace(tzinfo=source).astimezone(target).replace(tzinfo=None)

        return self.model_copy(update={"start": convert(self.start), "end": convert(self.end), "timezone": None})

    @field_validator("start", "end", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> datetime:
        return _abstime(value)

    @model_validator(mode="after")
    def _ordered(self) -> Abstime:
        if self.start > self.end:
            raise ValueError("abstime 'from' is after 'to'")
        return self

    def cli(self) -> str:
        return f"abstime {self.start.strftime(ABSTIME_FORMAT)} {self.end.strftime(ABSTIME_FORMAT)}"


class ActivelogArgs(Args):
    path: str | None = None
    log_set: str | None = Field(None, alias="set", description="a named log set instead of a path")
    recurs: bool = False
    compress: bool = False
    reltime: Reltime | None = Field(None, examples=[{"days": 2}])
    abstime: Abstime | None = Field(None, examples=[{"from": "2026-11-24 08:00", "to": "2026-11-24 18:00"}])
    match: str | None = None
    directory: str = "/"
    timeout: float | None = Field(None, gt=0, description="seconds the appliance may stay silent (default: --timeout)")
    verify: bool = True
    since: Literal["last"] | None = Field(None, description="only what changed since the last successful pull")
    overlap_minutes: int = Field(10, ge=0, le=1440)
    max_clock_skew: float | None = Field(300.0, gt=0, description="seconds the appliance's clock may be off "
                                         "ours before a time-window pull is refused; null: do not check")

    @field_validator("directory")
    @classmethod
    def _directory_one_line(cls, value: str) -> str:
        return one_line(value, "directory")

    @field_validator("log_set")
    @classmethod
    def _known_set(cls, value: str | None) -> str | None:
        if value is not None and value not in LOG_SETS:
            raise ValueError(f"unknown log set {value!r}; known: {', '.join(LOG_SETS)}")
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value or any(c.isspace() for c in value):
            raise ValueError("path is a non-empty activelog file-spec without spaces, e.g. desktop/logs/*")
        if value.startswith("/") or ".." in PurePosixPath(value).parts:
            raise ValueError("path is relative to activelog and may not contain '..'")
        return value

    @field_validator("match")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value or any(c.isspace() for c in value):
            raise ValueError("match is a regex without spaces (the appliance splits its command line on them)")
        return check_regex(value, "match")

    @model_validator(mode="after")
    def _one_window(self) -> ActivelogArgs:
        if self.reltime is not None and self.abstime is not None:
            raise ValueError("give reltime or abstime, not both")
        if (self.path is None) == (self.log_set is None):
            raise ValueError("give path or set (a named log set), not both or neither")
        return self

    def specs(self) -> list[ActivelogArgs]:
        """One request per file-spec: the path, or each path of the log set."""
        if self.log_set is None:
            return [self]
        return [self.model_copy(update={"path": path, "recurs": recurs or self.recurs, "log_set": None})
                for path, recurs in LOG_SETS[self.log_set].paths]


def build_command(args: ActivelogArgs) -> str:
    assert args.path is not None, "log sets are expanded into paths first"
    parts = ["file get activelog", args.path]
    if args.recurs:
        parts.append("recurs")
    if args.compress:
        parts.append("compress")
    if args.reltime is not None:
        parts.append(args.reltime.cli())
    if args.abstime is not None:
        parts.append(args.abstime.cli())
    if args.match:
        parts += ["match", args.match]
    return " ".join(parts)


class ActivelogAction(Action):
    name = "activelog"
    needs_receiver = True
    Args = ActivelogArgs

    def commands(self, args: ActivelogArgs) -> list[str]:
        note = "   (answers: y, receiver address/port/user/password, directory " + args.directory + ")"
        if args.since:
            note += "; since: last replaces the window with the time since the last successful pull"
        return [build_command(spec) + note for spec in args.specs()]

    async def run(self, ctx: HostContext, args: ActivelogArgs) -> StepResult:
        started = time.time()
        previous = ctx.pull_state().get(ctx.host.name, ctx.step_name) if args.since else None
        if previous is not None:
            minutes = math.ceil(max(0.0, started - previous.started) / 60) + args.overlap_minutes
            args = args.model_copy(update={"reltime": Reltime(minutes=max(1, minutes)), "abstime": None})
        elif args.abstime is not None:
            args = args.model_copy(update={"abstime": args.abstime.in_zone(ctx.host.timezone)})
        skew = await self._clock_skew(ctx, args)
        clock = ApplianceClock(skew or 0.0, ctx.host.timezone)
        if ctx.resuming:
            results = await self._resume(ctx, args, clock)
        else:
            results = [await self._pull(ctx, spec, clock) for spec in args.specs()]
        data: dict[str, Any] = {key: sum(r.data.get(key, 0) for r in results)
                                for key in ("announced_files", "announced_bytes", "files_received", "bytes_received")}
        data["commands"] = [r.data["command"] for r in results]
        data["clock_skew_s"] = skew
        data["command"] = data["commands"][0]
        files = [f for r in results for f in r.files]
        if args.since:
            # What this window held, copies of held files included: the next window starts after
            # this one did, so nothing older can come again (a log that grew has a new sha256).
            seen = {normalise(f["path"]): f["sha256"] for f in files}
            if ctx.resuming and previous is not None:  # a resume fetches only what was missing
                seen = {**previous.files, **seen}
            files, unchanged = self._drop_unchanged(ctx, files, previous)
            data["files_unchanged"] = unchanged
            data["window"] = args.reltime.cli() if args.reltime else args.abstime.cli() if args.abstime else "all"
            ctx.pull_state().record(ctx.host.name, ctx.step_name, started, seen)
        data["files"] = files
        data["compressed"] = args.compress
        message = (f"{len(files)} files, {sum(f['size'] for f in files)} bytes"
                   + (f" ({data['files_unchanged']} already held)" if data.get("files_unchanged") else ""))
        if ctx.resuming and results and all(r.message == "nothing missing" for r in results):
            message = "nothing missing"  # a resume that found every file held whole
        elif data["announced_files"] == 0:
            message = "no files matched"
        return StepResult(changed=bool(files), files=files, message=message, data=data)

    @staticmethod
    async def _clock_skew(ctx: HostContext, args: ActivelogArgs) -> float | None:
        """Seconds the appliance's clock is ahead of ours, checked before windows that depend on it."""
        if args.max_clock_skew is None or (args.reltime is None and args.abstime is None and not args.since):
            return None
        channel = await ctx.channel()
        before = time.time()
        text = await channel.send("utils ntp status", check=False, timeout=args.timeout)
        theirs = appliance_time(text)
        if theirs is None:
            return None
        skew = theirs.timestamp() - (before + time.time()) / 2
        if abs(skew) > args.max_clock_skew:
            raise StepFailed(
                f"{ctx.host.name}: the appliance's clock is {skew:+.0f} s off this machine's (more than "
                f"max_clock_skew {args.max_clock_skew:g} s), so a time window would select the wrong files; "
                "fix NTP on the appliance (utils ntp status) or raise max_clock_skew",
                {"clock_skew_s": round(skew, 1)})
        return round(skew, 1)

    @staticmethod
    def _drop_unchanged(ctx: HostContext, files: list[dict[str, Any]],
                        previous: StepState | None) -> tuple[list[dict[str, Any]], int]:
        """Files identical (same path below activelog, same sha256) to ones a previous pull holds."""
        if previous is None:
            return files, 0
        receiver, _account = ctx.receiver()
        kept = []
        for entry in files:
            if previous.files.get(normalise(entry["path"])) == entry["sha256"]:
                receiver.discard(ctx.host.name, entry["path"])
            else:
                kept.append(entry)
        return kept, len(files) - len(kept)

    async def _pull(self, ctx: HostContext, args: ActivelogArgs, clock: ApplianceClock) -> StepResult:
        """One `file get activelog` for one file-spec, verified against what the appliance announced."""
        channel = await ctx.channel()
        receiver, account = ctx.receiver()
        before = {e.path for e in receiver.manifest(ctx.host.name)}
        command = build_command(args)
        answers = [
            Answer(r"Would you like to proceed \[y/n\]\?", "y", name="proceed"),
            Answer(r"SFTP server IP:", receiver.advertised_host, name="SFTP server IP"),
            Answer(r"SFTP server port(?: \[\d+\])?:", str(receiver.port), name="SFTP server port"),
            Answer(r"User ID:", account.username, name="User ID"),
            Answer(r"[Pp]assword:", account.password, name="Password"),
            Answer(r"Download directory:", args.directory, name="Download directory"),
            Answer(r"\(yes/no(?:/\[fingerprint\])?\)\?", "yes", name="host key question"),
        ]
        # A silent CLI is not a stalled one while the files keep arriving (a big file, a slow link).
        result = await channel.dialog(command, answers, timeout=args.timeout, check=False,
                                      progress=lambda: receiver.stats(ctx.host.name)[1])
        output = result.output
        failure = failure_reason(output)
        try:
            announced = parse_announcement(output) if failure is None or FILES_RE.search(output) else None
        except ParseError as exc:
            raise StepFailed(f"{ctx.host.name}: {command!r}: the appliance's answer was not understood ({exc})",
                             {"command": command, "output": output}) from None
        if announced is None:
            if failure is not None:
                raise StepFailed(f"{ctx.host.name}: {command!r} failed: {failure}", {"command": command})
            return StepResult(changed=False, message="no files matched",
                              data={"command": command, "announced_files": 0, "announced_bytes": 0,
                                    "files_received": 0, "bytes_received": 0, "files": []})
        received = [e for e in receiver.manifest(ctx.host.name) if e.path not in before]
        files = [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in received]
        got_bytes = sum(e.size for e in received)
        data: dict[str, Any] = {
            "command": command, "announced_files": announced.files, "announced_bytes": announced.bytes,
            "files_received": len(received), "bytes_received": got_bytes, "files": files,
            "compressed": args.compress,
        }
        complete = args.compress or (len(received) == announced.files and got_bytes == announced.bytes)
        if failure is None and not transfer_completed(output):
            failure = "the appliance did not report 'Transfer completed'"
        if failure is not None or (args.verify and not complete):
            if not args.compress and not complete:
                data["missing"] = await self._missing(ctx, args, received, clock)
            raise StepFailed(_failure_message(ctx.host.name, announced.files, announced.bytes, received, got_bytes,
                                              data.get("missing", []), failure), data)
        if args.compress and not received:
            raise StepFailed("compressed transfer reported complete but no archive arrived", data)
        return StepResult(changed=True, files=files,
                          message=f"{len(received)} files, {got_bytes} bytes", data=data)

    async def _missing(self, ctx: HostContext, args: ActivelogArgs, received: list[Any],
                       clock: ApplianceClock) -> list[str]:
        """Files the appliance lists for the request that did not arrive whole (best effort)."""
        got = [e.path for e in received]
        return sorted(c for c, _size in await self._listing(ctx, args, clock)
                      if not any(g == c or g.endswith("/" + c) for g in got))

    async def _listing(self, ctx: HostContext, args: ActivelogArgs,
                       clock: ApplianceClock) -> list[tuple[str, int]]:
        """(path below activelog, size) of each file the request covers, as far as the appliance says.

        VOS cannot name what `file get` will send, so the request is replayed over `file list
        activelog ... detail`: the spec, sub-directories when `recurs`, the time window and `match`,
        the window read as the appliance reads it (`clock`: its clock and zone, in which it prints times).
        """
        channel = await ctx.channel()
        assert args.path is not None
        pattern = compile_pattern(args.match) if args.match else None
        window = _window(args, clock)
        spec = PurePosixPath(args.path)
        base = spec.parent if any(c in spec.name for c in "*?[") else spec
        pending: list[tuple[str, PurePosixPath]] = [(args.path, base)]
        candidates: list[tuple[str, int]] = []
        listed = 0
        while pending and listed < 200:
            query, directory = pending.pop(0)
            listed += 1
            try:
                text = await channel.send(f"file list activelog {query} detail", timeout=args.timeout)
            except SessionError:
                return candidates
            for entry in parse_file_list(text):
                # A spec naming one file lists that file: it is the path, not a directory holding it.
                path = spec if directory == spec and entry.name == spec.name and not entry.is_dir \
                    else directory / entry.name
                if entry.is_dir:
                    if args.recurs:
                        pending.append((str(path), path))
                    continue
                if pattern is not None and not search(pattern, entry.name, what="match"):
                    continue
                if window is not None and entry.modified is not None and not window[0] <= entry.modified <= window[1]:
                    continue
                candidates.append((str(path), entry.size or 0))
        return candidates

    async def _resume(self, ctx: HostContext, args: ActivelogArgs, clock: ApplianceClock) -> list[StepResult]:
        """Fetch, one `file get` each, the covered files the run directory does not hold whole."""
        held = ctx.held()
        results = []
        for spec in args.specs():
            listing = await self._listing(ctx, spec, clock)
            todo = [path for path, size in listing if path not in held or held[path][0] != size]
            for path in todo:
                if path in held:
                    # The appliance's copy changed since (an active log grows): the newer one replaces it.
                    ctx.release_held(path)
                one = spec.model_copy(update={"path": path, "recurs": False, "reltime": None, "abstime": None,
                                              "match": None, "compress": False})
                results.append(await self._pull(ctx, one, clock))
            if not todo:
                results.append(StepResult(message="nothing missing", data={
                    "command": f"(resume: all {len(listing)} files of {spec.path} already held)"}))
        return results


# Seconds a reltime window's replay is narrowed by at its old end: the skew is measured to a second
# (`utils ntp status` prints whole seconds) and the pull came before the replay, so a file that close
# to the edge may have fallen out of the appliance's window since.
EDGE = 2.0


def _window(args: ActivelogArgs, clock: ApplianceClock) -> tuple[datetime, datetime] | None:
    """The pull's time window on the appliance's wall clock (as `file list ... detail` prints times)."""
    if args.abstime is not None:  # abstime names minutes: the end minute is in, to its last second
        return args.abstime.start, args.abstime.end + timedelta(seconds=59)
    if args.reltime is not None:
        now = clock.now()
        return now - timedelta(seconds=args.reltime.seconds() - EDGE), now + timedelta(minutes=5)
    return None


def _failure_message(host: str, files: int, size: int, received: list[Any], got: int, missing: list[str],
                     failure: str | None) -> str:
    text = (f"{host}: incomplete transfer: the appliance announced {files} files / {size} bytes, "
            f"{len(received)} files / {got} bytes arrived whole")
    if failure:
        text = f"{host}: {failure}; " + text.split(": ", 1)[1]
    if missing:
        text += f"; missing: {', '.join(missing[:20])}" + (" ..." if len(missing) > 20 else "")
    return text
