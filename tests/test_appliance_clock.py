"""The appliance's clock and time zone, not this machine's, decide what a time window holds.

VOS evaluates `reltime` by its own clock and prints `file list ... detail` times in its own zone.
The toolkit replays a pull's window over `file list` (to name what did not arrive, and to resume):
that replay must read the window as the appliance does, or a resume fetches files the pull rightly
left out and, worse, skips the newest files of an appliance whose clock is ahead or whose zone is
east of the admin's. The lab models both (`clock_skew`, `timezone`); these tests fail when the
toolkit reads the window by its own clock or zone.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ops.inventory import load_inventory
from ops.lab.server import LabAppliance, LabConfig
from ops.playbook import load_playbook
from ops.report import RunReport
from ops.runner import RunOptions, run_playbook
from tests.helpers import LAB_PASSWORD, run, write_inventory

DAY = 86400
DIRECTORY = "desktop/logs/webservices"


def _zone_off_ours(east: bool) -> str:
    """A zone at least an hour east (or west) of this machine's, whatever TZ the run has."""
    return _zone_and_lead(east)[0]


def _zone_and_lead(east: bool) -> tuple[str, float]:
    """A zone at least an hour east (or west) of ours, and by how many seconds its clocks lead ours."""
    ours = time.localtime().tm_gmtoff
    now = datetime.now()
    for name in (("Asia/Kolkata", "Asia/Tokyo", "Pacific/Kiritimati") if east
                 else ("America/New_York", "Pacific/Honolulu", "Pacific/Pago_Pago")):
        offset = ZoneInfo(name).utcoffset(now)
        assert offset is not None
        lead = offset.total_seconds() - ours
        if lead >= 3600 if east else -lead >= 3600:
            return name, lead
    raise AssertionError("no zone an hour away from this machine's")  # pragma: no cover


def _tree(root: Path, files: dict[str, float]) -> Path:
    """A log tree holding `files` (name -> mtime) in one directory, each with distinct content."""
    folder = root / DIRECTORY
    folder.mkdir(parents=True)
    for name, mtime in files.items():
        path = folder / name
        path.write_text(f"2026-11-30 10:00:00,000 INFO {name}\n" * 40)
        os.utime(path, (mtime, mtime))
    return root


def _run(tmp_path: Path, config: LabConfig, activelog: str, *, timezone: str | None = None,
         resume: str | None = None) -> RunReport:
    book = tmp_path / "book.yaml"
    book.write_text(f"name: pull\nhosts: finesse\nsteps:\n  - name: pull\n    activelog: {activelog}\n")

    async def go() -> RunReport:
        async with LabAppliance(config) as lab:
            inventory = load_inventory(write_inventory(tmp_path / "inventory.yaml", {"node1": lab}))
            assert inventory.hosts["node1"].timezone == timezone
            options = RunOptions(output=tmp_path / "out", run_id=resume, resume=resume is not None)
            return await run_playbook(load_playbook(book, inventory), inventory, options)

    return run(go())


def _held(tmp_path: Path, report: RunReport) -> list[str]:
    files = tmp_path / "out" / report.run_id / "node1" / "files"
    return sorted(p.name for p in files.rglob("*") if p.is_file())


def test_the_lab_prints_times_in_its_zone_and_reads_abstime_in_it(tmp_path: Path) -> None:
    """The lab itself: times shown in the appliance's zone, abstime read in that zone, its clock ahead."""
    zone = _zone_off_ours(east=True)
    stamp = datetime(2026, 11, 30, 12, 0, tzinfo=ZoneInfo(zone)).timestamp()
    root = _tree(tmp_path / "lab", {"one.log": stamp})
    lab = LabAppliance(LabConfig(log_root=root, timezone=zone, clock_skew=7200))
    assert lab.local(stamp) == datetime(2026, 11, 30, 12, 0)
    assert 7190 < lab.clock() - time.time() < 7210
    inside = (datetime(2026, 11, 30, 11, 59), datetime(2026, 11, 30, 12, 0))
    assert [f.relpath for f in lab.select(DIRECTORY + "/*", abstime=inside)] == [f"{DIRECTORY}/one.log"]
    assert lab.select(DIRECTORY + "/*", abstime=(datetime(2026, 11, 30, 12, 1), datetime(2026, 11, 30, 13, 0))) == []


