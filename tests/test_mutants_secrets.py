"""Secret references and masking, checked where the end-to-end scans leave room (found by bench/mutation.py)."""

from __future__ import annotations

import base64
import logging
import string
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from ops.secrets import (
    MASK,
    MASKER,
    Masker,
    Secret,
    SecretError,
    is_reference,
    mask,
    mask_log_records,
    reference_only,
    register_basic_auth,
    resolve,
)


def test_references_and_clear_text() -> None:
    for good in ("env:X", "file:/p", "file:rel/p", "prompt", "prompt:UI password", "env:A:B", "cmd:pass show x"):
        assert is_reference(good), good
        assert reference_only(good) == good
    for bad in ("env:", "file:", "env", "file", "hunter2", "Env:X", " env:X", "prompted", "secret:X", "",
                "cmd:", "cmd"):
        assert not is_reference(bad), bad
        with pytest.raises(ValueError,
                           match="never written in clear text here: use env:NAME, file:PATH, cmd:COMMAND, prompt"):
            reference_only(bad)
    assert reference_only(None) is None


def test_env_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_MUT_PW", "Env-Value-1")
    secret = resolve("env:OPS_MUT_PW")
    assert secret.reveal() == "Env-Value-1" and secret.source == "env:OPS_MUT_PW"
    monkeypatch.delenv("OPS_MUT_PW")
    with pytest.raises(SecretError) as info:
        resolve("env:OPS_MUT_PW")
    assert str(info.value) == "environment variable OPS_MUT_PW is not set (secret reference 'env:OPS_MUT_PW')"
    monkeypatch.setenv("OPS_MUT_EMPTY", "")
    assert resolve("env:OPS_MUT_EMPTY").reveal() == ""  # set but empty is a value, not a missing one
    for bad in ("env:", "file:", "hunter2"):
        with pytest.raises(SecretError) as info:
            resolve(bad)
        assert str(info.value) == (f"not a secret reference: {bad!r} "
                                   "(use env:NAME, file:PATH, cmd:COMMAND, prompt or prompt:LABEL)")


def test_file_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pw").write_bytes(b"File-Value-2\r\n\n")
    secret = resolve("file:pw", base_dir=tmp_path)
    assert secret.reveal() == "File-Value-2" and secret.source == "file:pw"
    assert resolve(f"file:{tmp_path / 'pw'}", base_dir=Path("/nonexistent")).reveal() == "File-Value-2"
    monkeypatch.chdir(tmp_path)
    assert resolve("file:pw").reveal() == "File-Value-2"  # no base: relative to the working directory
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve("file:~/pw").reveal() == "File-Value-2"
    (tmp_path / "inner").write_text("  spaced \t\n")
    assert resolve("file:inner", base_dir=tmp_path).reveal() == "  spaced \t"  # only line ends are stripped

    (tmp_path / "latin1").write_bytes(b"caf\xe9")
    with pytest.raises(SecretError) as info:
        resolve("file:latin1", base_dir=tmp_path)
    assert str(info.value) == f"secret file {tmp_path / 'latin1'} is not UTF-8 text"
    (tmp_path / "blank").write_text("\n")
    with pytest.raises(SecretError) as info:
        resolve("file:blank", base_dir=tmp_path)
    assert str(info.value) == f"secret file {tmp_path / 'blank'} is empty"
    with pytest.raises(SecretError) as info:
        resolve("file:missing", base_dir=tmp_path)
    assert str(info.value) == f"cannot read secret file {tmp_path / 'missing'}: No such file or directory"

    (tmp_path / "max").write_bytes(b"m" * 65536)  # exactly the limit is still a password file
    assert len(resolve("file:max", base_dir=tmp_path).reveal()) == 65536
    (tmp_path / "over").write_bytes(b"m" * 65537)
    with pytest.raises(SecretError) as info:
        resolve("file:over", base_dir=tmp_path)
    assert str(info.value) == f"secret file {tmp_path / 'over'} is over 65536 bytes: not a password file"


