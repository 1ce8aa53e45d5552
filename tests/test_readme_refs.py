"""Every test the README names (the Guarantees table, the mutation section) exists: a row must not
point at a test that was renamed or removed."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_every_test_the_readme_names_exists() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    missing, named = [], 0
    current: Path | None = None
    for file_part, test_part in re.findall(r"`(tests/[\w/]+\.py)?((?:::[\w\[\]-]+)?)`", text):
        if file_part:
            current = REPO / file_part
            if not current.exists():
                missing.append(file_part)
                continue
        if not test_part or current is None:
            continue
        name = test_part[2:].split("[")[0]
        named += 1
        if not re.search(rf"^\s*(?:async )?def {re.escape(name)}\(", current.read_text(encoding="utf-8"), re.M):
            missing.append(f"{current.relative_to(REPO)}{test_part}")
    assert named > 30 and missing == []
