"""No secret anywhere: every shipped playbook runs against the lab with known secrets, then every file of
the run directory, stdout, stderr and the log records are searched for them, plain, base64 and URL-encoded."""

from __future__ import annotations

import base64
import logging
import urllib.parse
from pathlib import Path

import pytest

from ops.cli import main
from ops.secrets import Secret
from tests.helpers import REPO

PLAYBOOKS = sorted((REPO / "playbooks").glob("*.yaml"))
UI_PASSWORD = "Known-UI-Passw0rd-93"


def _forms(value: str) -> set[str]:
    return {value, base64.b64encode(value.encode()).decode(), urllib.parse.quote(value, safe=""),
            urllib.parse.quote_plus(value)}


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: p.stem)
def test_no_secret_in_run_directory_output_or_logs(playbook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capfd: pytest.CaptureFixture[str],
                                                   caplog: pytest.LogCaptureFixture,
                                                   generated_secrets: list[str]) -> None:
    generated = generated_secrets
    monkeypatch.setenv("FINESSE_UI_PASSWORD", UI_PASSWORD)
    caplog.set_level(logging.DEBUG)
    code = main(["run", str(playbook), "-i", str(REPO / "inventory.yaml"), "-o", str(tmp_path / "out"), "-v"])
    out, err = capfd.readouterr()
    assert code == 0, out + err
    assert generated, "labs and the receiver generate their passwords"
    needles: set[str] = set()
    for value in [UI_PASSWORD, *generated]:
        needles |= _forms(value)
    haystacks = {"stdout": out, "stderr": err, "logs": caplog.text}
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            haystacks[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    assert len(haystacks) > 3
    for where, text in haystacks.items():
        for needle in needles:
            assert needle not in text, f"a secret appears in {where}"


def test_secret_never_prints_itself() -> None:
    secret = Secret("Abc-Def-123", "env:X")
    assert str(secret) == "********" and f"{secret}" == "********"
    assert "Abc-Def-123" not in repr(secret)
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(secret)
