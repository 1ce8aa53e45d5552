"""The run page as an admin reads it (issue 19, part 1): human units and local time beside UTC,
named metrics, a link to every file the run wrote (and none that leaves the run directory), each
error once, host names on one line, and a before/after comparison; rendered by headless Chromium,
its screenshot read back for the data (bar lengths in pixels)."""

from __future__ import annotations

import re
import struct
import subprocess
import urllib.parse
import zlib
from collections import Counter
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ops.htmlreport import render_html, write_html
from ops.report import HostRecord, RunReport, StepRecord, read_report
from ops.runfacts import compare, format_metric, human_duration, parse_time, step_pairs
from tests.test_bundle import lab_run

CHROMIUM = Path("/usr/bin/chromium")
BERLIN = ZoneInfo("Europe/Berlin")
BAR = (0x09, 0x69, 0xDA)  # the clients-per-port bars (#0969da)

INCIDENT = """\
name: Incident, before and after
hosts: finesse
steps:
  - name: Finesse status before
    finesse_system_info: {}
  - name: Performance before
    finesse_performance: {}
  - name: Desktop connections before
    network_status: {process: true, search: ":8445", save_as: before-8445}
  - name: Desktop logs
    activelog: {path: desktop/logs/*, recurs: true, reltime: {days: 1}}
  - name: Desktop connections after
    network_status: {search: ":8445", save_as: after-8445}
  - name: Performance after
    finesse_performance: {}
  - name: Finesse status after
    finesse_system_info: {}
"""


# -- Chromium and its screenshots -----------------------------------------------------------------

