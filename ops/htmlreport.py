"""`ops report RUN_ID --html`: the run as one self-contained HTML page.

Inline CSS and inline SVG only: no script, no font, no image, no external URL, so the page opens
from a TAC case attachment or a mail on a machine without a network. It shows:

- the run and every host (Ansible's recap columns), times in UTC with the reader's local time
  beside, durations and sizes as people read them;
- per host: its error once (at the step that failed, or under the host's name when no step
  did), each step with its duration, the Finesse health (named metrics in their units, epoch
  timestamps as dates), clients per port as a bar chart, a comparison of the steps that ran
  "before" and "after" (clients gained and lost per port, status changes, metric deltas);
- a link to every file the run wrote (transcripts, manifests, network-status JSON/CSV, the
  collected files), when the page sits in the run directory: relative links whose every part is
  checked (no `..`, no absolute path, no symbolic link out of the run directory) and URL-encoded.

Everything from the report (host, step and file names, appliance text) is HTML-escaped data.
"""

from __future__ import annotations

import html
import os
import urllib.parse
from datetime import tzinfo
from pathlib import Path
from typing import Any

from ops.fileio import write_atomic
from ops.report import STEP_STATUSES, HostRecord, RunReport, StepRecord, recap_counts
from ops.runfacts import (
    Comparison,
    compare,
    format_metric,
    host_bytes,
    human_duration,
    human_time,
    metric_label,
    parse_time,
    performance_metrics,
    port_clients,
    step_pairs,
    step_summary,
)
from ops.units import human_bytes

CSS = """
:root { --ok:#1a7f37; --changed:#9a6700; --failed:#cf222e; --ignored:#8250df; --skipped:#6e7781;
        --line:#d0d7de; --muted:#57606a; --bg:#f6f8fa; --bar:#0969da; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif;
       margin: 0 auto; padding: 24px; max-width: 1200px; color: #1f2328; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: var(--muted); margin: 0 0 16px; }
.meta span { margin-right: 18px; white-space: nowrap; }
.local { color: var(--muted); font-size: 12.5px; white-space: nowrap; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.host, h2.host { white-space: nowrap; }
td.msg { overflow-wrap: anywhere; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
td.path { overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px;
         font-weight: 600; white-space: nowrap; }
.badge.ok { background: var(--ok); } .badge.changed { background: var(--changed); }
.badge.failed { background: var(--failed); } .badge.ignored { background: var(--ignored); }
.badge.skipped { background: var(--skipped); }
.error { color: var(--failed); overflow-wrap: anywhere; }
tr.failed td { background: #ffebe9; }
.timing { background: var(--bg); height: 10px; min-width: 80px; border-radius: 3px; }
.timing div { background: #54aeff; height: 10px; border-radius: 3px; }
section.host { border: 1px solid var(--line); border-radius: 6px; padding: 4px 16px 12px; margin: 18px 0; }
section.host > h2 { margin-top: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 18px; }
figure { margin: 0; } figcaption { color: var(--muted); font-size: 12.5px; }
.kv th { width: 240px; }
.d-up { color: var(--ok); } .d-down { color: var(--failed); } .d-changed { color: var(--changed); font-weight: 600; }
ul.files { columns: 2; margin: 4px 0 8px; padding-left: 18px; }
details > summary { cursor: pointer; margin: 6px 0; }
footer { color: var(--muted); font-size: 12px; margin-top: 30px; }
"""


def e(value: Any) -> str:
    """HTML-escape anything (None shows as an empty string)."""
    return html.escape("" if value is None else str(value), quote=True)


def _badge(status: str) -> str:
    return f'<span class="badge {status if status in STEP_STATUSES else "skipped"}">{e(status)}</span>'


def _anchor(name: str) -> str:
    return "host-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _when(value: Any, local: tzinfo | None) -> str:
    """A time as `2026-12-01 14:06:31 UTC` with the local time beside it; text as it came otherwise."""
    moment = parse_time(value)
    if moment is None:
        return e(value) if value not in (None, "") else "-"
    utc, here = human_time(moment, local)
    return f'<span class="utc">{e(utc)}</span>' + (f' <span class="local">({e(here)})</span>' if here else "")


