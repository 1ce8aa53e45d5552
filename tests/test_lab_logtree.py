"""Pure tests of the lab's activelog tree: generation, scanning and VOS file-spec selection."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ops.lab.logtree import LogFile, generate_tree, parse_abstime, scan, select

NOW = 1_795_000_000.0
DAY = 86400


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {f.relpath: (root / f.relpath).read_bytes() for f in scan(root)}


def test_generate_tree_is_realistic_and_deterministic(tmp_path: Path) -> None:
    files = generate_tree(tmp_path / "a", now=NOW, seed=3)
    again = generate_tree(tmp_path / "b", now=NOW, seed=3)
    other = generate_tree(tmp_path / "c", now=NOW, seed=4)
    assert files == again
    assert _tree_bytes(tmp_path / "a") == _tree_bytes(tmp_path / "b")
    assert [f.relpath for f in other] != [f.relpath for f in files]
    assert files == scan(tmp_path / "a")

    assert 60 <= len(files) <= 150
    assert sum(f.size for f in files) < 15_000_000
    assert all(1000 <= f.size <= 310_000 for f in files)
    assert all(NOW - 30 * DAY <= f.mtime <= NOW for f in files)
    assert sum(1 for f in files if f.mtime >= NOW - 2 * DAY) >= 5
    dirs = {f.relpath.rsplit("/", 1)[0] for f in files}
    for d in ("webservices", "openfire", "realm", "clientlogs", "dbalerter"):
        assert f"desktop/logs/{d}" in dirs
    assert any(not d.startswith("desktop/") for d in dirs)
    ws = [f.name for f in files if f.relpath.startswith("desktop/logs/webservices/")]
    assert all(re.fullmatch(r"Desktop-webservices\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}\.log", n) for n in ws)
    assert any(re.fullmatch(r"\d+\.\d{4}-\d\d-\d\dT[\d.-]+\.txt", f.name) for f in files
               if "clientlogs" in f.relpath)
    first_line = (tmp_path / "a" / files[-1].relpath).read_text().splitlines()[0]
    assert len(first_line) > 40


def _make(root: Path, relpath: str, age_days: float, size: int = 10) -> None:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    t = NOW - age_days * DAY
    os.utime(path, (t, t))


@pytest.fixture
def small(tmp_path: Path) -> Path:
    root = tmp_path / "activelog"
    _make(root, "desktop/logs/top.txt", 0.5)
    _make(root, "desktop/logs/webservices/Desktop-webservices.1.log", 1)
    _make(root, "desktop/logs/webservices/Desktop-webservices.2.log", 5)
    _make(root, "desktop/logs/webservices/notes.txt", 40)
    _make(root, "desktop/logs/openfire/error.log", 0.01)
    _make(root, "desktop/logs/openfire/archive/old.log", 20)
    _make(root, "tomcat/logs/catalina.log", 3)
    return root


def _names(files: list[LogFile]) -> list[str]:
    return [f.relpath for f in files]


def test_select_spec_and_recursion(small: Path) -> None:
    # A directory means dir/*; without recurs sub-directories are skipped.
    assert _names(select(small, "desktop/logs")) == ["desktop/logs/top.txt"]
    assert select(small, "desktop/logs") == select(small, "/desktop/logs/*")
    assert _names(select(small, "desktop/logs/*", recurs=True)) == [
        "desktop/logs/openfire/archive/old.log", "desktop/logs/openfire/error.log", "desktop/logs/top.txt",
        "desktop/logs/webservices/Desktop-webservices.1.log", "desktop/logs/webservices/Desktop-webservices.2.log",
        "desktop/logs/webservices/notes.txt"]
    assert _names(select(small, "desktop/logs/webservices/*.log")) == [
        "desktop/logs/webservices/Desktop-webservices.1.log", "desktop/logs/webservices/Desktop-webservices.2.log"]
    assert _names(select(small, "desktop/logs/open*", recurs=True)) == [
        "desktop/logs/openfire/archive/old.log", "desktop/logs/openfire/error.log"]
    assert _names(select(small, "desktop/logs/open*")) == []
    assert _names(select(small, "tomcat/logs/catalina.log")) == ["tomcat/logs/catalina.log"]
    assert select(small, "no/such/dir") == []
    assert len(select(small, "/", recurs=True)) == 7
    with pytest.raises(ValueError, match=r"\.\."):
        select(small, "desktop/../../etc")


def test_select_time_and_match_filters(small: Path) -> None:
    assert _names(select(small, "desktop/logs", recurs=True, reltime=("days", 2), now=NOW)) == [
        "desktop/logs/openfire/error.log", "desktop/logs/top.txt",
        "desktop/logs/webservices/Desktop-webservices.1.log"]
    assert _names(select(small, "desktop/logs", recurs=True, reltime=("hours", 1), now=NOW)) == [
        "desktop/logs/openfire/error.log"]
    assert len(select(small, "/", recurs=True, reltime=("weeks", 1), now=NOW)) == 5
    assert len(select(small, "/", recurs=True, reltime=("months", 1), now=NOW)) == 6
    assert len(select(small, "/", recurs=True, reltime=("minutes", 10), now=NOW)) == 0
    local = datetime.fromtimestamp(NOW)
    window = (local - timedelta(days=6), local - timedelta(days=2))
    assert _names(select(small, "/", recurs=True, abstime=window)) == [
        "desktop/logs/webservices/Desktop-webservices.2.log", "tomcat/logs/catalina.log"]
    assert _names(select(small, "desktop/logs", recurs=True, match=r"\.log$")) == [
        "desktop/logs/openfire/archive/old.log", "desktop/logs/openfire/error.log",
        "desktop/logs/webservices/Desktop-webservices.1.log", "desktop/logs/webservices/Desktop-webservices.2.log"]
    # match applies to the basename only.
    assert select(small, "desktop/logs", recurs=True, match="webservices/") == []
    with pytest.raises(ValueError, match="reltime unit"):
        select(small, "desktop/logs", reltime=("fortnights", 1), now=NOW)
    with pytest.raises(ValueError, match="regular expression"):
        select(small, "desktop/logs", match="(")


def test_scan_sees_new_files(small: Path) -> None:
    before = scan(small)
    _make(small, "desktop/logs/realm/realm.new.log", 0, size=123)
    after = scan(small)
    assert len(after) == len(before) + 1
    assert LogFile("desktop/logs/realm/realm.new.log", 123, NOW) in after


def test_parse_abstime() -> None:
    assert parse_abstime("18:00:10/20/13") == datetime(2013, 10, 20, 18, 0)
    assert parse_abstime("7:05:1/2/26") == datetime(2026, 1, 2, 7, 5)
    for bad in ("18:00 10/20/13", "2013-10-20", "25:00:10/20/13", "18:00:13/20/13", ""):
        with pytest.raises(ValueError, match="abstime"):
            parse_abstime(bad)


def test_scan_descends_real_directories_and_follows_file_links_only(tmp_path: Path) -> None:
    (tmp_path / "desktop" / "deep").mkdir(parents=True)
    (tmp_path / "desktop" / "deep" / "b.log").write_text("bb")
    (tmp_path / "a.log").write_text("a")
    (tmp_path / "link.log").symlink_to(tmp_path / "a.log")
    (tmp_path / "dirlink").symlink_to(tmp_path / "desktop")
    (tmp_path / "dangling.log").symlink_to(tmp_path / "missing")
    assert [(f.relpath, f.size) for f in scan(tmp_path)] == [("a.log", 1), ("desktop/deep/b.log", 2),
                                                             ("link.log", 1)]
    assert scan(tmp_path / "nothing-here") == []


def test_a_live_tree_is_the_same_all_hour_and_grows_by_the_hour(tmp_path: Path) -> None:
    from ops.lab.logtree import live_tree

    noon = 1_796_000_000 // 86400 * 86400 + 12 * 3600 + 600
    first = {f.relpath: (f.size, f.mtime) for f in live_tree(tmp_path / "a", now=noon, seed=1)}
    again = {f.relpath: (f.size, f.mtime) for f in live_tree(tmp_path / "b", now=noon + 1800, seed=1)}
    later = {f.relpath: (f.size, f.mtime) for f in live_tree(tmp_path / "c", now=noon + 3 * 3600, seed=1)}
    assert first == again  # resume and since: last see the same appliance within the hour
    assert set(first) < set(later)  # three hours on: everything still there, and more
    active = {"desktop/logs/openfire/error.log", "desktop/logs/openfire/info.log", "desktop/logs/openfire/warn.log",
              "platform/log/cli.log"}
    assert {k for k in first if first[k] != later[k]} <= active  # only the active logs moved on
    new = [k for k in set(later) - set(first) if k.startswith("desktop/logs/webservices/")]
    assert len(new) == 3
    recent = [k for k, (_, mtime) in first.items() if mtime > noon - 4 * 3600]
    assert len(recent) >= 4  # the last hours always hold logs (reltime hours 4 finds some)


def test_the_content_cache_changes_no_byte_of_any_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Contents are made once a process (a lab start costs 0.4 s of CPU otherwise): a tree made
    from the cache equals one made from scratch, file for file, byte for byte, mtimes included,
    and a different seed still gives a different tree."""
    import ops.lab.logtree as logtree

    def snapshot(root: Path, files: list[LogFile]) -> list[tuple[str, int, float, bytes]]:
        return [(f.relpath, f.size, f.mtime, (root / f.relpath).read_bytes()) for f in files]

    now = datetime(2026, 11, 30, 15, 30).timestamp()
    monkeypatch.setattr(logtree, "_CONTENTS", type(logtree._CONTENTS)())
    scratch = snapshot(tmp_path / "a", logtree.live_tree(tmp_path / "a", now=now, seed=3))
    assert logtree._CONTENTS  # what the next start reuses
    cached = snapshot(tmp_path / "b", logtree.live_tree(tmp_path / "b", now=now, seed=3))
    assert cached == scratch
    other = snapshot(tmp_path / "c", logtree.live_tree(tmp_path / "c", now=now, seed=4))
    assert [f[0] for f in other] != [f[0] for f in scratch]
    monkeypatch.setattr(logtree, "_CONTENTS", type(logtree._CONTENTS)())  # from scratch again
    assert snapshot(tmp_path / "d", logtree.live_tree(tmp_path / "d", now=now, seed=4)) == other
