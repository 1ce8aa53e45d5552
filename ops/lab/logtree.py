"""The lab appliance's `activelog` tree: generating it, listing it, and VOS file-spec selection.

Everything here is pure file-system work with no network, so the selection rules that
`file get activelog` / `file list activelog` follow can be tested on their own and reused by
tests to compute what the appliance is expected to push.
"""

from __future__ import annotations

import fnmatch
import os
import random
import re
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

RELTIME_UNITS: dict[str, int] = {
    "minutes": 60,
    "hours": 3600,
    "days": 86400,
    "weeks": 7 * 86400,
    # VOS counts a month as 30 days.
    "months": 30 * 86400,
}

_ABSTIME_RE = re.compile(r"^(\d{1,2}):(\d{2}):(\d{1,2})/(\d{1,2})/(\d{2})$", re.ASCII)
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class LogFile:
    """One file below activelog, as the appliance sees it."""

    relpath: str  # posix path below activelog
    size: int
    mtime: float  # epoch seconds

    @property
    def name(self) -> str:
        """The basename, which `match <regex>` is applied to."""
        return PurePosixPath(self.relpath).name


# --------------------------------------------------------------------------- selection


def scan(root: Path) -> list[LogFile]:
    """Every regular file currently below `root`, sorted by its path below root.

    Directories are descended (not symlinks to them, as `os.walk` does); a symlink to a regular
    file counts as that file. One `stat` per file: hundreds of labs scan the same tree at once.
    """
    found: list[LogFile] = []
    if not os.path.isdir(root):
        return found
    _walk(os.fspath(root), "", found)
    found.sort(key=lambda f: f.relpath)
    return found


def _walk(directory: str, prefix: str, found: list[LogFile]) -> None:
    """Append every regular file below `directory` to `found`, as `prefix` + its path below it."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                _walk(entry.path, f"{prefix}{entry.name}/", found)
                continue
            st = entry.stat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            found.append(LogFile(prefix + entry.name, st.st_size, st.st_mtime))


def parse_abstime(text: str) -> datetime:
    """Parse a VOS abstime value `hh:mm:MM/DD/YY` (e.g. `18:00:10/20/13`) into a naive datetime."""
    m = _ABSTIME_RE.fullmatch(text.strip())
    if not m:
        raise ValueError(f"invalid abstime {text!r}: expected hh:mm:MM/DD/YY, e.g. 18:00:10/20/13")
    hour, minute, month, day, year = (int(g) for g in m.groups())
    try:
        return datetime(2000 + year, month, day, hour, minute)
    except ValueError as exc:
        raise ValueError(f"invalid abstime {text!r}: {exc}") from None


def spec_parts(spec: str) -> list[str]:
    """The path components of a file-spec below activelog; ValueError for `..`."""
    parts = [p for p in spec.replace("\\", "/").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ValueError(f"invalid file spec {spec!r}: '..' is not allowed")
    return parts


def spec_directory(root: Path, parts: list[str]) -> tuple[Path, str] | None:
    """The directory a file-spec's `parts` name and the pattern for its entries (`*` for a whole
    directory), or None when there is no such directory."""
    target = root.joinpath(*parts)
    if target.is_dir():
        return target, "*"
    if parts and (directory := root.joinpath(*parts[:-1])).is_dir():
        return directory, parts[-1]
    return None


def matching(directory: Path, pattern: str) -> Iterator[tuple[Path, os.stat_result]]:
    """The entries of `directory` whose name matches `pattern`, each with one `stat` (following
    links); an entry that cannot be stat'ed is left out."""
    for entry in directory.iterdir():
        if not fnmatch.fnmatchcase(entry.name, pattern):
            continue
        try:
            st = entry.stat()
        except OSError:
            continue
        yield entry, st


def _candidates(root: Path, spec: str, recurs: bool) -> list[LogFile]:
    parts = spec_parts(spec)
    if parts and any(c in _GLOB_CHARS for c in "".join(parts[:-1])):
        raise ValueError(f"invalid file spec {spec!r}: only the last component may be a pattern")
    where = spec_directory(root, parts)
    if where is None:
        return []
    picked: list[LogFile] = []  # in any order: select() sorts
    for entry, st in matching(*where):
        relpath = entry.relative_to(root).as_posix()
        if stat.S_ISREG(st.st_mode):
            picked.append(LogFile(relpath, st.st_size, st.st_mtime))
        elif stat.S_ISDIR(st.st_mode) and recurs:
            _walk(os.fspath(entry), relpath + "/", picked)
    return picked