def bar_chart(title: str, bars: list[tuple[str, int]], *, unit: str = "client", width: int = 460) -> str:
    """A horizontal bar chart as inline SVG; bars are (label, value)."""
    if not bars:
        return ""
    row, top, label_w, value_w = 24, 26, 70, 80
    height = top + row * len(bars) + 8
    span = width - label_w - value_w
    peak = max(v for _, v in bars) or 1
    parts = [f'<svg role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="system-ui, sans-serif" font-size="12">',
             f"<title>{e(title)}</title>",
             f'<text x="0" y="15" font-weight="600">{e(title)}</text>']
    for i, (label, value) in enumerate(bars):
        y = top + i * row
        length = max(2, round(span * value / peak)) if value else 0
        count = f"{value} {unit}" + ("" if value == 1 else "s")
        parts.append(f'<g><title>port {e(label)}: {e(count)}</title>'
                     f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{e(label)}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{length}" height="16" rx="2" fill="#0969da"/>'
                     f'<text x="{label_w + length + 6}" y="{y + 15}">{e(count)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


# -- links to the run's files -------------------------------------------------------------------

class Links:
    """Relative links to files of one run directory, for a page that sits in it.

    `href(parts)` is None (shown as text, not linked) unless every part is a plain name (no `..`,
    `.`, empty part, slash or backslash) and, when the run directory is known, the file is a
    regular file reached through no symbolic link: a link never leads out of the run directory."""

    def __init__(self, run_dir: Path | None, enabled: bool) -> None:
        self.enabled = enabled
        self.run_dir = run_dir.resolve() if run_dir is not None else None
        self._dirs: dict[tuple[str, ...], bool] = {}

    def _inside(self, parts: tuple[str, ...]) -> bool:
        if self.run_dir is None:
            return True
        folder = parts[:-1]
        if folder not in self._dirs:
            where = self.run_dir.joinpath(*folder)
            self._dirs[folder] = (not any(self.run_dir.joinpath(*folder[:i + 1]).is_symlink()
                                          for i in range(len(folder)))
                                  and where.resolve().is_relative_to(self.run_dir))
        if not self._dirs[folder]:
            return False
        target = self.run_dir.joinpath(*parts)
        return not target.is_symlink() and target.is_file()

    def href(self, rel: str) -> str | None:
        if not self.enabled:
            return None
        parts = tuple(rel.split("/"))
        if not parts or any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts):
            return None
        if not self._inside(parts):
            return None
        return "/".join(urllib.parse.quote(p, safe="") for p in parts)

    def link(self, rel: str, label: str | None = None) -> str:
        text = e(label if label is not None else rel)
        href = self.href(rel)
        return f'<a href="{e(href)}">{text}</a>' if href is not None else text


def _host_files(name: str, host: HostRecord, links: Links) -> list[str]:
    """Paths (relative to the run directory) of the records the run wrote for a host, outside files/."""
    found: list[str] = []
    for rel in (host.transcript, host.manifest):
        if isinstance(rel, str) and rel:
            found.append(rel)
    for step in host.steps:
        for key in ("json_file", "csv_file"):
            value = step.data.get(key)
            if isinstance(value, str) and value:
                found.append(f"{name}/{value}")
    if links.enabled and links.run_dir is not None:
        folder = links.run_dir / name
        if folder.is_dir() and not folder.is_symlink():
            with os.scandir(folder) as entries:
                found += [f"{name}/{entry.name}" for entry in entries
                          if entry.is_file(follow_symlinks=False) and not entry.name.startswith(".")]
    return sorted(dict.fromkeys(found))


# -- per host -----------------------------------------------------------------------------------

def _network_charts(host: HostRecord) -> str:
    figures = []
    for step in host.steps:
        if step.action != "network_status":
            continue
        summary = step.data.get("summary")
        ports = port_clients(step)
        if not isinstance(summary, dict) or not ports:
            continue
        bars = [(port, int(info["remote_clients"])) for port, info in ports.items()
                if info["remote_clients"] or info["connections"]]
        chart = bar_chart(f"{step.name}: remote clients per port", bars) if bars else \
            '<p class="meta">no connections</p>'
        states = summary.get("states")
        states = states if isinstance(states, dict) else {}
        caption = (f"<code>{e(step.data.get('command', ''))}</code>: {e(summary.get('connections', 0))} "
                   f"connections; states {e(', '.join(f'{k} {v}' for k, v in states.items()))}")
        figures.append(f"<figure>{chart}<figcaption>{caption}</figcaption></figure>")
    if not figures:
        return ""
    return f'<h3>Connections</h3><div class="charts">{"".join(figures)}</div>'


