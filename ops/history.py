"""`ops report --history [PLAYBOOK] [--since 30d]`: one self-contained HTML page over many runs.

Built from the run directories under `--output`: per host a line of runs (ok or failed), clients
per port over time, Finesse metrics over time, files and bytes per pull, and the hosts that fail
most. Inline CSS and SVG only: no script, no network, like the run page.

Fast over a month of hourly pulls (720 runs) and more: each run is read once into a small
summary kept in `<output>/.state/history-index.json`, keyed by the run directory's name and its
report's size and modification time; later pages read only the runs that are new or changed.
A report that cannot be read (hand-edited, damaged, another schema) is skipped and counted on the
page, never a crash; the index remembers it as damaged until it changes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from ops.fileio import write_atomic
from ops.htmlreport import CSS, e
from ops.report import HostRecord, RunReport, read_report
from ops.runfacts import (
    METRICS,
    format_metric,
    host_bytes,
    human_time,
    metric_label,
    parse_time,
    performance_metrics,
    port_clients,
)
from ops.textsafe import inert
from ops.units import human_bytes

__all__ = ["History", "RunSummary", "command", "load_history", "render_history", "summarize"]

INDEX = Path(".state") / "history-index.json"
INDEX_VERSION = 1
MAX_ERROR = 300
# Colours of the run strip: used nowhere else on the page, so a screenshot can count them.
OK_COLOUR, FAILED_COLOUR, SKIPPED_COLOUR = "#2da44e", "#e5534b", "#afb8c1"
SERIES = ["#0969da", "#bf3989", "#1a7f37", "#bc4c00", "#8250df", "#0a7b83", "#6e7781", "#953800"]


# -- one run, summarized -----------------------------------------------------------------------

def _host_summary(host: HostRecord) -> dict[str, Any]:
    ports: dict[str, int] = {}
    metrics: dict[str, int | float] = {}
    for step in host.steps:
        for port, info in port_clients(step).items():
            ports[port] = int(info["remote_clients"])  # the run's last snapshot of each port
        metrics = performance_metrics(step) or metrics
    return {"status": host.status, "started": host.started, "duration_s": host.duration_s, "files": len(host.files),
            "bytes": host_bytes(host),
            "error": (host.error or "")[:MAX_ERROR] or None, "ports": ports, "metrics": metrics}


def summarize(report: RunReport) -> dict[str, Any]:
    """What the history page needs of one run (a few hundred bytes a host)."""
    return {"run_id": report.run_id, "playbook": report.playbook, "playbook_name": report.playbook_name,
            "started": report.started, "finished": report.finished, "interrupted": report.interrupted,
            "hosts": {name: _host_summary(host) for name, host in report.hosts.items()}}


@dataclass
class RunSummary:
    name: str            # the run directory's name
    started: datetime
    data: dict[str, Any]

    @property
    def hosts(self) -> dict[str, dict[str, Any]]:
        hosts = self.data.get("hosts")
        return hosts if isinstance(hosts, dict) else {}


@dataclass
class History:
    output: Path
    runs: list[RunSummary] = field(default_factory=list)           # oldest first
    damaged: list[tuple[str, str]] = field(default_factory=list)   # (run directory, why)
    read: int = 0       # reports read in full for this page (the rest came from the index)
    playbook: str | None = None
    since: datetime | None = None


# -- the index ---------------------------------------------------------------------------------

def _load_index(output: Path) -> dict[str, Any]:
    try:
        data = json.loads((output / INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != INDEX_VERSION or not isinstance(data.get("runs"), dict):
        return {}
    return data["runs"]


def _save_index(output: Path, runs: dict[str, Any]) -> None:
    try:
        write_atomic(output / INDEX, json.dumps({"version": INDEX_VERSION, "runs": runs}, separators=(",", ":")))
    except OSError:
        pass  # a read-only output directory: the page is still made, the next one reads again


def _stamp(report: Path) -> list[int] | None:
    try:
        st = report.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _matches(summary: dict[str, Any], playbook: str | None) -> bool:
    if not playbook:
        return True
    recorded = str(summary.get("playbook") or "")
    wanted = Path(playbook)
    if recorded and (recorded == playbook or Path(recorded).name == wanted.name
                     or Path(recorded).stem == wanted.stem == playbook):
        return True
    if recorded and wanted.exists() and Path(recorded).exists():
        try:
            if wanted.resolve() == Path(recorded).resolve():
                return True
        except OSError:
            pass
    return str(summary.get("playbook_name") or "").casefold() == playbook.casefold()


def load_history(output: Path, playbook: str | None = None, since: datetime | None = None,
                 *, use_index: bool = True) -> History:
    """Every run under `output` (of `playbook`, started at or after `since`), summarized; reads in
    full only the reports the index does not hold as they are now."""
    history = History(output=output, playbook=playbook, since=since)
    index = _load_index(output) if use_index else {}
    fresh: dict[str, Any] = {}
    try:
        entries = sorted(os.scandir(output), key=lambda d: d.name)
    except OSError:
        entries = []
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        report_path = Path(entry.path) / "report.json"
        stamp = _stamp(report_path)
        if stamp is None:
            continue  # not a run directory
        known = index.get(entry.name)
        if isinstance(known, dict) and known.get("stamp") == stamp:
            record = known
        else:
            history.read += 1
            try:
                record = {"stamp": stamp, "summary": summarize(read_report(Path(entry.path)))}
            except ValueError as exc:
                record = {"stamp": stamp, "damaged": str(exc).replace(str(report_path), "report.json")[:MAX_ERROR]}
            except (OSError, RecursionError, MemoryError) as exc:
                record = {"stamp": stamp, "damaged": f"cannot read the report: {type(exc).__name__}"}
        fresh[entry.name] = record
        summary = record.get("summary")
        if not isinstance(summary, dict):
            history.damaged.append((entry.name, str(record.get("damaged") or "not a run report")))
            continue
        if not _matches(summary, playbook):
            continue
        started = parse_time(summary.get("started"))
        if started is None:
            history.damaged.append((entry.name, f"no valid start time ({str(summary.get('started'))[:40]!r})"))
            continue
        if since is not None and started < since:
            continue
        history.runs.append(RunSummary(entry.name, started, summary))
    history.runs.sort(key=lambda r: (r.started, r.name))
    if use_index and fresh != index:
        _save_index(output, fresh)
    return history


# -- SVG ---------------------------------------------------------------------------------------

@dataclass
class Frame:
    """The time axis shared by every chart of the page."""
    start: datetime
    end: datetime
    left: int = 64
    width: int = 720

    def x(self, moment: datetime) -> float:
        span = (self.end - self.start).total_seconds() or 1.0
        return self.left + self.width * (moment - self.start).total_seconds() / span


def _axis(frame: Frame, top: int, height: int, local: tzinfo | None) -> str:
    parts = [f'<line x1="{frame.left}" y1="{top + height}" x2="{frame.left + frame.width}" y2="{top + height}" '
             'stroke="#d0d7de"/>']
    for moment, anchor in ((frame.start, "start"), (frame.end, "end")):
        label = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        here = moment.astimezone(local) if local is not None else moment.astimezone()
        if here.utcoffset() != timedelta(0):
            label += here.strftime(" (%H:%M %Z)")
        parts.append(f'<text x="{frame.x(moment):.1f}" y="{top + height + 14}" text-anchor="{anchor}" '
                     f'fill="#57606a">{e(label)}</text>')
    return "".join(parts)


def _downsample(points: list[tuple[datetime, float]], frame: Frame) -> list[tuple[float, float]]:
    """(x, value) per pixel column: the column's largest value, so a spike never disappears."""
    columns: dict[int, float] = {}
    for moment, value in points:
        column = int(frame.x(moment))
        columns[column] = max(value, columns.get(column, value))
    return sorted((float(x), v) for x, v in columns.items())


