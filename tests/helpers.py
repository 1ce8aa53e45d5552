"""Helpers shared by tests: run a coroutine, write an inventory that points at running labs."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from ops.lab.server import LabAppliance

REPO = Path(__file__).resolve().parent.parent
LAB_PASSWORD = "Lab-Secret-Pw-4417"


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def write_inventory(path: Path, labs: dict[str, LabAppliance]) -> Path:
    """An inventory that reaches already-running labs the way it would reach real appliances."""
    lines = ["defaults:", "  username: admin", "  password: env:OPS_TEST_PW", "groups:",
             "  finesse:", f"    hosts: [{', '.join(labs)}]", "hosts:"]
    for name, lab in labs.items():
        lines += [f"  {name}:", f"    address: {lab.host}", f"    port: {lab.port}",
                  f"    host_key: {lab.host_key_fingerprint()}"]
    path.write_text("\n".join(lines) + "\n")
    return path
