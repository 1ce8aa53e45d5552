"""`ops schedule PLAYBOOK --every 1h`: the systemd timer + service pair and a crontab line for a
recurring run. It prints them and installs nothing.

`--every` takes `Nm` (N divides 60: 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30), `Nh` (N divides 24)
or `1d`: intervals a calendar (and cron) can express exactly, so the timer and the crontab line
run at the same wall-clock times. The service is `Type=oneshot` (a run never overlaps the
previous one); the crontab line takes a `flock` for the same reason.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from ops.textsafe import has_control

EVERY_RE = re.compile(r"^\s*(\d+)\s*(m|min|h|d)\s*$", re.ASCII)
UNIT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ScheduleError(ValueError):
    """A bad --every, --name, ... (exit code 2)."""


@dataclass(frozen=True)
class Interval:
    text: str          # "15m", "1h", "1d"
    seconds: int
    on_calendar: str   # systemd OnCalendar=
    cron: str          # the five crontab time fields


USER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$")


def parse_every(text: str) -> Interval:
    match = EVERY_RE.fullmatch(text)
    if not match:
        raise ScheduleError(f"--every {text!r}: use minutes, hours or a day, e.g. 15m, 1h, 6h, 1d")
    count, unit = int(match.group(1)), match.group(2)[0]
    if unit == "m":
        if count < 1 or 60 % count:
            raise ScheduleError(f"--every {text!r}: minutes must divide an hour (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, "
                                "30); use hours for longer intervals")
        return Interval(f"{count}m", count * 60, f"*-*-* *:00/{count}:00",
                        "* * * * *" if count == 1 else f"*/{count} * * * *")
    if unit == "h":
        if count < 1 or 24 % count:
            raise ScheduleError(f"--every {text!r}: hours must divide a day (1, 2, 3, 4, 6, 8, 12, 24)")
        if count == 24:
            return parse_every("1d")
        return Interval(f"{count}h", count * 3600, f"*-*-* 00/{count}:00:00",
                        "0 * * * *" if count == 1 else f"0 */{count} * * *")
    if count != 1:
        raise ScheduleError(f"--every {text!r}: days: only 1d (every day); a cron day-of-month step is irregular")
    return Interval("1d", 86400, "*-*-* 00:00:00", "0 0 * * *")


def ops_command() -> list[str]:
    """How this `ops` was started, as an absolute command line a timer can run."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "ops" and argv0.is_file():
        return [str(argv0.absolute())]
    found = shutil.which("ops")
    if found:
        return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "ops.cli"]


@dataclass
class Schedule:
    name: str
    service: str
    timer: str
    cron: str
    command: list[str]


def _systemd_quote(word: str) -> str:
    if word and not re.search(r"[\s\"'\\;$%]", word):
        return word
    escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'


def _cron_quote(word: str) -> str:
    # cron turns an unescaped % into a newline.
    return shlex.quote(word).replace("%", "\\%")


def make_schedule(playbook: Path, every: str, *, inventory: Path, name: str | None = None, user: str | None = None,
                  workdir: Path | None = None, output: Path | None = None,
                  command: list[str] | None = None) -> Schedule:
    interval = parse_every(every)
    # Every value lands in a unit file or a crontab line: a line break would add lines of its own
    # (an ExecStartPre=, another cron job).
    for flag, value in (("--user", user), ("--workdir", workdir), ("--output", output), ("PLAYBOOK", playbook),
                        ("--inventory", inventory), ("--name", name)):
        if value is not None and has_control(str(value)):
            raise ScheduleError(f"{flag} {str(value)[:60]!r}: a line break or control character would inject "
                                "lines into the unit file or the crontab")
    if user is not None and not USER_RE.fullmatch(user):
        raise ScheduleError(f"--user {user!r}: a user name is letters, digits, '.', '_' and '-'")
    unit = name or f"ops-{playbook.stem}"
    if not UNIT_NAME_RE.fullmatch(unit):
        raise ScheduleError(f"--name {unit!r}: letters, digits, '.', '_' and '-'")
    workdir = (workdir or Path.cwd()).absolute()
    book, inv = playbook.absolute(), inventory.absolute()
    out = (output if output is not None else workdir / "collected").absolute()
    argv = [*(command or ops_command()), "run", str(book), "-i", str(inv), "-o", str(out), "--quiet"]
    description = f"finesse-ops: {playbook.name} every {interval.text}"
    service = "\n".join([
        "[Unit]",
        f"Description={description.replace('%', '%%')}",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        *([f"User={user}"] if user else []),
        f"WorkingDirectory={str(workdir).replace('%', '%%')}",
        "# Passwords named env:NAME in the inventory: put NAME=... in this file (mode 0600), or use file: references.",
        f"EnvironmentFile=-/etc/finesse-ops/{unit}.env",
        f"ExecStart={' '.join(_systemd_quote(w) for w in argv)}",
        "# --quiet prints failures only; they land in the journal: journalctl -u " + f"{unit}.service",
        "",
    ])
    randomized = min(60, max(5, interval.seconds // 20))
    timer = "\n".join([
        "[Unit]",
        f"Description={description.replace('%', '%%')} (timer)",
        "",
        "[Timer]",
        f"OnCalendar={interval.on_calendar}",
        "# Persistent: a run missed while the machine was off happens at the next boot.",
        "Persistent=true",
        f"RandomizedDelaySec={randomized}s",
        "AccuracySec=1s",
        f"Unit={unit}.service",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ])
    lock = workdir / f".{unit}.lock"
    cron = (f"{interval.cron} cd {_cron_quote(str(workdir))} && flock -n {_cron_quote(str(lock))} "
            + " ".join(_cron_quote(w) for w in argv))
    return Schedule(unit, service, timer, cron, argv)


def render(schedule: Schedule, user: str | None = None) -> str:
    unit = schedule.name
    where = "/etc/systemd/system"
    lines = [
        f"# ---- {where}/{unit}.service",
        schedule.service,
        f"# ---- {where}/{unit}.timer",
        schedule.timer,
        "# ---- to install the pair (nothing was installed):",
        f"#   sudo cp {unit}.service {unit}.timer {where}/",
        f"#   sudo systemctl daemon-reload && sudo systemctl enable --now {unit}.timer",
        f"#   systemctl list-timers {unit}.timer",
        "",
        f"# ---- or instead, one crontab line (crontab -e{' -u ' + user if user else ''}):",
        schedule.cron,
    ]
    return "\n".join(lines) + "\n"