def test_prompt_references(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def answer(text: str) -> str:
        asked.append(text)
        return "Typed-Value-3"

    secret = resolve("prompt:UI password", prompt=answer)
    assert secret.reveal() == "Typed-Value-3" and secret.source == "prompt:UI password"
    assert resolve("prompt", prompt=answer).reveal() == "Typed-Value-3"
    assert asked == ["UI password: ", "password: "]

    import getpass

    monkeypatch.setattr(getpass, "getpass", lambda text: f"from getpass ({text})")
    assert resolve("prompt:Agent").reveal() == "from getpass (Agent: )"

    for error in (EOFError, OSError):
        def fail(text: str, error: type[Exception] = error) -> str:
            raise error()

        with pytest.raises(SecretError) as info:
            resolve("prompt:Agent", prompt=fail)
        assert str(info.value) == "cannot prompt for Agent: no terminal (secret reference 'prompt:Agent')"


def test_secret_equality_hash_and_repr() -> None:
    a, b = Secret("Same-Value-4", "env:A"), Secret("Same-Value-4", "env:B")
    assert a == b and a != Secret("Other-Value-4", "env:A") and a != "Same-Value-4"
    # Equal objects hash alike (Python's rule): the value decides, not the reference naming it.
    assert hash(a) == hash(b) != hash(Secret("Other-Value-4", "env:A"))
    assert repr(a) == "Secret('env:A')" and Secret("abc").source == "literal"
    assert format(a, ">20") == MASK


def test_generated_secrets() -> None:
    values = [Secret.generate() for _ in range(20)]
    alphabet = set(string.ascii_letters + string.digits)
    for secret in values:
        assert len(secret.reveal()) == 24 and set(secret.reveal()) <= alphabet
        assert secret.source == "generated"
        assert mask(f"<{secret.reveal()}>") == f"<{MASK}>"  # registered for masking when made
    assert len({s.reveal() for s in values}) == 20
    # Over many values every kind of character shows: letters of both cases and digits.
    joined = "".join(s.reveal() for s in values)
    assert any(c.islower() for c in joined) and any(c.isupper() for c in joined) and any(c.isdigit() for c in joined)
    short = Secret.generate(8, source="receiver")
    assert len(short.reveal()) == 8 and short.source == "receiver"


def test_three_characters_are_masked_two_are_not() -> None:
    masker = Masker()
    masker.register("ab")
    masker.register("xyz")
    assert masker.mask("ab xyz") == f"ab {MASK}"
    assert masker.values() == frozenset({"xyz", base64.b64encode(b"xyz").decode()})


def test_every_encoded_form_is_registered_and_masked() -> None:
    masker = Masker()
    value = "p@ss w/rd+1"
    masker.register(value)
    forms = {value, base64.b64encode(value.encode()).decode(), urllib.parse.quote(value, safe=""),
             urllib.parse.quote_plus(value)}
    assert masker.values() == frozenset(forms) and len(forms) == 4
    for form in forms:
        assert masker.mask(f"[{form}]") == f"[{MASK}]"
    masker.register(value)  # again: nothing new
    assert masker.values() == frozenset(forms)


def test_fresh_values_are_found_at_every_place_and_merged() -> None:
    masker = Masker()
    masker.register("zzz-old")
    assert masker.mask("zzz-old") == MASK  # the automaton is built with zzz-old
    masker.register("abcab")  # fresh: found with str.find
    assert masker.mask("abcabcab abcab") == f"{MASK} {MASK}"  # overlapping finds of one fresh value merge
    assert masker.mask("xabcabx abcab zzz-old") == f"x{MASK}x {MASK} {MASK}"
    masker.register("cab-q")
    assert masker.mask("abcab-q") == MASK  # a fresh value overlapping another fresh one


def test_adjacent_secrets_are_masked_each_and_text_between_is_kept() -> None:
    masker = Masker()
    for value in ("first", "second"):
        masker.register(value)
    assert masker.mask("firstsecond") == MASK + MASK
    assert masker.mask("first-second") == f"{MASK}-{MASK}"
    assert masker.mask("a first b") == f"a {MASK} b"


def test_the_automaton_is_rebuilt_after_many_fresh_values(monkeypatch: pytest.MonkeyPatch) -> None:
    import ahocorasick

    built: list[int] = []
    real = ahocorasick.Automaton

    def counting(*args: Any) -> Any:
        built.append(1)
        return real(*args)

    monkeypatch.setattr(ahocorasick, "Automaton", counting)
    masker = Masker()
    masker.register("seed-value")
    masker.mask("x")
    assert len(built) == 1
    for i in range(32):  # 32 values x 2 forms (plain = URL-encoded, base64) = 64 fresh: the limit, not over it
        masker.register(f"val-{i:03d}-{i}")
    assert len(masker.values()) == 66
    masker.mask("x")
    assert len(built) == 1
    masker.register("one-more")
    masker.mask("x")
    assert len(built) == 2


def test_authorization_headers_are_masked_whatever_the_scheme() -> None:
    for text, expected in [
        ("Authorization: Basic QWxhZGRpbjpvcGVu", f"Authorization: Basic {MASK}"),
        ("AUTHORIZATION: Bearer abc.def", f"AUTHORIZATION: Bearer {MASK}"),
        ('{"authorization": "Digest u=1", "x": 1}', f'{{"authorization": "Digest {MASK}", "x": 1}}'),
        ("authorization=NTLM TlRMTVNT; next", f"authorization=NTLM {MASK}; next"),
    ]:
        assert mask(text) == expected
    assert mask("no credentials here") == "no credentials here"


def test_basic_auth_tokens_are_masked() -> None:
    register_basic_auth("svc-user", Secret("Basic-Pw-55", "env:B"))
    token = base64.b64encode(b"svc-user:Basic-Pw-55").decode()
    assert mask(f"echo {token} end") == f"echo {MASK} end"
    assert token in MASKER.values()


def test_log_records_are_masked_when_made(caplog: pytest.LogCaptureFixture) -> None:
    Secret("Log-Secret-66", "env:L")
    caplog.set_level(logging.INFO)
    logger = logging.getLogger("ops.test.mutants")
    logger.info("value %s here", "Log-Secret-66")
    logger.info("plain %d", 5)
    logger.info("nothing")
    records = caplog.records
    assert records[0].getMessage() == f"value {MASK} here" and records[0].args == ()
    assert records[1].getMessage() == "plain 5" and records[1].args == ()
    assert records[2].msg == "nothing"
    factory = logging.getLogRecordFactory()
    mask_log_records()
    assert logging.getLogRecordFactory() is factory  # idempotent: not wrapped twice
    assert getattr(factory, "_ops_masking", False) is True


def test_a_record_that_cannot_format_is_left_to_logging() -> None:
    factory = logging.getLogRecordFactory()
    record = factory("x", logging.INFO, __file__, 1, "needs %d", ("not a number",), None)
    assert record.msg == "needs %d" and record.args == ("not a number",)


def test_mask_log_records_installs_itself_over_a_plain_factory() -> None:
    """What import does once: wrap whatever factory is current (here logging's own) so records are masked."""
    Secret("Plain-Factory-77", "env:P")
    saved = logging.getLogRecordFactory()
    try:
        logging.setLogRecordFactory(logging.LogRecord)
        mask_log_records()
        factory = logging.getLogRecordFactory()
        assert factory is not logging.LogRecord
        record = factory("x", logging.INFO, __file__, 1, "pw=%s", ("Plain-Factory-77",), None)
        assert isinstance(record, logging.LogRecord) and record.getMessage() == f"pw={MASK}"
    finally:
        logging.setLogRecordFactory(saved)


def test_a_secret_file_that_never_ends_is_read_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Like /dev/zero, but the bytes read are counted: past a megabyte the read was not bounded."""
    import io

    class Endless(io.RawIOBase):
        total = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            Endless.total += len(buffer)
            assert Endless.total < 1 << 20, "the secret file is read without a bound"
            buffer[:] = b"z" * len(buffer)
            return len(buffer)

    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: io.BufferedReader(Endless())
                        if self.name == "endless" else real_open(self, *a, **k))
    with pytest.raises(SecretError, match="is over 65536 bytes"):
        resolve("file:endless", base_dir=tmp_path)


def test_line_ends_only_are_stripped_from_secret_files(tmp_path: Path) -> None:
    (tmp_path / "xx").write_text("Ends-With-XX\r\n")
    assert resolve("file:xx", base_dir=tmp_path).reveal() == "Ends-With-XX"


def test_fresh_values_overlapping_themselves_or_by_one_character() -> None:
    masker = Masker()
    masker.register("built-in")
    masker.mask("x")  # the automaton is built; what follows is found with str.find
    masker.register("qqq")
    assert masker.mask("qqqq") == MASK  # occurrences at 0 and 1 are one masked span
    masker.register("abc")
    masker.register("cde")
    assert masker.mask("abcde") == MASK  # sharing one character is overlapping


def test_pickling_a_secret_is_refused_saying_so() -> None:
    import pickle

    with pytest.raises(TypeError, match="^a Secret cannot be pickled$"):
        pickle.dumps(Secret("No-Pickle-88"))
