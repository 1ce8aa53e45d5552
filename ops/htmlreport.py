"""`ops report RUN_ID --html`: the run as one self-contained HTML page.

Inline CSS and inline SVG only: no script, no font, no image, no external URL, so the page opens
from a TAC case attachment or a mail on a machine without a network. It shows the run, every
host's status and timings, each step with its duration, the files collected (path, size,
sha256), the connection summaries of `network_status` steps as a bar chart of remote clients per
port, and the REST health of `finesse_system_info` / `finesse_performance` / `gws_version`
steps. Every value from the report is HTML-escaped.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from ops.fileio import write_atomic
from ops.report import STEP_STATUSES, HostRecord, RunReport, recap_lines
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
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px;
         font-weight: 600; }
.badge.ok { background: var(--ok); } .badge.changed { background: var(--changed); }
.badge.failed { background: var(--failed); } .badge.ignored { background: var(--ignored); }
.badge.skipped { background: var(--skipped); }
.error { color: var(--failed); }
.timing { background: var(--bg); height: 10px; min-width: 80px; border-radius: 3px; }
.timing div { background: var(--bar); height: 10px; border-radius: 3px; }
section.host { border: 1px solid var(--line); border-radius: 6px; padding: 4px 16px 12px; margin: 18px 0; }
section.host > h2 { margin-top: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 18px; }
figure { margin: 0; } figcaption { color: var(--muted); font-size: 12.5px; }
.kv th { width: 220px; }
details > summary { cursor: pointer; margin: 6px 0; }
pre.recap { background: var(--bg); padding: 10px; overflow-x: auto; }
footer { color: var(--muted); font-size: 12px; margin-top: 30px; }
"""


def e(value: Any) -> str:
    """HTML-escape anything (None shows as an empty string)."""
    return html.escape("" if value is None else str(value), quote=True)


def _badge(status: str) -> str:
    return f'<span class="badge {status if status in STEP_STATUSES else "skipped"}">{e(status)}</span>'


def _anchor(name: str) -> str:
    return "host-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


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


def _network_charts(host: HostRecord) -> str:
    figures = []
    for step in host.steps:
        summary = step.data.get("summary") if step.action == "network_status" else None
        if not isinstance(summary, dict) or not isinstance(summary.get("ports"), dict):
            continue
        bars = [(str(port), int(info.get("remote_clients", 0)))
                for port, info in summary["ports"].items()
                if isinstance(info, dict) and (info.get("remote_clients") or info.get("connections"))]
        chart = bar_chart(f"{step.name}: remote clients per port", bars) if bars else \
            '<p class="meta">no connections</p>'
        caption = (f"<code>{e(step.data.get('command', ''))}</code>: {e(summary.get('connections', 0))} "
                   f"connections; states {e(', '.join(f'{k} {v}' for k, v in (summary.get('states') or {}).items()))}")
        figures.append(f"<figure>{chart}<figcaption>{caption}</figcaption></figure>")
    if not figures:
        return ""
    return f'<h3>Connections</h3><div class="charts">{"".join(figures)}</div>'


def _kv_table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def _rest_health(host: HostRecord) -> str:
    blocks = []
    for step in host.steps:
        data = step.data
        if step.action == "finesse_system_info" and "status" in data:
            status = str(data.get("status"))
            colour = "ok" if data.get("in_service") else "failed"
            nodes = "<br>".join(f"{e(n.get('role'))}: <code>{e(n.get('host'))}</code>"
                                for n in data.get("nodes") or [] if isinstance(n, dict))
            cti = "<br>".join(f"<code>{e(c.get('host'))}</code>" + (" (active)" if c.get("active") else "")
                              for c in data.get("cti_servers") or [] if isinstance(c, dict))
            rows: list[tuple[str, Any]] = [
                ("status", f'<span class="badge {colour}">{e(status)}</span>'
                           + (f" {e(data.get('status_reason'))}" if data.get("status_reason") else "")),
                ("deployment type", e(data.get("deployment_type"))),
                ("nodes", nodes or "-"),
                ("CTI servers", cti or "-"),
                ("CTI version", e(data.get("cti_version"))),
                ("last CTI heartbeat", e(" ".join(str(x) for x in (data.get("last_cti_heartbeat_status"),
                                                                     data.get("last_cti_heartbeat_time")) if x))),
                ("XMPP domain", e(data.get("xmpp_domain"))),
                ("auth mode", e(data.get("system_auth_mode"))),
                ("appliance time", e(data.get("current_timestamp"))),
            ]
            blocks.append(f"<h3>Finesse SystemInfo <small class=\"meta\">({e(step.name)})</small></h3>"
                          + _kv_table(rows))
        elif step.action == "finesse_performance" and isinstance(data.get("metrics"), dict):
            rows = [(name, f'<span class="mono">{e(value)}</span>') for name, value in data["metrics"].items()]
            blocks.append(f"<h3>Finesse performance <small class=\"meta\">({e(step.name)})</small></h3>"
                          + _kv_table(rows))
        elif step.action == "gws_version" and "version" in data:
            blocks.append(f"<h3>Genesys Web Services <small class=\"meta\">({e(step.name)})</small></h3>"
                          + _kv_table([("version", e(data["version"]))]))
    if not blocks:
        return ""
    return "<h3>REST health</h3>" + "".join(blocks)