def _mtime_filter(
    reltime: tuple[str, int] | None, abstime: tuple[datetime, datetime] | None, now: float | None
) -> Callable[[float], bool]:
    checks: list[Callable[[float], bool]] = []
    if reltime is not None:
        unit, count = reltime
        if unit not in RELTIME_UNITS:
            raise ValueError(f"invalid reltime unit {unit!r}: expected one of {', '.join(RELTIME_UNITS)}")
        if count < 0:
            raise ValueError(f"invalid reltime count {count}: must not be negative")
        cutoff = (now if now is not None else datetime.now().timestamp()) - count * RELTIME_UNITS[unit]
        checks.append(lambda m: m >= cutoff)
    if abstime is not None:
        start, end = abstime
        until = end + timedelta(minutes=1)  # abstime names minutes: the end minute is in, to its last second

        def within(m: float) -> bool:
            when = datetime.fromtimestamp(m, start.tzinfo) if start.tzinfo else datetime.fromtimestamp(m)
            return start <= when < until

        checks.append(within)
    return lambda m: all(c(m) for c in checks)


def select(
    root: Path,
    spec: str,
    *,
    recurs: bool = False,
    reltime: tuple[str, int] | None = None,
    abstime: tuple[datetime, datetime] | None = None,
    match: str | None = None,
    now: float | None = None,
) -> list[LogFile]:
    """The files `file get activelog <spec> ...` picks, sorted by relpath.

    `spec` is a path below activelog whose last component may be a glob; a directory means
    `dir/*`. Matched files are taken, matched directories are descended (fully) only with
    `recurs`. `reltime` keeps mtime >= now - N*unit, `abstime` keeps from <= mtime < to + 1 minute
    (naive datetimes are local time), `match` is `re.search` on the basename.
    Raises ValueError for a spec escaping the tree, a bad reltime unit or a bad regex.
    """
    try:
        pattern = re.compile(match) if match is not None else None
    except re.error as exc:
        raise ValueError(f"invalid regular expression {match!r}: {exc}") from None
    keep_time = _mtime_filter(reltime, abstime, now)
    picked = {
        f.relpath: f
        for f in _candidates(Path(root), spec, recurs)
        if keep_time(f.mtime) and (pattern is None or pattern.search(f.name))
    }
    return [picked[k] for k in sorted(picked)]


# --------------------------------------------------------------------------- generation