def line_chart(title: str, series: dict[str, list[tuple[datetime, float]]], frame: Frame,
               fmt: Callable[[float], str], local: tzinfo | None, height: int = 110) -> str:
    """Lines over the page's time axis, one per series, each with its last value in the legend."""
    series = {k: v for k, v in series.items() if v}
    if not series:
        return ""
    top, legend_h = 24, 16 * ((len(series) + 2) // 3)
    peak = max(v for points in series.values() for _, v in points)
    peak = peak if peak > 0 else 1.0
    total_h = top + height + 22 + legend_h
    width = frame.left + frame.width + 16
    parts = [f'<svg role="img" width="{width}" height="{total_h}" viewBox="0 0 {width} {total_h}" '
             'font-family="system-ui, sans-serif" font-size="11">', f"<title>{e(title)}</title>",
             f'<text x="0" y="14" font-weight="600" font-size="12">{e(title)}</text>',
             f'<text x="{frame.left - 6}" y="{top + 8}" text-anchor="end" fill="#57606a">{e(fmt(peak))}</text>',
             f'<text x="{frame.left - 6}" y="{top + height}" text-anchor="end" fill="#57606a">{e(fmt(0))}</text>',
             _axis(frame, top, height, local)]
    for i, (label, points) in enumerate(series.items()):
        colour = SERIES[i % len(SERIES)]
        xy = [(x, top + height - height * v / peak) for x, v in _downsample(points, frame)]
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        last_moment, last_value = points[-1]
        if len(xy) == 1:
            parts.append(f'<circle cx="{xy[0][0]:.1f}" cy="{xy[0][1]:.1f}" r="3" fill="{colour}"/>')
        else:
            parts.append(f'<polyline class="series" data-points="{len(xy)}" points="{coords}" fill="none" '
                         f'stroke="{colour}" stroke-width="1.5"/>')
        lx, ly = frame.left + (i % 3) * 240, top + height + 32 + 16 * (i // 3)
        parts.append(f'<g><rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{lx + 14}" y="{ly}">{e(label)}: {e(fmt(last_value))} (last)</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def run_strip(runs: list[tuple[datetime, str, str]], frame: Frame, local: tzinfo | None) -> str:
    """Each run a mark on the time axis, green ok, red failed, grey otherwise, its run as a tooltip.
    The axis is cut into slots of whole pixels (a 1-pixel gap between two): where runs are denser
    than slots, a slot shows all of its runs, red when any failed."""
    top, height = 4, 18
    width = frame.left + frame.width + 16
    slot_w = max(3, min(14, frame.width // max(1, len(runs))))
    slots = max(1, frame.width // slot_w)
    marks: dict[int, tuple[str, str, int]] = {}
    for moment, status, label in runs:
        slot = min(slots - 1, max(0, int((frame.x(moment) - frame.left) / slot_w)))
        previous = marks.get(slot)
        if previous is None:
            marks[slot] = (status, label, 1)
        else:
            worst = "failed" if "failed" in (status, previous[0]) else previous[0]
            marks[slot] = (worst, f"{previous[2] + 1} runs", previous[2] + 1)
    parts = [f'<svg role="img" class="strip" width="{width}" height="{top + height + 20}" '
             f'viewBox="0 0 {width} {top + height + 20}" font-family="system-ui, sans-serif" font-size="11">']
    for slot, (status, label, _count) in sorted(marks.items()):
        colour = {"ok": OK_COLOUR, "failed": FAILED_COLOUR}.get(status, SKIPPED_COLOUR)
        parts.append(f'<rect class="run {e(status)}" x="{frame.left + slot * slot_w}" y="{top}" width="{slot_w - 1}" '
                     f'height="{height}" fill="{colour}"><title>{e(label)}: {e(status)}</title></rect>')
    parts.append(_axis(frame, top, height, local))
    parts.append("</svg>")
    return "".join(parts)


def bars_chart(title: str, bars: list[tuple[datetime, float]], frame: Frame, fmt: Callable[[float], str],
               local: tzinfo | None, colour: str = "#0969da", height: int = 80) -> str:
    """A bar per run (files or bytes per pull) on the time axis; the largest bar's value on the axis."""
    bars = [(t, v) for t, v in bars if v >= 0]
    if not bars:
        return ""
    top = 24
    peak = max(v for _, v in bars) or 1.0
    width = frame.left + frame.width + 16
    bar_w = max(1.0, min(10.0, frame.width / max(1, len(bars)) - 1))
    parts = [f'<svg role="img" width="{width}" height="{top + height + 22}" viewBox="0 0 {width} {top + height + 22}" '
             'font-family="system-ui, sans-serif" font-size="11">', f"<title>{e(title)}</title>",
             f'<text x="0" y="14" font-weight="600" font-size="12">{e(title)}</text>',
             f'<text x="{frame.left - 6}" y="{top + 8}" text-anchor="end" fill="#57606a">{e(fmt(peak))}</text>',
             _axis(frame, top, height, local)]
    for x, value in _downsample(bars, frame):
        h = max(1.0, height * value / peak) if value else 0.0
        parts.append(f'<rect class="pull" x="{x - bar_w / 2:.1f}" y="{top + height - h:.1f}" width="{bar_w:.1f}" '
                     f'height="{h:.1f}" fill="{colour}"><title>{e(fmt(value))}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


# -- the page ----------------------------------------------------------------------------------

def _host_names(history: History) -> list[str]:
    names: dict[str, None] = {}
    for run in history.runs:
        names.update(dict.fromkeys(run.hosts))
    return sorted(names)


def _failing(history: History, hosts: list[str], local: tzinfo | None) -> str:
    rows = []
    for name in hosts:
        seen = [(run, run.hosts[name]) for run in history.runs if isinstance(run.hosts.get(name), dict)]
        failures = [(run, h) for run, h in seen if h.get("status") == "failed"]
        if seen:
            rows.append((len(failures), len(seen), name, failures[-1] if failures else None))
    rows.sort(key=lambda r: (-r[0], -r[0] / r[1], r[2]))
    if not rows or not rows[0][0]:
        return "<h2>Hosts that fail most</h2><p class=\"meta\">no host failed in these runs</p>"
    body = []
    for failed, total, name, last in rows:
        if not failed:
            continue
        utc, here = human_time(last[0].started, local) if last else ("-", None)
        error = str(last[1].get("error") or "") if last else ""
        share = 100 * failed / total
        body.append(f'<tr><td class="host"><a href="#{e(_anchor(name))}">{e(name)}</a></td>'
                    f'<td class="num">{failed:,}</td><td class="num">{total:,}</td><td class="num">{share:.0f}%</td>'
                    f'<td><div class="timing"><div style="width:{share:.0f}%;background:var(--failed)"></div></div>'
                    f'</td><td class="num">{e(utc)}' + (f' <span class="local">({e(here)})</span>' if here else "")
                    + f'</td><td class="msg error">{e(error)}</td></tr>')
    return ("<h2>Hosts that fail most</h2><table><thead><tr><th>host</th><th class=\"num\">failed</th>"
            "<th class=\"num\">runs</th><th class=\"num\">share</th><th>share</th><th class=\"num\">last failure</th>"
            "<th>its error</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>")


def _anchor(name: str) -> str:
    return "host-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value == value \
        and abs(value) != float("inf") else None


def _formatter(metric: str) -> Callable[[float], str]:
    return lambda value: format_metric(metric, value)


def _host_section(name: str, history: History, frame: Frame, local: tzinfo | None) -> str:
    seen = [(run, run.hosts[name]) for run in history.runs if isinstance(run.hosts.get(name), dict)]
    ok = sum(1 for _, h in seen if h.get("status") == "ok")
    failed = sum(1 for _, h in seen if h.get("status") == "failed")
    ports: dict[str, list[tuple[datetime, float]]] = {}
    metrics: dict[str, list[tuple[datetime, float]]] = {}
    files: list[tuple[datetime, float]] = []
    sizes: list[tuple[datetime, float]] = []
    for run, h in seen:
        for port, clients in (h.get("ports") or {}).items() if isinstance(h.get("ports"), dict) else ():
            if (value := _number(clients)) is not None:
                ports.setdefault(f"port {port}", []).append((run.started, value))
        for metric, raw in (h.get("metrics") or {}).items() if isinstance(h.get("metrics"), dict) else ():
            if (value := _number(raw)) is not None:
                metrics.setdefault(str(metric), []).append((run.started, value))
        n, size = _number(h.get("files")), _number(h.get("bytes"))
        if n:
            files.append((run.started, n))
        if size:
            sizes.append((run.started, size))
    charts = [line_chart("Clients per port", ports, frame, lambda v: f"{v:,.0f}", local)]
    order = [m for m in METRICS if m in metrics] + sorted(m for m in metrics if m not in METRICS)
    for m in order:
        charts.append(line_chart(metric_label(m), {metric_label(m): metrics[m]}, frame, _formatter(m), local,
                                 height=70))
    if sizes:
        charts.append(bars_chart("Bytes per pull", sizes, frame, human_bytes, local))
    if files:
        charts.append(bars_chart("Files per pull", files, frame, lambda v: f"{v:,.0f}", local, colour="#8250df"))
    totals = (f"{len(seen):,} runs: {ok:,} ok, {failed:,} failed"
              + (f"; {sum(v for _, v in files):,.0f} files, {human_bytes(sum(v for _, v in sizes))} pulled"
                 if files else ""))
    return (f'<section class="host" id="{e(_anchor(name))}"><h2 class="host">{e(name)}</h2>'
            f'<p class="meta">{e(totals)}</p>' + "".join(f"<figure>{c}</figure>" for c in charts if c) + "</section>")


def _strips(history: History, hosts: list[str], frame: Frame, local: tzinfo | None) -> str:
    """Every host's line of runs, one under the other, on the page's time axis."""
    rows = []
    for name in hosts:
        seen = [(run, run.hosts[name]) for run in history.runs if isinstance(run.hosts.get(name), dict)]
        strip = run_strip([(run.started, str(h.get("status")), run.name) for run, h in seen], frame, local)
        rows.append(f'<tr><td class="host"><a href="#{e(_anchor(name))}">{e(name)}</a></td><td>{strip}</td></tr>')
    return ('<h2>Runs per host</h2><p class="meta">a mark per run, in time order: green ok, red failed</p>'
            f'<table class="strips"><tbody>{"".join(rows)}</tbody></table>')


def render_history(history: History, *, local: tzinfo | None = None, now: datetime | None = None) -> str:
    """The whole page for `history` (see `load_history`)."""
    runs = history.runs
    what = history.playbook or "all playbooks"
    if runs:
        names = sorted({str(r.data.get("playbook_name") or "") for r in runs} - {""})
        what = ", ".join(names) if names else what
    start = runs[0].started if runs else (history.since or now or datetime.now(UTC))
    end = runs[-1].started if runs else (now or datetime.now(UTC))
    if end <= start:
        end = start + timedelta(minutes=1)
    frame = Frame(start, end)
    hosts = _host_names(history)
    period = (f"{len(runs):,} runs from {human_time(start, local)[0]} to {human_time(end, local)[0]}"
              + (f", since {human_time(history.since, local)[0]}" if history.since else ""))
    damaged = ""
    if history.damaged:
        items = "".join(f"<li><code>{e(name)}</code>: {e(why)}</li>" for name, why in history.damaged[:20])
        more = f"<li>and {len(history.damaged) - 20:,} more</li>" if len(history.damaged) > 20 else ""
        damaged = (f'<details class="damaged"><summary>{len(history.damaged):,} run report(s) could not be read '
                   f"and were skipped</summary><ul>{items}{more}</ul></details>")
    index = " ".join(f'<a href="#{e(_anchor(n))}">{e(n)}</a>' for n in hosts)
    body = (_failing(history, hosts, local) + _strips(history, hosts, frame, local)
            + "".join(_host_section(n, history, frame, local) for n in hosts)
            if runs else '<p class="meta">no run to show</p>')
    title = f"History: {what}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:\">"
            f"<title>{e(title)}</title><style>{CSS}{HISTORY_CSS}</style></head><body>"
            f"<h1>{e(title)}</h1><p class=\"meta\"><span>{e(period)}</span> <span>{len(hosts):,} hosts</span> "
            f"<span>from {e(history.output)}</span></p>{damaged}"
            + (f'<p class="meta">hosts: {index}</p>' if hosts else "") + body
            + "<footer>finesse-ops history; each mark in a line of runs is one run (or, where runs are denser than "
            "pixels, every run in that pixel: red when any failed)</footer></body></html>\n")


HISTORY_CSS = """
figure { margin: 8px 0; }
svg.strip { display: block; }
table.strips td { border: none; padding: 2px 8px; vertical-align: middle; }
details.damaged { color: var(--failed); margin: 8px 0; }
"""


# -- the command -------------------------------------------------------------------------------

def command(args: argparse.Namespace, out: Any = None, err: Any = None) -> int:
    """`ops report --history`: write the page; exit 2 when --output holds no matching run."""
    out = out or sys.stdout
    err = err or sys.stderr
    output = Path(args.output)
    if not output.is_dir():
        print(inert(f"{output}: no such directory (--output: where the run directories are)"), file=err)
        return 2
    since = datetime.now(UTC) - args.since if getattr(args, "since", None) else None
    history = load_history(output, args.history or None, since)
    if not history.runs:
        which = f" of {args.history}" if args.history else ""
        when = f" since {since:%Y-%m-%d %H:%M} UTC" if since else ""
        print(inert(f"no run{which}{when} with a readable report.json under {output}"
                    + (f" ({len(history.damaged)} damaged)" if history.damaged else "")), file=err)
        return 2
    html_arg = getattr(args, "html", None)
    path = Path(html_arg) if html_arg else output / "history.html"
    write_atomic(path, render_history(history))
    print(inert(f"history: {len(history.runs)} runs, {len(_host_names(history))} hosts"
                + (f", {len(history.damaged)} damaged report(s) skipped" if history.damaged else "")
                + f"\nHTML history: {path}"), file=out)
    return 0