def _steps_table(host: HostRecord) -> str:
    if not host.steps:
        return '<p class="meta">no step ran</p>'
    longest = max((s.duration_s for s in host.steps), default=0.0) or 1.0
    rows = []
    for i, step in enumerate(host.steps, 1):
        share = round(100 * step.duration_s / longest)
        rows.append(f"<tr><td class=\"num\">{i}</td><td>{e(step.name)}</td><td><code>{e(step.action)}</code></td>"
                    f"<td>{_badge(step.status)}</td><td class=\"num\">{step.duration_s:.3f} s</td>"
                    f"<td><div class=\"timing\"><div style=\"width:{share}%\"></div></div></td>"
                    f"<td>{e(step.message)}</td></tr>")
    return ("<table><thead><tr><th class=\"num\">#</th><th>step</th><th>action</th><th>status</th>"
            "<th class=\"num\">duration</th><th>timing</th><th>message</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _files_table(host: HostRecord) -> str:
    if not host.files:
        return ""
    total = host.total_bytes
    rows = "".join(
        f"<tr><td class=\"mono\">{e(f.get('path'))}</td><td class=\"num\" title=\"{e(f.get('size'))} bytes\">"
        f"{e(human_bytes(int(f.get('size', 0))))}</td>"
        f"<td class=\"mono\" title=\"{e(f.get('sha256'))}\">{e(str(f.get('sha256', ''))[:16])}&hellip;</td></tr>"
        for f in sorted(host.files, key=lambda f: str(f.get("path"))))
    opened = " open" if len(host.files) <= 200 else ""
    return (f"<h3>Files</h3><details{opened}><summary>{len(host.files)} file(s), {e(human_bytes(total))} "
            f"({total} bytes), each checked against its sha256</summary>"
            "<table><thead><tr><th>path (under files/)</th><th class=\"num\">size</th><th>sha256</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></details>")


def _host_section(name: str, host: HostRecord, links: bool) -> str:
    records = []
    for rel in (host.transcript, host.manifest):
        if rel:
            records.append(f'<a href="{e(rel)}">{e(rel)}</a>' if links else f"<code>{e(rel)}</code>")
    error = f'<p class="error">error: {e(host.error)}</p>' if host.error else ""
    meta = (f'<p class="meta"><span>started {e(host.started or "-")}</span> <span>{host.duration_s:.3f} s</span>'
            + (f" <span>{' '.join(records)}</span>" if records else "") + "</p>")
    return (f'<section class="host" id="{e(_anchor(name))}"><h2>{e(name)} {_badge(host.status)}</h2>{meta}{error}'
            f"<h3>Steps</h3>{_steps_table(host)}{_rest_health(host)}{_network_charts(host)}{_files_table(host)}"
            "</section>")


def _hosts_table(report: RunReport) -> str:
    rows = []
    for name, host in report.hosts.items():
        c = host.counts()
        size = host.total_bytes
        rows.append(f'<tr><td><a href="#{e(_anchor(name))}">{e(name)}</a></td><td>{_badge(host.status)}</td>'
                    f"<td class=\"num\">{host.duration_s:.3f} s</td>"
                    + "".join(f'<td class="num">{c[k]}</td>' for k in STEP_STATUSES)
                    + f'<td class="num">{len(host.files)}</td><td class="num" title="{size} bytes">'
                    f"{e(human_bytes(size))}</td><td class=\"error\">{e(host.error)}</td></tr>")
    return ("<table><thead><tr><th>host</th><th>status</th><th class=\"num\">duration</th>"
            + "".join(f'<th class="num">{k}</th>' for k in STEP_STATUSES)
            + "<th class=\"num\">files</th><th class=\"num\">bytes</th><th>error</th>"
            "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def render_html(report: RunReport, *, links: bool = False) -> str:
    """The whole page. `links`: link transcripts and manifests relative to the run directory."""
    failed = len(report.failed_hosts)
    verdict = "failed" if failed else "ok"
    flags = [label for label, on in (("check mode", report.check), ("interrupted", report.interrupted)) if on]
    title = f"{report.playbook_name} - run {report.run_id}"
    meta = " ".join(f"<span>{label} <b>{e(value)}</b></span>" for label, value in (
        ("run", report.run_id), ("playbook", report.playbook), ("started", report.started),
        ("finished", report.finished), ("duration", f"{report.duration_s:.3f} s"),
        ("hosts", f"{len(report.hosts)} ({failed} failed)")))
    sections = "".join(_host_section(name, host, links) for name, host in report.hosts.items())
    recap = "\n".join(recap_lines(report))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">"
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{e(report.playbook_name)} {_badge(verdict)}"
        + "".join(f' <span class="badge skipped">{e(flag)}</span>' for flag in flags) + "</h1>"
        f'<p class="meta">{meta}</p>'
        f"<h2>Hosts</h2>{_hosts_table(report)}{sections}"
        f'<h2>Recap</h2><pre class="recap">{e(recap)}</pre>'
        f"<footer>finesse-ops report.json schema_version {e(report.schema_version)}; secrets masked</footer>"
        "</body></html>\n")


def write_html(report: RunReport, path: Path, run_dir: Path | None = None) -> Path:
    links = run_dir is not None and path.parent.resolve() == run_dir.resolve()
    write_atomic(path, render_html(report, links=links))
    return path

