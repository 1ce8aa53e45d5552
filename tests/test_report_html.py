"""`ops report`: the recap read back from report.json, and the self-contained HTML page, checked
as rendered by headless Chromium (Debian's chromium; `tests/setup-system.sh` installs it)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import asdict
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ops.htmlreport import bar_chart, render_html, write_html
from ops.report import HostRecord, RunReport, StepRecord, read_report, resolve_run_dir
from tests.helpers import REPO
from tests.test_bundle import lab_run

CHROMIUM = Path("/usr/bin/chromium")
BOOK = """\
name: Report page
hosts: finesse
steps:
  - name: Desktop logs
    activelog: {path: desktop/logs/*, recurs: true, reltime: {days: 2}}
  - name: Desktop clients
    network_status: {process: true, save_as: all}
  - name: SystemInfo
    finesse_system_info: {}
  - name: Performance
    finesse_performance: {}
  - name: GWS version
    gws_version: {}
  - name: Not there
    cli: {command: show nothing at all}
    ignore_errors: true
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lab_run(tmp_path_factory.mktemp("run"), BOOK)


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Renders a page with headless Chromium and returns the DOM after layout."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run tests/setup-system.sh (apt-get install chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")

    def render(page: Path, screenshot: Path | None = None) -> str:
        base = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}"]
        if screenshot is not None:
            subprocess.run([*base, "--window-size=1280,2000", f"--screenshot={screenshot}", page.as_uri()],
                           capture_output=True, timeout=60, check=True)
        result = subprocess.run([*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    return render


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def _no_external_references(page: str) -> None:
    """No tag that fetches anything, no src/href that leaves the page or its run directory."""
    parser = _Tags()
    parser.feed(page)
    assert parser.tags
    for tag, attrs in parser.tags:
        assert tag not in ("script", "link", "img", "iframe", "object", "embed", "image", "use"), tag
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "srcset"):
                assert value is not None and not re.match(r"\s*(?:[a-z][a-z0-9+.-]*:|//)", value, re.I), (tag, value)


def test_report_reads_back_what_the_run_wrote(run_dir: Path) -> None:
    report = read_report(run_dir)
    assert json.loads(report.to_json()) == json.loads((run_dir / "report.json").read_text())
    assert resolve_run_dir("latest", run_dir.parent) == run_dir
    assert resolve_run_dir(run_dir.name, run_dir.parent) == run_dir
    assert resolve_run_dir(str(run_dir), Path("/nonexistent")) == run_dir


def test_report_json_validates_against_its_schema(run_dir: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from ops.schema import report_schema

    jsonschema.Draft202012Validator.check_schema(report_schema())
    jsonschema.validate(json.loads((run_dir / "report.json").read_text()), report_schema())


def test_ops_report_prints_the_recap_and_writes_the_page(run_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "ops.cli", "report", "latest", "--output", str(run_dir.parent),
                             "--html"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "finesse-a : ok" in result.stdout and "finesse-b : ok" in result.stdout and "ignored=1" in result.stdout
    page = run_dir / "report.html"
    assert f"HTML report: {page}" in result.stdout and page.is_file()
    other = tmp_path / "elsewhere.html"
    result = subprocess.run([sys.executable, "-m", "ops.cli", "report", str(run_dir), "--html", str(other)],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0 and other.is_file()
    assert 'href="finesse-a/transcript.log"' in page.read_text()   # next to the run: links work
    assert 'href="finesse-a/transcript.log"' not in other.read_text()  # elsewhere: no dead links
    result = subprocess.run([sys.executable, "-m", "ops.cli", "report", "nope", "--output", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2 and "nope" in result.stderr


def test_the_page_renders_every_host_file_port_and_health_in_chromium(run_dir: Path, tmp_path: Path,
                                                                      chromium) -> None:  # type: ignore[no-untyped-def]
    report = read_report(run_dir)
    page = write_html(report, tmp_path / "report.html", run_dir)
    _no_external_references(page.read_text())
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", page.read_text())
    assert "http://" not in page.read_text() and "https://" not in page.read_text()
    dom = chromium(page, tmp_path / "shot.png" if os.environ.get("OPS_TEST_SCREENSHOT") else None)
    text = re.sub(r"\s+", " ", dom)
    assert "<svg" in dom and "<rect" in dom
    for name, host in report.hosts.items():
        assert f'id="host-{name}"' in dom and f">{name}</a>" in dom
        assert host.files
        for entry in host.files:
            assert f">{entry['path']}</td>" in dom, entry["path"]
        step = next(s for s in host.steps if s.action == "network_status")
        for port, info in step.data["summary"]["ports"].items():
            if info["remote_clients"]:
                clients = f"{info['remote_clients']} client" + ("" if info["remote_clients"] == 1 else "s")
                assert f">{port}</text>" in dom and f">{clients}</text>" in dom
        assert "IN_SERVICE" in text and "8.5." in text
    assert ">ignored</span>" in dom
    assert "Desktop clients: remote clients per port" in text


def _hostile_report(hosts: int) -> RunReport:
    report = RunReport(run_id="20260101T000000Z-abcd", playbook="<b>book</b>.yaml",
                       playbook_name='Evil "<script>alert(1)</script>"', started="2026-01-01T00:00:00+00:00",
                       finished="2026-01-01T00:00:09+00:00", duration_s=9.0)
    for i in range(hosts):
        failed = i % 3 == 0
        report.hosts[f"node-{i:02d}"] = HostRecord(
            status="failed" if failed else "ok", error="<img src=https://evil.example/x.png>" if failed else None,
            duration_s=1.5 + i,
            steps=[StepRecord("net <i>", "network_status", "ok", message="<script>x</script>", duration_s=0.2,
                              data={"command": "show network status", "summary": {"connections": 3, "states": {},
                                    "ports": {"8445": {"remote_clients": i, "connections": i + 1},
                                              "<9999>": {"remote_clients": 1, "connections": 1}}}})],
            files=[{"path": f"logs/<odd & name {i}>.log", "size": 1000 * i, "sha256": "0" * 64}])
    return report


def test_everything_is_escaped_and_nothing_is_fetched() -> None:
    page = render_html(_hostile_report(4))
    _no_external_references(page)
    assert "<script>" not in page and "<i>" not in page and "<b>book" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;odd &amp; name 1&gt;.log" in page
    assert "&lt;9999&gt;" in page


def test_a_synthetic_run_with_many_hosts_shows_every_host_in_chromium(tmp_path: Path,
                                                                       chromium) -> None:  # type: ignore[no-untyped-def]
    report = _hostile_report(30)
    page = tmp_path / "many.html"
    write_html(report, page)
    dom = chromium(page)
    assert "<script>" not in dom
    for name in report.hosts:
        assert f">{name}</a>" in dom and f'id="host-{name}"' in dom
        assert f"&lt;odd &amp; name {name[-2:].lstrip('0') or '0'}&gt;.log" in dom
    assert dom.count('class="badge failed"') >= 10


def test_bar_chart_scales_to_the_busiest_port() -> None:
    svg = bar_chart("clients", [("8445", 10), ("7443", 5), ("22", 0)])
    widths = [int(w) for w in re.findall(r'<rect [^>]*width="(\d+)"', svg)]
    assert widths[0] == 2 * widths[1] and widths[2] == 0
    assert bar_chart("nothing", []) == ""
    assert asdict(StepRecord("a", "b", "ok"))["status"] == "ok"


@pytest.mark.parametrize("odd", [None, 2**70, "logs/caf\udce9.log"], ids=["plain", "huge-int", "not-utf8-name"])
def test_report_json_keeps_every_value_and_masks_secrets(tmp_path: Path, odd: object) -> None:
    """Everything registered reaches report.json: paths and dates as text, non-ASCII as itself,
    NaN as null; also what the fast encoder refuses (integers past 64 bits, a file name that is
    not UTF-8, kept by os.fsdecode as lone surrogates), which the stdlib encoder then writes."""
    from datetime import datetime

    from ops.report import write_report
    from ops.secrets import Secret

    secret = Secret("Sécret-Report-Pw-9")  # registers it for masking
    report = RunReport(run_id="r", playbook="p.yaml", playbook_name="P", started="s")
    report.hosts["fin-a"] = HostRecord(steps=[StepRecord("s", "cli", "ok", data={
        "path": Path("/x/y"), "when": datetime(2026, 11, 29, 8, 30), "name": "Zürich", "odd": odd,
        "load": float("nan"), "said": f"password {secret.reveal()}", 7: "non-text key"})])
    text = write_report(tmp_path, report).read_text(encoding="utf-8")
    data = json.loads(text)["hosts"]["fin-a"]["steps"][0]["data"]
    assert data == {"path": "/x/y", "when": "2026-11-29T08:30:00", "name": "Zürich", "odd": odd, "load": None,
                    "said": data["said"], "7": "non-text key"}
    assert secret.reveal() not in text and "Zürich" in text