def chromium_base(profile: Path) -> list[str]:
    return [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
            "--force-device-scale-factor=1", f"--user-data-dir={profile}"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., str]:
    """render(page, screenshot=None, size=(1280, 2400), measure=None) -> the DOM after layout.

    `measure`: a script run after layout in a copy of the page without its CSP (the page itself runs
    no script); it writes what it measured into the DOM that is dumped."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run tests/setup-system.sh (apt-get install chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")

    def render(page: Path, screenshot: Path | None = None, size: tuple[int, int] = (1280, 2400),
               measure: str | None = None) -> str:
        base = [*chromium_base(profile), f"--window-size={size[0]},{size[1]}"]
        if screenshot is not None:
            subprocess.run([*base, f"--screenshot={screenshot}", page.as_uri()], capture_output=True, timeout=90,
                           check=True)
            assert screenshot.stat().st_size > 1000
        if measure is not None:
            text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page.read_text())
            page = page.with_name(page.stem + ".measure.html")
            page.write_text(text.replace("</body>", f"<script>{measure}</script></body>"))
        result = subprocess.run([*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=90)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    return render


def png_rows(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes, 3 a pixel) of an 8-bit RGB or RGBA PNG, as Chromium writes.

    Pure Python, made fast enough for a tall page: rows filtered "None" or "Up" (most of them) are
    undone on whole rows at once, adding bytes without carry through integer arithmetic (SWAR)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    step = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * step
    low, high = int.from_bytes(b"\x7f" * stride, "big"), int.from_bytes(b"\x80" * stride, "big")
    previous = bytes(stride)
    rows = []
    for y in range(height):
        kind = raw[y * (stride + 1)]
        filtered = raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]
        if kind == 0:
            line = bytes(filtered)
        elif kind == 2:
            a, b = int.from_bytes(filtered, "big"), int.from_bytes(previous, "big")
            line = (((a & low) + (b & low)) ^ ((a ^ b) & high)).to_bytes(stride, "big")
        else:
            out = bytearray(filtered)
            for x in range(stride):
                left = out[x - step] if x >= step else 0
                up = previous[x]
                if kind == 1:
                    out[x] = (out[x] + left) & 0xFF
                elif kind == 3:
                    out[x] = (out[x] + (left + up) // 2) & 0xFF
                else:
                    corner = previous[x - step] if x >= step else 0
                    p = left + up - corner
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                    out[x] = (out[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
            line = bytes(out)
        rows.append(line if step == 3 else bytes(v for i, v in enumerate(line) if i % 4 != 3))
        previous = line
    return width, height, rows


def colour_runs(rows: list[bytes], colour: tuple[int, int, int]) -> list[tuple[int, int, int]]:
    """Blobs of one exact colour (the inside of a filled shape): (last row, x start, longest run)."""
    pixel = bytes(colour)
    found: list[tuple[int, int, int]] = []
    for y, row in enumerate(rows):
        at = row.find(pixel)
        while at != -1:
            if at % 3:
                at = row.find(pixel, at + 1)
                continue
            end = at
            while row[end:end + 3] == pixel:
                end += 3
            found.append((y, at // 3, (end - at) // 3))
            at = row.find(pixel, end)
    # One shape covers several rows (rounded corners shorter): runs that touch the run above
    # belong to the same shape, whose length is its longest run.
    bars: list[list[int]] = []  # [last y, x start, x end, longest]
    for y, start, length in found:
        for bar in bars:
            if bar[0] == y - 1 and start < bar[2] and start + length > bar[1]:
                bar[:] = [y, min(bar[1], start), max(bar[2], start + length), max(bar[3], length)]
                break
        else:
            bars.append([y, start, start + length, length])
    return [(y, x, longest) for y, x, _, longest in bars]


# -- synthetic reports ----------------------------------------------------------------------------

def _net(name: str, ports: dict[str, list[str]], save_as: str) -> StepRecord:
    return StepRecord(name, "network_status", "ok", message="...", duration_s=0.25, data={
        "command": "show network status", "json_file": f"network-status-{save_as}.json",
        "csv_file": f"network-status-{save_as}.csv",
        "summary": {"connections": sum(len(c) for c in ports.values()), "states": {"ESTABLISHED": 3},
                    "ports": {p: {"connections": len(c) + 1, "remote_clients": len(c), "clients": c, "states": {}}
                              for p, c in ports.items()}}})


def _perf(name: str, heap: int, threads: int) -> StepRecord:
    return StepRecord(name, "finesse_performance", "ok", message=f"heap {heap} B", duration_s=0.05, data={
        "metrics": {"heap_used_bytes": heap, "threads": threads, "load_average": 1.47, "agents_logged_in": 3}})


def _info(name: str, status: str, heartbeat: str = "1796114940618") -> StepRecord:
    return StepRecord(name, "finesse_system_info", "ok" if status == "IN_SERVICE" else "failed", message=status,
                      data={"status": status, "in_service": status == "IN_SERVICE", "last_cti_heartbeat_status":
                            "Success", "last_cti_heartbeat_time": heartbeat,
                            "current_timestamp": "2026-12-01T14:06:34.211Z",
                            "cti_servers": [{"host": "cg1a", "active": status == "IN_SERVICE"}]})


def incident_report() -> RunReport:
    report = RunReport(run_id="20261201T140631Z-7cd7", playbook="incident.yaml", playbook_name="Desktop outage",
                       started="2026-12-01T14:06:31.991+00:00", finished="2026-12-01T14:08:36.000+00:00",
                       duration_s=124.0)
    report.hosts["finesse-a"] = HostRecord(status="ok", started="2026-12-01T14:06:32.000+00:00", duration_s=120.5,
                                           steps=[
        _info("Finesse status before", "IN_SERVICE"),
        _perf("Performance before", 109441280, 183),
        _net("Desktop connections before", {"8445": ["10.1.20.50", "10.1.20.51", "10.1.20.52"],
                                            "7443": ["10.1.20.50"]}, "before"),
        _net("Desktop connections after", {"8445": ["10.1.20.51", "10.1.20.52", "10.1.20.99"]}, "after"),
        _perf("Performance after", 115306496, 190),
        _info("Finesse status after", "OUT_OF_SERVICE"),
    ])
    report.hosts["finesse-b"] = HostRecord(
        status="failed", unreachable=True, duration_s=0.339, started="2026-12-01T14:06:33.000+00:00",
        error="step 'Desktop connections before': finesse-b: authentication failed for user 'admin' at 127.0.0.1:3981",
        steps=[StepRecord("Desktop connections before", "network_status", "failed",
                          "finesse-b: authentication failed for user 'admin' at 127.0.0.1:3981")])
    return report


# -- the facts ------------------------------------------------------------------------------------

def test_units_as_people_read_them() -> None:
    assert format_metric("heap_used_bytes", 109441280) == "104.4 MiB"
    assert format_metric("heap_used_bytes", 5865216, signed=True) == "+5.6 MiB"
    assert format_metric("request_longest_ms", 412) == "412 ms"
    assert format_metric("calls_received_or_initiated", 1542) == "1,542"
    assert format_metric("threads", -7, signed=True) == "-7"
    assert [human_duration(s) for s in (0.303, 3.991, 125, 3700, 90000)] == [
        "303 ms", "3.99 s", "2 min 5 s", "1 h 1 min", "1 d 1 h"]
    assert parse_time("1796114940618").isoformat() == "2026-12-01T08:49:00.618000+00:00"  # type: ignore[union-attr]
    assert parse_time("2026-12-01T14:06:34.211Z").hour == 14  # type: ignore[union-attr]
    assert parse_time("soon") is None and parse_time(None) is None and parse_time({"a": 1}) is None


def test_before_and_after_pairs_and_what_changed() -> None:
    steps = incident_report().hosts["finesse-a"].steps
    pairs = step_pairs(steps)
    assert [(b.name, a.name) for b, a in pairs] == [
        ("Finesse status before", "Finesse status after"), ("Performance before", "Performance after"),
        ("Desktop connections before", "Desktop connections after")]
    net = compare(*pairs[2])
    clients = {c.what: c for c in net.changes}
    assert clients["Clients on port 8445"].gained == ["10.1.20.99"]
    assert clients["Clients on port 8445"].lost == ["10.1.20.50"]
    assert clients["Clients on port 7443"].lost == ["10.1.20.50"] and clients["Clients on port 7443"].kind == "down"
    perf = {c.what: c for c in compare(*pairs[1]).changes}
    assert (perf["Heap used"].before, perf["Heap used"].after, perf["Heap used"].change) == (
        "104.4 MiB", "110.0 MiB", "+5.6 MiB")
    assert perf["System load average"].kind == "same"
    info = {c.what: c for c in compare(*pairs[0]).changes}
    assert (info["Finesse status"].before, info["Finesse status"].after) == ("IN_SERVICE", "OUT_OF_SERVICE")
    assert info["Step status"].after == "failed" and info["Active CTI server"].after == "-"
    # Names must match but for the word; another kind or no "after" pairs nothing.
    lone = [StepRecord("XMPP before", "network_status", "ok"), StepRecord("XMPP after", "cli", "ok"),
            StepRecord("Before and after", "cli", "ok")]
    assert step_pairs(lone) == []


def test_a_damaged_step_never_breaks_the_page() -> None:
    report = incident_report()
    report.hosts["finesse-a"].steps += [
        StepRecord("Broken before", "network_status", "ok", data={"summary": {"ports": {"8445": "many"}}}),
        StepRecord("Broken after", "network_status", "ok", data={"summary": "gone"}),
        StepRecord("Perf", "finesse_performance", "ok", data={"metrics": {"heap_used_bytes": "lots", "x": None}}),
        StepRecord("Info", "finesse_system_info", "ok", data={"status": 3, "nodes": "n", "cti_servers": [1]}),
    ]
    report.hosts["finesse-a"].files = [{"path": "a", "size": "big"}, {"path": "b", "size": None}, {"path": 7}]
    page = render_html(report, local=BERLIN)
    assert "Broken before &rarr; Broken after" in page and "lots" in page


# -- the page -------------------------------------------------------------------------------------

def test_human_units_named_metrics_and_local_time_beside_utc() -> None:
    page = render_html(incident_report(), local=BERLIN)
    text = re.sub(r"<[^>]+>", " ", page)
    text = re.sub(r"\s+", " ", text)
    assert "Heap used 104.4 MiB" in text and "Threads 183" in text and "System load average 1.47" in text
    assert "heap_used_bytes" not in page and "109441280" not in text.replace('title="109441280"', "")
    # The CTI heartbeat is epoch milliseconds: shown as a date, UTC then the reader's zone.
    assert "1796114940618" not in page
    assert "last success 2026-12-01 08:49:00 UTC (09:49:00 CET)" in text
    assert "started 2026-12-01 14:06:31 UTC (15:06:31 CET)" in text
    assert "duration 2 min 4 s" in text and "took 2 min 0 s" in text
    # On a machine whose zone is UTC the time is not said twice.
    assert "(14:06:31 UTC)" not in render_html(incident_report(), local=ZoneInfo("UTC"))


def test_the_comparison_shows_clients_gained_and_lost_status_and_metric_deltas() -> None:
    page = render_html(incident_report(), local=BERLIN)
    block = page[page.index("<h3>Before and after</h3>"):page.index("<h3>REST health</h3>")]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", block))
    assert "Desktop connections before &rarr; Desktop connections after" in block
    assert "Clients on port 8445 3 3 &#9679; 1 gained, 1 lost gained: 10.1.20.99 lost: 10.1.20.50" in text
    assert "Clients on port 7443 1 0 &#9660; 1 lost lost: 10.1.20.50" in text
    assert "Heap used 104.4 MiB 110.0 MiB &#9650; +5.6 MiB" in text
    assert "Threads 183 190 &#9650; +7" in text
    assert "Finesse status IN_SERVICE OUT_OF_SERVICE &#9679; changed" in text
    assert "Step status ok failed" in text
    # The "after" SystemInfo is shown by the comparison, not as a second full table.
    assert page.count("<h3>Finesse SystemInfo") == 1


def test_each_error_is_shown_once() -> None:
    report = incident_report()
    page = render_html(report, local=BERLIN)
    error = "authentication failed for user &#x27;admin&#x27; at 127.0.0.1:3981"
    assert page.count(error) == 1
    # It is shown at the step that failed, and the hosts table and the host's header link to it.
    assert page.count('href="#host-finesse-b-error"') == 2 and page.count('id="host-finesse-b-error"') == 1
    # An error no step repeats (a host that could not start) is shown under the host's name, once.
    report.hosts["finesse-b"].steps = []
    report.hosts["finesse-b"].error = "did not run: the secret env:X is not set"
    page = render_html(report)
    assert page.count("did not run: the secret env:X is not set") == 1


def _links(page: str) -> list[str]:
    class Hrefs(HTMLParser):
        found: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.found += [v or "" for k, v in attrs if k == "href"]

    parser = Hrefs()
    parser.found = []
    parser.feed(page)
    return parser.found


@pytest.fixture(scope="module")
def incident_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lab_run(tmp_path_factory.mktemp("incident"), INCIDENT)


def test_every_file_the_run_wrote_is_linked_relative_to_the_run_directory(incident_run: Path) -> None:
    page = write_html(read_report(incident_run), incident_run / "report.html", incident_run).read_text()
    hrefs = {h for h in _links(page) if not h.startswith("#")}
    written = {p.relative_to(incident_run).as_posix() for p in incident_run.rglob("*")
               if p.is_file() and p.name != "report.html"}
    assert written and {urllib.parse.unquote(h) for h in hrefs} == written
    assert any(h.endswith("network-status-before-8445.csv") for h in hrefs)
    assert any("/files/desktop/logs/" in h for h in hrefs)
    for href in hrefs:
        assert not href.startswith(("/", "..")) and "://" not in href and ":" not in href.split("/")[0]
        assert (incident_run / urllib.parse.unquote(href)).resolve().is_relative_to(incident_run.resolve())


def test_names_are_data_and_no_link_leaves_the_run_directory(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "fin-a" / "files" / "logs").mkdir(parents=True)
    outside = tmp_path / "secret.txt"
    outside.write_text("not part of the run")
    (run / "fin-a" / "files" / "logs" / "a b&c.log").write_text("x")
    (run / "fin-a" / "files" / "javascript:alert(1)").write_text("x")
    (run / "fin-a" / "files" / "logs" / "escape.log").symlink_to(outside)
    (run / "fin-b").symlink_to(tmp_path)  # a host directory that is a symbolic link
    (run / "report.json").write_text("{}")
    names = ["logs/a b&c.log", "javascript:alert(1)", "../../secret.txt", "/etc/passwd", "logs/escape.log",
             'x"><script>alert(1)</script>', "logs//double", "C:\\evil"]
    report = RunReport(run_id="r", playbook="p", playbook_name="P", started="")
    report.hosts["fin-a"] = HostRecord(files=[{"path": n, "size": 1, "sha256": "0" * 64} for n in names])
    report.hosts["fin-b"] = HostRecord(transcript="fin-b/secret.txt", files=[
        {"path": "secret.txt", "size": 1, "sha256": "0" * 64}])
    page = write_html(report, run / "report.html", run).read_text()
    hrefs = [h for h in _links(page) if not h.startswith("#")]
    assert sorted(hrefs) == sorted(["fin-a/files/logs/a%20b%26c.log", "fin-a/files/javascript%3Aalert%281%29",
                                    "report.json"])
    assert "<script>" not in page and "x&quot;&gt;&lt;script&gt;" in page
    assert "../../secret.txt" in page and "/etc/passwd" in page  # shown as text, not linked


def test_the_real_run_page_in_chromium_one_line_host_names_and_bars_in_the_screenshot(
        incident_run: Path, tmp_path: Path, browser: Callable[..., str]) -> None:
    report = read_report(incident_run)
    page = write_html(report, incident_run / "report.html", incident_run, local=BERLIN)
    shot = tmp_path / "page.png"
    dom = browser(page, shot, size=(1280, 2000))
    text = re.sub(r"\s+", " ", dom)
    assert "Before and after" in text and "Clients on port 8445" in text and "Heap used" in text
    for name in report.hosts:
        assert f'id="host-{name}"' in dom
    # The screenshot: one bar per port with clients, its length in pixels proportional to the count.
    _, _, rows = png_rows(shot)
    bars = [b for b in colour_runs(rows, BAR) if b[2] > 3]
    counts = [info["remote_clients"] for host in report.hosts.values() for step in host.steps
              if step.action == "network_status" for info in step.data["summary"]["ports"].values()
              if info["remote_clients"]]
    assert counts and len(bars) >= 1
    # Every port in the lab has 12 clients: all bars fill the chart (the busiest port's length).
    assert {length for _, _, length in bars} <= {max(b[2] for b in bars), max(b[2] for b in bars) - 1}
    # Host names never wrap, even in a narrow window.
    long = RunReport(run_id="r", playbook="p", playbook_name="P", started="")
    for i in range(3):
        long.hosts[f"finesse-node-with-a-long-name-{i}.lab.example.com"] = HostRecord(status="failed", error="x")
    narrow = write_html(long, tmp_path / "narrow.html")
    measured = browser(narrow, size=(480, 900), measure=(
        "document.body.insertAdjacentHTML('beforeend', '<pre id=m>' + Array.from(document.querySelectorAll("
        "'td.host a, h2.host')).map(e => e.getClientRects().length).join(',') + '</pre>')"))
    lines = re.search(r'<pre id="m">([\d,]+)</pre>', measured)
    assert lines and set(lines.group(1).split(",")) == {"1"}, lines


def test_the_screenshot_shows_each_ports_clients_as_bar_lengths(tmp_path: Path, browser: Callable[..., str]) -> None:
    report = RunReport(run_id="r", playbook="p", playbook_name="P", started="2026-12-01T14:06:31+00:00")
    report.hosts["fin-a"] = HostRecord(steps=[_net("Clients", {"8445": [f"10.0.0.{i}" for i in range(40)],
                                                               "7443": [f"10.0.0.{i}" for i in range(10)],
                                                               "5222": [f"10.0.0.{i}" for i in range(20)]}, "x")])
    page = write_html(report, tmp_path / "bars.html")
    shot = tmp_path / "bars.png"
    browser(page, shot, size=(1280, 900))
    _, _, rows = png_rows(shot)
    bars = sorted((y, length) for y, _, length in colour_runs(rows, BAR) if length > 3)
    lengths = [length for _, length in bars]
    assert len(lengths) == 3, bars
    assert Counter(round(4 * v / lengths[0]) for v in lengths) == Counter([4, 1, 2])  # 40 : 10 : 20