def _kv_table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def _system_info(step: StepRecord, local: tzinfo | None) -> str:
    data = step.data
    status = str(data.get("status"))
    colour = "ok" if data.get("in_service") else "failed"
    nodes = "<br>".join(f"{e(n.get('role'))}: <code>{e(n.get('host'))}</code>"
                        for n in data.get("nodes") or [] if isinstance(n, dict))
    cti = "<br>".join(f"<code>{e(c.get('host'))}</code>" + (" (active)" if c.get("active") else "")
                      + (f", connected {e(human_duration(c.get('connected_duration')))}"
                         if isinstance(c.get("connected_duration"), int) else "")
                      for c in data.get("cti_servers") or [] if isinstance(c, dict))
    heartbeat = e(data.get("last_cti_heartbeat_status") or "-")
    if data.get("last_cti_heartbeat_time"):
        heartbeat += f", last success {_when(data.get('last_cti_heartbeat_time'), local)}"
    offset = data.get("timezone_offset")
    rows: list[tuple[str, str]] = [
        ("Status", f'<span class="badge {colour}">{e(status)}</span>'
                   + (f" {e(data.get('status_reason'))}" if data.get("status_reason") else "")),
        ("Deployment type", e(data.get("deployment_type"))),
        ("Nodes", nodes or "-"),
        ("CTI servers", cti or "-"),
        ("CTI version", e(data.get("cti_version"))),
        ("Last CTI heartbeat", heartbeat),
        ("XMPP domain", e(data.get("xmpp_domain"))),
        ("Authentication mode", e(data.get("system_auth_mode"))),
        ("Appliance time", _when(data.get("current_timestamp"), local)
         + (f' <span class="local">(appliance offset {e(offset)} min)</span>' if isinstance(offset, int) else "")),
    ]
    return f"<h3>Finesse SystemInfo <small class=\"meta\">({e(step.name)})</small></h3>" + _kv_table(rows)


def _performance(step: StepRecord) -> str:
    metrics = performance_metrics(step)
    raw = step.data.get("metrics")
    text_values = {k: v for k, v in raw.items() if k not in metrics} if isinstance(raw, dict) else {}
    rows = [(metric_label(name), f'<span class="mono" title="{e(value)}">{e(format_metric(name, value))}</span>')
            for name, value in {**metrics, **text_values}.items()]
    return f"<h3>Finesse performance <small class=\"meta\">({e(step.name)})</small></h3>" + _kv_table(rows)


def _rest_health(host: HostRecord, local: tzinfo | None) -> str:
    blocks = []
    # The "after" of a before/after pair is shown by its comparison, not by a second full table.
    shown_by_comparison = {id(after) for _, after in step_pairs(host.steps)}
    for step in host.steps:
        data = step.data
        if id(step) in shown_by_comparison:
            continue
        if step.action == "finesse_system_info" and "status" in data:
            blocks.append(_system_info(step, local))
        elif step.action == "finesse_performance" and isinstance(data.get("metrics"), dict):
            blocks.append(_performance(step))
        elif step.action == "gws_version" and "version" in data:
            blocks.append(f"<h3>Genesys Web Services <small class=\"meta\">({e(step.name)})</small></h3>"
                          + _kv_table([("Version", e(data["version"]))]))
    if not blocks:
        return ""
    return "<h3>REST health</h3>" + "".join(blocks)


def _clients_list(label: str, clients: list[str], css: str) -> str:
    if not clients:
        return ""
    shown = ", ".join(e(c) for c in clients[:50]) + (f", and {len(clients) - 50} more" if len(clients) > 50 else "")
    return f'<div class="{css}">{e(label)}: <span class="mono">{shown}</span></div>'