_AGENTS = ["1001001", "1001002", "1001017", "1002040", "2000315", "2000316"]
_LEVELS = [("INFO", 6)] * 8 + [("DEBUG", 7)] * 4 + [("WARN", 4)] * 2 + [("ERROR", 3)]
_WS_MESSAGES = [
    "com.cisco.ccbu.finesse.webservices.user.UserResource: GET /finesse/api/User/{agent} from 10.1.20.{n} "
    "status=200 time={ms}ms",
    "com.cisco.ccbu.finesse.cti.CTIEventHandler: AgentStateChangeEvent agent={agent} state=READY "
    "reasonCode=-1 extension=30{n}",
    "com.cisco.ccbu.finesse.cti.CTIEventHandler: CallDeliveredEvent connectionCallID=167{n}{ms} "
    "lineHandle=1 agent={agent}",
    "com.cisco.ccbu.finesse.notification.NotificationPublisher: Published update to "
    "/finesse/api/User/{agent} node=finesse-a subscribers=2 took {ms}ms",
    "com.cisco.ccbu.finesse.webservices.dialog.DialogResource: PUT /finesse/api/Dialog/167{n}{ms} "
    "action=ANSWER agent={agent} status=202",
    "com.cisco.ccbu.finesse.cti.CTIConnection: Heartbeat response received from CTI server "
    "10.1.1.5:42027 rtt={ms}ms",
    "com.cisco.ccbu.finesse.webservices.auth.AuthFilter: Authentication failed for user {agent} "
    "from 10.1.20.{n}: invalid credentials",
    "com.cisco.ccbu.finesse.webservices.cache.RestCache: cache hit ratio {n}% entries={ms}",
]
_OPENFIRE_MESSAGES = [
    "org.jivesoftware.openfire.session.LocalClientSession - Session created for {agent}@finesse-a/desktop",
    "org.jivesoftware.openfire.http.HttpSession - BOSH session {ms}{n} closed: inactivity timeout",
    "org.jivesoftware.openfire.pubsub.PubSubEngine - Item published to node /finesse/api/User/{agent}",
    "org.jivesoftware.openfire.nio.ConnectionHandler - Connection closed by peer 10.1.20.{n}:5222",
]
_REALM_MESSAGES = [
    "com.cisco.ccbu.finesse.realm.FinesseRealm: Authenticating user {agent} against AWDB",
    "com.cisco.ccbu.finesse.realm.FinesseRealm: User {agent} authenticated, roles=[Agent] took {ms}ms",
    "com.cisco.ccbu.finesse.realm.TokenValidator: SSO token validated for {agent} expires in {n} min",
]
_CLIENT_MESSAGES = [
    "Finesse Desktop [{agent}]: XMPP connection status changed to connected via 7443 ({ms}ms)",
    "Finesse Desktop [{agent}]: GET /finesse/api/User/{agent}/Dialogs returned 200 in {ms}ms",
    "Finesse Desktop [{agent}]: gadget loaded: /desktop/scripts/js/teamperformance.js ({n} KB)",
    "Finesse Desktop [{agent}]: state change request READY -> NOT_READY reason {n}",
]
_DBALERTER_MESSAGES = [
    "DBAlerter: change notification received for table t_agent rows={n}",
    "DBAlerter: replication status check OK, delay {ms}ms",
]
_TOMCAT_MESSAGES = [
    "org.apache.catalina.core.StandardContext.reload Reloading Context with name [/desktop] is completed",
    "org.apache.coyote.http11.Http11NioProtocol.start Starting ProtocolHandler [\"https-jsse-nio-8445\"]",
    "org.apache.catalina.startup.HostConfig.deployWAR Deployment of web application archive took [{ms}] ms",
]
_PLATFORM_MESSAGES = [
    "platform: servM: Cisco Finesse Tomcat[STARTED] pid {ms}",
    "platform: ntpd: synchronized to 10.1.1.2, stratum {n}",
    "platform: cli: user admin executed 'show version active'",
]


@dataclass(frozen=True)
class _Family:
    """One kind of log file: where it lives, how it is named and what its lines look like."""

    directory: str
    count: int
    name: Callable[[datetime, random.Random], str]
    line: Callable[[datetime, random.Random, int], str]
    max_size: int = 300_000


def _fill(template: str, rng: random.Random) -> str:
    return template.format(agent=rng.choice(_AGENTS), n=rng.randint(10, 99), ms=rng.randint(1, 950))


def _finesse_line(messages: list[str], host_ip: str = "10.1.1.10") -> Callable[[datetime, random.Random, int], str]:
    def line(when: datetime, rng: random.Random, seq: int) -> str:
        level, severity = rng.choice(_LEVELS)
        stamp = when.strftime("%b %d %Y %H:%M:%S.") + f"{when.microsecond // 1000:03d} -0500"
        tag = messages[0].split(":", 1)[0].rsplit(".", 1)[-1]
        msg = _fill(rng.choice(messages), rng)
        return f"{seq:010d}: {host_ip}: {stamp}: %CCBU-{tag}-{severity}-{level}: {msg}"

    return line


def _java_line(messages: list[str]) -> Callable[[datetime, random.Random, int], str]:
    def line(when: datetime, rng: random.Random, seq: int) -> str:
        level, _severity = rng.choice(_LEVELS)
        stamp = when.strftime("%Y.%m.%d %H:%M:%S ")
        thread = f"pool-{rng.randint(1, 9)}-thread-{rng.randint(1, 40)}"
        return f"{stamp}{level:5s} [{thread}] {_fill(rng.choice(messages), rng)}"

    return line


def _syslog_line(messages: list[str]) -> Callable[[datetime, random.Random, int], str]:
    def line(when: datetime, rng: random.Random, seq: int) -> str:
        return f"{when.strftime('%b %d %H:%M:%S')} finesse-a {_fill(rng.choice(messages), rng)}"

    return line


