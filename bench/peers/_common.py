"""Shared by the peer scripts: arguments, timing, and the one JSON line each prints."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

COMMAND = "show version active"


def rtt_args(description: str) -> argparse.Namespace:
    """Where the lab appliance is and how many round trips to time."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument("--fingerprint", default="", help="the lab's SHA256 host key fingerprint")
    parser.add_argument("--known-hosts", default="", help="a known_hosts file naming the lab")
    parser.add_argument("--count", type=int, default=200)
    return parser.parse_args()


def timed(fn: Callable[[], Any], count: int) -> list[float]:
    """Seconds per call of `fn`, `count` times."""
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def check_output(text: str) -> None:
    """Every peer must really have read the command's output, not just a prompt."""
    if "12.6.1" not in text:
        raise SystemExit(f"unexpected output of {COMMAND!r}: {text[:200]!r}")


def emit(**result: Any) -> None:
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