def _comparison(item: Comparison) -> str:
    rows = []
    for change in item.changes:
        detail = (_clients_list("gained", change.gained, "d-up") + _clients_list("lost", change.lost, "d-down"))
        mark = {"up": "&#9650; ", "down": "&#9660; ", "changed": "&#9679; "}.get(change.kind, "")
        rows.append(f'<tr class="cmp-{change.kind}"><th>{e(change.what)}</th><td class="num">{e(change.before)}</td>'
                    f'<td class="num">{e(change.after)}</td>'
                    f'<td class="d-{change.kind}">{mark}{e(change.change or "same")}'
                    f"{detail}</td></tr>")
    title = f"{e(item.before.name)} &rarr; {e(item.after.name)}"
    verdict = "changed" if item.changed else "no change"
    return (f"<h4>{title} <small class=\"meta\">(<code>{e(item.before.action)}</code>, {verdict})</small></h4>"
            '<table class="kv compare"><thead><tr><th></th><th class="num">before</th><th class="num">after</th>'
            f"<th>change</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _comparisons(host: HostRecord) -> str:
    pairs = step_pairs(host.steps)
    if not pairs:
        return ""
    return "<h3>Before and after</h3>" + "".join(_comparison(compare(b, a)) for b, a in pairs)


def _error_step(host: HostRecord) -> int | None:
    """The index of the step whose message the host's error repeats (that is where it is shown)."""
    if not host.error:
        return None
    for i, step in enumerate(host.steps):
        if step.status == "failed" and step.message and step.message in host.error:
            return i
    return None


def _steps_table(name: str, host: HostRecord, error_at: int | None) -> str:
    if not host.steps:
        return '<p class="meta">no step ran</p>'
    longest = max((s.duration_s for s in host.steps), default=0.0) or 1.0
    rows = []
    for i, step in enumerate(host.steps):
        share = round(100 * step.duration_s / longest) if step.duration_s > 0 else 0
        message = e(host.error if i == error_at else step_summary(step))
        css = ' class="failed"' if step.status == "failed" else ""
        row_id = f' id="{e(_anchor(name))}-error"' if i == error_at else ""
        rows.append(f"<tr{css}{row_id}><td class=\"num\">{i + 1}</td><td>{e(step.name)}</td>"
                    f"<td><code>{e(step.action)}</code></td><td>{_badge(step.status)}</td>"
                    f"<td class=\"num\" title=\"{step.duration_s:.3f} s\">{e(human_duration(step.duration_s))}</td>"
                    f"<td><div class=\"timing\"><div style=\"width:{share}%\"></div></div></td>"
                    f"<td class=\"msg{' error' if i == error_at else ''}\">{message}</td></tr>")
    return ("<table><thead><tr><th class=\"num\">#</th><th>step</th><th>action</th><th>status</th>"
            "<th class=\"num\">duration</th><th>timing</th><th>message</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _files_section(name: str, host: HostRecord, links: Links) -> str:
    records = _host_files(name, host, links)
    parts = []
    if records:
        items = "".join(f"<li class=\"mono\">{links.link(rel, rel.split('/', 1)[-1])}</li>" for rel in records)
        parts.append(f'<h3>Files the run wrote</h3><ul class="files">{items}</ul>')
    if host.files:
        total = host_bytes(host)
        rows = []
        for f in sorted(host.files, key=lambda f: str(f.get("path"))):
            path = str(f.get("path", ""))
            size = f.get("size")
            size_text = human_bytes(size) if isinstance(size, int) and size >= 0 else "-"
            rows.append(f"<tr><td class=\"mono path\">{links.link(f'{name}/files/{path}', path)}</td>"
                        f"<td class=\"num\" title=\"{e(size)} bytes\">{e(size_text)}</td>"
                        f"<td class=\"mono\" title=\"{e(f.get('sha256'))}\">{e(str(f.get('sha256', ''))[:16])}&hellip;"
                        "</td></tr>")
        opened = " open" if len(host.files) <= 200 else ""
        parts.append(f"<h3>Collected files</h3><details{opened}><summary>{len(host.files)} file(s), "
                     f"{e(human_bytes(total))} ({total:,} bytes), each checked against its sha256</summary>"
                     "<table><thead><tr><th>path (under files/)</th><th class=\"num\">size</th><th>sha256</th>"
                     f"</tr></thead><tbody>{''.join(rows)}</tbody></table></details>")
    return "".join(parts)


def _host_section(name: str, host: HostRecord, links: Links, local: tzinfo | None) -> str:
    error_at = _error_step(host)
    meta = (f'<p class="meta"><span>started {_when(host.started, local)}</span> '
            f'<span>took {e(human_duration(host.duration_s))}</span></p>')
    if host.error and error_at is None:
        error = f'<p class="error" id="{e(_anchor(name))}-error">error: {e(host.error)}</p>'
    elif error_at is not None:
        error = (f'<p class="error">failed at step {error_at + 1}, '
                 f'<a href="#{e(_anchor(name))}-error">{e(host.steps[error_at].name)}</a></p>')
    else:
        error = ""
    return (f'<section class="host" id="{e(_anchor(name))}"><h2 class="host">{e(name)} {_badge(host.status)}</h2>'
            f"{meta}{error}<h3>Steps</h3>{_steps_table(name, host, error_at)}{_comparisons(host)}"
            f"{_network_charts(host)}{_rest_health(host, local)}{_files_section(name, host, links)}</section>")


_RECAP = ("ok", "changed", "unreachable", "failed", "skipped", "ignored")


def _hosts_table(report: RunReport) -> str:
    """The recap: Ansible's columns per host, then files and bytes; a failed host links to its error."""
    rows = []
    for name, host in report.hosts.items():
        c = recap_counts(host)
        size = host_bytes(host)
        problem = (f'<a href="#{e(_anchor(name))}-error">the error</a>' if host.error else "")
        rows.append(f'<tr><td class="host"><a href="#{e(_anchor(name))}">{e(name)}</a></td><td>{_badge(host.status)}'
                    f"</td><td class=\"num\">{e(human_duration(host.duration_s))}</td>"
                    + "".join(f'<td class="num">{c[k]}</td>' for k in _RECAP)
                    + f'<td class="num">{len(host.files):,}</td><td class="num" title="{size} bytes">'
                    f"{e(human_bytes(size))}</td><td>{problem}</td></tr>")
    return ("<table><thead><tr><th>host</th><th>status</th><th class=\"num\">duration</th>"
            + "".join(f'<th class="num">{k}</th>' for k in _RECAP)
            + "<th class=\"num\">files</th><th class=\"num\">bytes</th><th></th>"
            "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _run_files(report: RunReport, links: Links) -> str:
    if not links.enabled or links.run_dir is None:
        return ""
    names = sorted(entry.name for entry in os.scandir(links.run_dir)
                   if entry.is_file(follow_symlinks=False) and not entry.name.startswith(".")
                   and entry.name != "report.html")
    if not names:
        return ""
    return "<p class=\"meta\"><span>run files: " + " ".join(links.link(n) for n in names) + "</span></p>"


def render_html(report: RunReport, *, links: bool = False, run_dir: Path | None = None,
                local: tzinfo | None = None) -> str:
    """The whole page. `links`: link the run's files, relative to the run directory (`run_dir`, when
    given, is read for the files the report does not name and to check each link stays inside).
    `local`: the zone shown beside UTC (default: this machine's)."""
    linker = Links(run_dir, links)
    failed = len(report.failed_hosts)
    verdict = "failed" if failed else "ok"
    flags = [label for label, on in (("check mode", report.check), ("interrupted", report.interrupted)) if on]
    title = f"{report.playbook_name} - run {report.run_id}"
    meta = " ".join(f"<span>{label} <b>{value}</b></span>" for label, value in (
        ("run", e(report.run_id)), ("playbook", e(report.playbook)), ("started", _when(report.started, local)),
        ("finished", _when(report.finished, local)), ("duration", e(human_duration(report.duration_s))),
        ("hosts", e(f"{len(report.hosts)} ({failed} failed)"))))
    sections = "".join(_host_section(name, host, linker, local) for name, host in report.hosts.items())
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">"
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{e(report.playbook_name)} {_badge(verdict)}"
        + "".join(f' <span class="badge skipped">{e(flag)}</span>' for flag in flags) + "</h1>"
        f'<p class="meta">{meta}</p>{_run_files(report, linker)}'
        f"<h2>Hosts</h2>{_hosts_table(report)}{sections}"
        f"<footer>finesse-ops report.json schema_version {e(report.schema_version)}; secrets masked</footer>"
        "</body></html>\n")


def write_html(report: RunReport, path: Path, run_dir: Path | None = None, *, local: tzinfo | None = None) -> Path:
    """Write the page; links to the run's files only when it is written into the run directory itself."""
    links = run_dir is not None and path.parent.resolve() == run_dir.resolve()
    write_atomic(path, render_html(report, links=links, run_dir=run_dir if links else None, local=local))
    return path