def _ts(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H-%M-%S.") + f"{when.microsecond // 1000:03d}"


_FAMILIES: list[_Family] = [
    _Family("desktop/logs/webservices", 34, lambda t, r: f"Desktop-webservices.{_ts(t)}.log",
            _finesse_line(_WS_MESSAGES)),
    _Family("desktop/logs/openfire", 10, lambda t, r: f"Openfire.{_ts(t)}.log", _java_line(_OPENFIRE_MESSAGES)),
    _Family("desktop/logs/realm", 8, lambda t, r: f"realm.{_ts(t)}.log", _finesse_line(_REALM_MESSAGES)),
    _Family("desktop/logs/clientlogs", 14, lambda t, r: f"{r.choice(_AGENTS)}.{_ts(t)}.txt",
            _syslog_line(_CLIENT_MESSAGES), max_size=80_000),
    _Family("desktop/logs/dbalerter", 6, lambda t, r: f"DBAlerter.{_ts(t)}.log",
            _finesse_line(_DBALERTER_MESSAGES), max_size=40_000),
    _Family("desktop/logs", 4, lambda t, r: f"localhost_access_log.{t:%Y-%m-%d}.txt",
            _syslog_line(_TOMCAT_MESSAGES), max_size=60_000),
    _Family("tomcat/logs", 8, lambda t, r: f"catalina.{t:%Y-%m-%d}.log", _java_line(_TOMCAT_MESSAGES)),
    _Family("platform/log", 5, lambda t, r: f"platform.{t:%Y-%m-%d}.log", _syslog_line(_PLATFORM_MESSAGES),
            max_size=100_000),
]
# Fixed-name files that are always "current": openfire keeps these open and rewrites them.
_FIXED = [
    ("desktop/logs/openfire/error.log", _java_line(_OPENFIRE_MESSAGES)),
    ("desktop/logs/openfire/warn.log", _java_line(_OPENFIRE_MESSAGES)),
    ("desktop/logs/openfire/info.log", _java_line(_OPENFIRE_MESSAGES)),
    ("platform/log/cli.log", _syslog_line(_PLATFORM_MESSAGES)),
]


# Generated contents, by everything that decides them: the arguments and the generator's state
# before (restored to its state after on a hit, so what follows is drawn exactly as without the
# cache). A lab starts with the same tree all day (`live_tree`), and a process often starts many
# labs (the tests, a farm): the lines are made once a process, not 0.4 s of CPU at every start.
_CONTENTS: OrderedDict[tuple[Any, ...], tuple[bytes, Any]] = OrderedDict()
_CONTENTS_LIMIT = 64 << 20  # bytes held at most
_contents_held = 0
_contents_lock = threading.Lock()


def _content(size: int, start: datetime, end: datetime, rng: random.Random,
             line: Callable[[datetime, random.Random, int], str]) -> bytes:
    global _contents_held
    key = (size, start, end, line, rng.getstate())
    with _contents_lock:
        hit = _CONTENTS.get(key)
        if hit is not None:
            _CONTENTS.move_to_end(key)
    if hit is not None:
        data, after = hit
        rng.setstate(after)
        return data
    data = _make_content(size, start, end, rng, line)
    with _contents_lock:
        if key not in _CONTENTS:
            _CONTENTS[key] = (data, rng.getstate())
            _contents_held += len(data)
        while _contents_held > _CONTENTS_LIMIT and _CONTENTS:
            _contents_held -= len(_CONTENTS.popitem(last=False)[1][0])
    return data


def _make_content(size: int, start: datetime, end: datetime, rng: random.Random,
                  line: Callable[[datetime, random.Random, int], str]) -> bytes:
    lines: list[str] = []
    total = 0
    span = max((end - start).total_seconds(), 1.0)
    # Estimate the line count from the target size so timestamps run from start to end.
    expected = max(size // 140, 1)
    seq = rng.randint(1, 5000)
    while total < size:
        when = start + timedelta(seconds=round(span * min(len(lines) / expected, 1.0), 3))
        text = line(when, rng, seq) + "\n"
        lines.append(text)
        total += len(text)
        seq += rng.randint(1, 4)
    return "".join(lines).encode()


def _size(rng: random.Random, max_size: int) -> int:
    # Log-uniform between 1 KB and max_size: many small files, a few big ones.
    return int(1024 * (max_size / 1024) ** rng.random())


def _offsets(rng: random.Random, count: int, days: int) -> list[float]:
    span = days * 86400
    recent = min(count, max(1, count // 5))
    picks = [rng.uniform(0, min(2 * 86400, span) * 0.95) for _ in range(recent)]
    picks += [rng.uniform(0, span * 0.98) for _ in range(count - recent)]
    return sorted(picks)


def _write(root: Path, relpath: str, data: bytes, mtime: int) -> LogFile:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return LogFile(relpath, len(data), float(path.stat().st_mtime))


def generate_tree(root: Path, *, now: float, seed: int = 0, days: int = 30) -> list[LogFile]:
    """Write a realistic Finesse activelog tree under `root` and return its files.

    The tree holds `desktop/logs/{webservices,openfire,realm,clientlogs,dbalerter}` plus
    `tomcat/logs` and `platform/log`; about a hundred files of 1 KB to 300 KB (under 15 MB in
    all), mtimes spread over the last `days` days with several in the last two. The result is
    the same for the same `seed` and `now`.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{seed}:{int(now)}:{days}")
    written: dict[str, LogFile] = {}
    base = int(now)
    for family in _FAMILIES:
        for offset in _offsets(rng, family.count, days):
            mtime = base - int(offset)
            end = datetime.fromtimestamp(mtime)
            start = end - timedelta(seconds=rng.randint(600, 6 * 3600), milliseconds=rng.randint(1, 999))
            name = family.name(start, rng)
            relpath = f"{family.directory}/{name}"
            if relpath in written:
                continue
            data = _content(_size(rng, family.max_size), start, end, rng, family.line)
            written[relpath] = _write(root, relpath, data, mtime)
    for relpath, line in _FIXED:
        mtime = base - rng.randint(60, 3 * 3600)
        end = datetime.fromtimestamp(mtime)
        data = _content(_size(rng, 60_000), end - timedelta(hours=12), end, rng, line)
        written[relpath] = _write(root, relpath, data, mtime)
    return [written[k] for k in sorted(written)]


SLOT = 3600  # a live tree grows by one file a family every hour


def live_tree(root: Path, *, now: float, seed: int = 0, days: int = 30) -> list[LogFile]:
    """A tree that is the same for the same seed all day and grows like a live appliance's logs.

    The files older than today (UTC) come from `generate_tree` anchored at midnight, so two lab
    starts on one day with one seed see the same files (resume, `since: last` and bundles can be
    tried on the lab). Since midnight, every hour adds a webservices and a realm log, and the active
    logs (error.log, info.log ...) move on, each drawn from the seed and its hour alone: a later
    start holds everything an earlier one did, plus what was written since.
    """
    anchor = int(now) // 86400 * 86400
    written = {f.relpath: f for f in generate_tree(root, now=anchor, seed=seed, days=days)}
    growers = [f for f in _FAMILIES if f.directory.endswith(("webservices", "realm"))]
    # Only hours that have ended: within an hour, every start sees the same tree.
    slots = range(anchor, int(now) // SLOT * SLOT - SLOT + 1, SLOT)
    for slot in slots:
        rng = random.Random(f"{seed}:grow:{slot}")
        for family in growers:
            mtime = slot + rng.randint(60, SLOT - 60)
            end = datetime.fromtimestamp(mtime)
            start = end - timedelta(seconds=rng.randint(600, 3000))
            relpath = f"{family.directory}/{family.name(start, rng)}"
            data = _content(_size(rng, family.max_size // 4), start, end, rng, family.line)
            written[relpath] = _write(root, relpath, data, mtime)
    last = max([anchor, *(slot + SLOT for slot in slots)])
    rng = random.Random(f"{seed}:active:{last}")
    for relpath, line in _FIXED:  # the active logs, as written up to the last hour that ended
        mtime = min(last - rng.randint(1, 59), int(now))
        end = datetime.fromtimestamp(mtime)
        data = _content(_size(rng, 60_000), end - timedelta(hours=12), end, rng, line)
        written[relpath] = _write(root, relpath, data, mtime)
    return [written[k] for k in sorted(written)]


def total_size(files: Iterable[LogFile]) -> int:
    """Sum of the sizes, as `Total size in Bytes` reports it."""
    return sum(f.size for f in files)