@pytest.mark.parametrize("setting", ["clock ahead", "zone east"])
def test_a_resume_leaves_out_what_the_appliance_left_out(setting: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A file just outside the appliance's window (its clock 200 s ahead, within max_clock_skew; or
    its zone hours east of ours) looks inside ours: the pull rightly left it out, a resume must too."""
    monkeypatch.setenv("OPS_TEST_PW", LAB_PASSWORD)
    now = time.time()
    timezone = None
    if setting == "clock ahead":
        config = LabConfig(password=LAB_PASSWORD, clock_skew=200)
        edge = now - 2 * 3600 + 100  # 2 h - 100 s old by our clock, 2 h + 100 s by the appliance's
    else:
        timezone, lead = _zone_and_lead(east=True)
        config = LabConfig(password=LAB_PASSWORD, timezone=timezone)
        edge = now - lead - 90 * 60  # more than 2 h old, and shown as 90 minutes ago by our zone
    config.log_root = _tree(tmp_path / "lab", {"a-edge.log": edge, "m-mid.log": now - 3600})
    spec = "{path: 'desktop/logs/*', recurs: true, reltime: {hours: 2}}"
    first = _run(tmp_path, config, spec, timezone=timezone)
    assert first.hosts["node1"].status == "ok", first.hosts["node1"].error
    assert _held(tmp_path, first) == ["m-mid.log"]
    second = _run(tmp_path, config, spec, timezone=timezone, resume=first.run_id)
    assert second.hosts["node1"].status == "ok", second.hosts["node1"].error
    assert second.hosts["node1"].steps[0].message == "nothing missing", second.hosts["node1"].steps[0].message
    assert _held(tmp_path, second) == ["m-mid.log"]


@pytest.mark.parametrize("setting", ["clock ahead", "zone east", "zone west"])
def test_the_file_an_interrupted_pull_lost_is_named_and_resumed(setting: str, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The push skips its last file, which is inside the appliance's window; by our clock or zone it
    looks half an hour in the future (clock ahead), hours in the future (zone east) or hours outside
    the window (zone west). The failed pull must name it as missing, and the resume must fetch it."""
    monkeypatch.setenv("OPS_TEST_PW", LAB_PASSWORD)
    now = time.time()
    timezone = None
    extra = ""
    if setting == "clock ahead":
        config = LabConfig(password=LAB_PASSWORD, clock_skew=1800, faults=("short_transfer",))
        lost = now + 1800 - 60  # written a minute ago by the appliance's clock
        extra = ", max_clock_skew: 3600"
    else:
        timezone = _zone_off_ours(east=setting == "zone east")
        config = LabConfig(password=LAB_PASSWORD, timezone=timezone, faults=("short_transfer",))
        lost = now - 60 if setting == "zone east" else now - 90 * 60
    config.log_root = _tree(tmp_path / "lab", {"a-old.log": now - 24 * 3600, "m-mid.log": now - 30 * 60,
                                               "z-lost.log": lost})
    spec = "{path: 'desktop/logs/*', recurs: true, reltime: {hours: 2}" + extra + "}"
    first = _run(tmp_path, config, spec, timezone=timezone)
    record = first.hosts["node1"]
    assert record.status == "failed"
    assert record.steps[0].data["missing"] == [f"{DIRECTORY}/z-lost.log"], record.steps[0].data.get("missing")
    config.faults = ()
    second = _run(tmp_path, config, spec, timezone=timezone, resume=first.run_id)
    assert second.hosts["node1"].status == "ok", second.hosts["node1"].error
    assert _held(tmp_path, second) == ["m-mid.log", "z-lost.log"]


