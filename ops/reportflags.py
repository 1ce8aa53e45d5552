"""The flags of the reporting commands (`ops report --history/--since/--metrics`, `ops run --metrics`,
`ops bundle --encrypt/--upload ...`), kept apart from the modules that act on them so that building
`ops`'s parser imports nothing but the standard library (`ops --help` starts fast)."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from pathlib import Path

__all__ = ["add_bundle_arguments", "add_report_arguments", "add_run_arguments", "parse_since"]

_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.I | re.ASCII)
_UNIT = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

_METRICS_HELP = ("write a Prometheus text file for node_exporter's textfile collector (atomically; private unless "
                 "OPS_GROUP_READABLE=1): step status and duration per host, files and bytes, last success, Finesse "
                 "metrics and clients per port")


def parse_since(text: str) -> timedelta:
    """`30d`, `12h`, `90m`, `2w` as a timedelta (as an argparse type, a bad value is exit 2)."""
    match = _SINCE.fullmatch(text)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: an age such as 30d, 12h, 90m or 2w")
    return timedelta(seconds=float(match.group(1)) * _UNIT[match.group(2).lower()])


def add_run_arguments(run: argparse.ArgumentParser) -> None:
    """`ops run --metrics PATH`."""
    run.add_argument("--metrics", type=Path, default=None, metavar="PATH", help=_METRICS_HELP)


def add_report_arguments(report: argparse.ArgumentParser) -> None:
    """`ops report [RUN_ID] --history [PLAYBOOK] [--since AGE] --metrics PATH` (RUN_ID is then optional)."""
    report.add_argument("--history", nargs="?", const="", default=None, metavar="PLAYBOOK",
                        help="one HTML page over the runs under --output (of PLAYBOOK: its path, file name or "
                             "name): runs per host, clients per port, Finesse metrics, pulls, failing hosts; "
                             "written to --html PATH or <output>/history.html")
    report.add_argument("--since", type=parse_since, default=None, metavar="AGE",
                        help="with --history or --metrics: only runs started in the last AGE (30d, 12h, 2w)")
    report.add_argument("--metrics", type=Path, default=None, metavar="PATH",
                        help=_METRICS_HELP + "; without RUN_ID, the newest run of each playbook under --output")


def add_bundle_arguments(bundle: argparse.ArgumentParser) -> None:
    """`ops bundle RUN_ID [--encrypt [--passphrase REF]] [--upload CASE --token REF]`."""
    bundle.add_argument("--encrypt", action="store_true",
                        help="encrypt the bundle (OpenSSL enc: AES-256-CBC, PBKDF2) into <bundle>.enc before any "
                             "upload; the passphrase from --passphrase, or generated into <bundle>.enc.passphrase "
                             "(0600) to give to the TAC engineer another way than the case")
    bundle.add_argument("--passphrase", metavar="REF", default=None,
                        help="with --encrypt: the passphrase, as a secret reference (env:NAME, file:PATH, "
                             "cmd:COMMAND, prompt)")
    bundle.add_argument("--upload", metavar="CASE", default=None,
                        help="send the bundle to Cisco's Customer eXperience Drive for TAC case CASE (HTTPS PUT), "
                             "with a progress bar and retries, then print the case note with its sha256")
    bundle.add_argument("--token", metavar="REF", default=None,
                        help="with --upload: the case's CXD upload token, as a secret reference (env:NAME, "
                             "file:PATH, cmd:COMMAND, prompt); never printed")
    bundle.add_argument("--upload-url", default=None, metavar="URL",
                        help="where to PUT (default https://cxd.cisco.com/home/)")
    bundle.add_argument("--ca-bundle", type=Path, default=None, metavar="PATH",
                        help="a CA to trust besides the system's (a TLS-inspecting proxy, the lab)")
    bundle.add_argument("--retries", type=int, default=3, metavar="N",
                        help="attempts after the first when the connection drops or the drive answers 5xx (3); "
                             "each starts again from the first byte")
    bundle.add_argument("--retry-wait", type=float, default=2.0, metavar="SECONDS",
                        help="wait before the first retry, doubled before each next one (2)")
