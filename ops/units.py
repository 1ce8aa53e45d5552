"""Sizes as people read them: one formatter for the live table, the report page and messages."""

from __future__ import annotations

__all__ = ["human_bytes"]


def human_bytes(count: float) -> str:
    """`512 B`, `1.5 KiB`, `104.4 MiB`, `2.0 GiB` (binary units; GiB is the largest)."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