@pytest.mark.parametrize("seed", range(4))
def test_random_clocks_zones_and_windows_lose_nothing_and_fetch_nothing_extra(seed: int, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Randomized: the appliance's clock up to 250 s either side of ours, its zone any of several
    (or ours), a window of 1 to 6 hours over files of random ages. A pull whose push loses its last
    file names exactly that file as missing; the resume then holds exactly what the window selects,
    worked out here from the mtimes and the appliance's clock."""
    import random

    monkeypatch.setenv("OPS_TEST_PW", LAB_PASSWORD)
    rng = random.Random(f"appliance-clock:{seed}")
    skew = rng.uniform(-250, 250)
    timezone = rng.choice([None, "Asia/Kolkata", "Pacific/Kiritimati", "America/New_York", "Pacific/Pago_Pago",
                           "Europe/Berlin", "Australia/Adelaide"])
    hours = rng.randint(1, 6)
    now = time.time()
    cutoff = now + skew - hours * 3600  # the appliance's window starts here (by its clock)
    ages = [rng.uniform(0, 2 * hours * 3600) for _ in range(12)]
    # Not within 10 s of the window's edge: the pull and the replay come seconds apart.
    ages = [a for a in ages if abs((now + skew - a) - cutoff) > 10]
    files = {f"f{i:02d}.log": now + skew - age for i, age in enumerate(ages)}
    want = sorted(name for name, mtime in files.items() if mtime >= cutoff)
    if not want:
        files["f99.log"] = now + skew - 60
        want = ["f99.log"]
    config = LabConfig(password=LAB_PASSWORD, clock_skew=skew, timezone=timezone, faults=("short_transfer",),
                       log_root=_tree(tmp_path / "lab", files))
    spec = "{path: 'desktop/logs/*', recurs: true, reltime: {hours: " + str(hours) + "}}"
    first = _run(tmp_path, config, spec, timezone=timezone)
    record = first.hosts["node1"]
    context = (skew, timezone, hours, want)
    assert record.status == "failed", context
    assert record.steps[0].data["missing"] == [f"{DIRECTORY}/{want[-1]}"], (record.steps[0].data, context)
    config.faults = ()
    second = _run(tmp_path, config, spec, timezone=timezone, resume=first.run_id)
    assert second.hosts["node1"].status == "ok", (second.hosts["node1"].error, context)
    assert _held(tmp_path, second) == want, context


def test_the_replayed_window_is_read_on_the_appliances_wall_clock() -> None:
    """The window the replay uses, exactly: abstime to the end minute's last second; reltime from
    the appliance's clock now (its lead and zone), narrowed by EDGE at its old end, 5 minutes ahead."""
    from datetime import timedelta

    from ops.actions.activelog import EDGE, ActivelogArgs, _window
    from ops.timezones import ApplianceClock

    window = {"from": "2026-11-24 08:00", "to": "2026-11-24 12:00"}
    args = ActivelogArgs.model_validate({"path": "x/*", "abstime": window})
    assert _window(args, ApplianceClock(skew=999.0)) == (datetime(2026, 11, 24, 8), datetime(2026, 11, 24, 12, 0, 59))
    clock = ApplianceClock(skew=3600.0, zone="Asia/Kolkata")
    expected = datetime.now(ZoneInfo("Asia/Kolkata")).replace(tzinfo=None) + timedelta(hours=1)
    assert abs((clock.now() - expected).total_seconds()) < 5
    args = ActivelogArgs.model_validate({"path": "x/*", "reltime": {"hours": 2}})
    before = clock.now()
    window = _window(args, clock)
    after = clock.now()
    assert window is not None
    low, high = window
    span = timedelta(hours=2) - timedelta(seconds=EDGE)
    assert before - span <= low <= after - span
    assert high - low == span + timedelta(minutes=5)
    assert _window(ActivelogArgs.model_validate({"path": "x/*"}), clock) is None
