"""Secret values and the references that name them.

A `Secret` never prints itself: `str()`, `repr()` and f-strings give `********`. The only way to
the value is `Secret.reveal()`, called at the moment the value is written to a socket.

Every secret created is registered with a process-wide `Masker`, which the transcript writer,
the report writer and error messages pass text through, so that a value echoed back by an
appliance (or quoted in an exception) is masked too, in plain, base64 and URL-encoded forms.
"""

from __future__ import annotations

import base64
import getpass
import json
import logging
import os
import re
import secrets as _stdlib_secrets
import string
import threading
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

MASK = "********"
MAX_SECRET_FILE = 64 * 1024
# Credentials that show in a form no registered value matches: an HTTP Authorization header (or
# its echo in a JSON body), whose Basic token is base64 of `user:password`, not of the password.
_GENERIC_RE = re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?\s*(?:basic|bearer|digest|negotiate|ntlm)\s+)"
                         r"[^\s\"',;]+")
_FRESH_MAX = 64  # values found with str.find before the automaton is rebuilt (see Masker)


class SecretError(ValueError):
    """A secret reference that cannot be resolved (missing variable, unreadable file, ...)."""


class Masker:
    """Replaces every registered secret value (and its common encodings) in text.

    Matching is one Aho-Corasick pass (pyahocorasick, in C) over the text whatever the number of
    secrets: a fan-out over 200 hosts registers a receiver password for each, and a regular
    expression alternation of hundreds of values costs time per character for every value (and a
    recompile per registration). Overlapping matches are merged, so a secret that contains
    another is masked whole.
    """

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._automaton: Any = None  # None while it must be (re)built from _values
        # Values registered since the automaton was built, found with str.find until there are
        # _FRESH_MAX of them: a run registers a receiver password per host as the host reaches
        # its pull, between masks, and a rebuild per registration costs hosts x all values.
        self._fresh: list[str] = []
        self._lock = threading.Lock()

    def register(self, value: str) -> None:
        if len(value) < 3:
            # Masking one- or two-character strings would shred every transcript; such a
            # password is refused by any VOS policy anyway.
            return
        forms = {value, base64.b64encode(value.encode()).decode(), urllib.parse.quote(value, safe=""),
                 urllib.parse.quote_plus(value),
                 # As JSON writes it (report.json, journal.jsonl, --json): a quote or backslash escaped.
                 json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
        with self._lock:
            new = forms - self._values
            if not new:
                return
            self._values |= new
            self._fresh.extend(new)
            if len(self._fresh) > _FRESH_MAX:
                self._automaton = None  # rebuilt when text is next masked

    def _current(self) -> tuple[Any, tuple[str, ...]]:
        """The automaton of the values, and the values registered since it was built."""
        with self._lock:
            if self._automaton is None and self._values:
                import ahocorasick

                automaton = ahocorasick.Automaton()
                for value in self._values:
                    automaton.add_word(value, len(value))
                automaton.make_automaton()
                self._automaton = automaton
                self._fresh = []
            return self._automaton, tuple(self._fresh)

    def mask(self, text: str) -> str:
        if not text:
            return text
        if "uthorization" in text or "UTHORIZATION" in text:
            text = _GENERIC_RE.sub(lambda m: m.group(1) + MASK, text)
        automaton, fresh = self._current()
        if automaton is None:
            return text
        spans = [(end + 1 - length, end) for end, length in automaton.iter(text)]
        for value in fresh:
            start = text.find(value)
            while start >= 0:
                spans.append((start, start + len(value) - 1))
                start = text.find(value, start + 1)
        if not spans:
            return text
        spans.sort()
        merged: list[list[int]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:  # overlapping matches are masked as one
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        out: list[str] = []
        position = 0
        for start, end in merged:
            out.append(text[position:start])
            out.append(MASK)
            position = end + 1
        out.append(text[position:])
        return "".join(out)

    def values(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._values)


MASKER = Masker()


def mask(text: str) -> str:
    """Mask every secret this process has seen in `text`, and credentials in generic forms."""
    return MASKER.mask(text)


def register_basic_auth(username: str, password: Secret) -> None:
    """Mask the Basic token of `username:password` too (an endpoint may echo the header back)."""
    token = base64.b64encode(f"{username}:{password.reveal()}".encode()).decode()
    MASKER.register(token)


class Secret:
    """A secret string that never shows itself."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str = "literal") -> None:
        self._value = value
        self.source = source
        MASKER.register(value)

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({self.source!r})"

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and _stdlib_secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        # Equal secrets (same value, whatever their references) must hash alike.
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")

    @classmethod
    def generate(cls, length: int = 24, source: str = "generated") -> Secret:
        alphabet = string.ascii_letters + string.digits
        return cls("".join(_stdlib_secrets.choice(alphabet) for _ in range(length)), source)


REFERENCE_FORMS = "env:NAME, file:PATH, cmd:COMMAND, prompt or prompt:LABEL"
_REFERENCE_RE = re.compile(r"^(env|file|cmd|prompt)(?::(.*))?$", re.S)
CMD_TIMEOUT = 120.0  # seconds a cmd: reference's command may take (it may ask for a vault password)


def is_reference(text: str) -> bool:
    match = _REFERENCE_RE.fullmatch(text)
    return match is not None and (match.group(1) == "prompt" or bool(match.group(2)))


def reference_only(value: str | None) -> str | None:
    """Validator for a password field: a secret reference or nothing, never clear text."""
    if value is not None and not is_reference(value):
        raise ValueError(f"passwords are never written in clear text here: use {REFERENCE_FORMS}")
    return value


def resolve(reference: str, *, base_dir: Path | None = None,
            prompt: Callable[[str], str] | None = None) -> Secret:
    """Turn a reference (`env:NAME`, `file:PATH`, `cmd:COMMAND`, `prompt[:LABEL]`) into a `Secret`.

    The error never contains a value, only the reference.
    """
    match = _REFERENCE_RE.fullmatch(reference)
    if not match or (match.group(1) != "prompt" and not match.group(2)):
        raise SecretError(f"not a secret reference: {reference!r} (use {REFERENCE_FORMS})")
    kind, arg = match.group(1), match.group(2) or ""
    if kind == "env":
        value = os.environ.get(arg)
        if value is None:
            raise SecretError(f"environment variable {arg} is not set (secret reference {reference!r})")
        return Secret(value, reference)
    if kind == "file":
        path = Path(arg).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_SECRET_FILE + 1)  # bounded: /dev/zero or a huge file never fills memory
        except OSError as exc:
            raise SecretError(f"cannot read secret file {path}: {exc.strerror}") from None
        if len(raw) > MAX_SECRET_FILE:
            raise SecretError(f"secret file {path} is over {MAX_SECRET_FILE} bytes: not a password file")
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SecretError(f"secret file {path} is not UTF-8 text") from None
        value = value.rstrip("\r\n")
        if not value:
            raise SecretError(f"secret file {path} is empty")
        return Secret(value, reference)
    if kind == "cmd":
        return Secret(_run_command(arg, reference, base_dir), reference)
    label = arg or "password"
    asker = prompt or (lambda text: getpass.getpass(text))
    try:
        value = asker(f"{label}: ")
    except (EOFError, OSError):
        raise SecretError(f"cannot prompt for {label}: no terminal (secret reference {reference!r})") from None
    return Secret(value, reference)


def command_problem(reference: str, base_dir: Path | None = None) -> str | None:
    """Without running it: why a `cmd:` reference's command could not run (None if it could); a
    relative path (`./getpw.sh`) is looked up where the command runs, the inventory's folder."""
    import shlex
    import shutil

    try:
        argv = shlex.split(reference.split(":", 1)[1])
    except (ValueError, IndexError) as exc:
        return f"cannot read the command of {reference!r}: {exc}"
    if not argv:
        return f"{reference!r} names no command"
    program = argv[0]
    if os.sep in program and base_dir is not None and not os.path.isabs(os.path.expanduser(program)):
        program = str(base_dir / program)
    if shutil.which(program) is None:
        return f"{argv[0]}: command not found (secret reference {reference!r})"
    return None


def _run_command(command: str, reference: str, base_dir: Path | None) -> str:
    """The output of a `cmd:` reference's command (`ansible-vault view pw.vault`, `pass show fin/admin`,
    `vault kv get -field=password secret/finesse`, `sops -d --extract '["pw"]' s.yaml`): its first
    line, without the line break. No shell (a pipe is `cmd:sh -c '...'`); run in the inventory's
    folder, with the terminal's stdin and stderr so that a tool can ask for its own passphrase.
    The error names the command and its exit status, never what it printed.
    """
    import shlex
    import subprocess

    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise SecretError(f"cannot read the command of {reference!r}: {exc}") from None
    if not argv:
        raise SecretError(f"{reference!r} names no command")
    try:
        if os.sep in argv[0] and base_dir is not None and not os.path.isabs(os.path.expanduser(argv[0])):
            argv[0] = str(base_dir / argv[0])  # ./getpw.sh beside the inventory, wherever ops runs from
        done = subprocess.run(argv, stdout=subprocess.PIPE, cwd=base_dir, timeout=CMD_TIMEOUT, check=False)
    except FileNotFoundError:
        raise SecretError(f"{argv[0]}: command not found (secret reference {reference!r})") from None
    except subprocess.TimeoutExpired:
        raise SecretError(f"{argv[0]} did not finish within {CMD_TIMEOUT:g}s "
                          f"(secret reference {reference!r})") from None
    except OSError as exc:
        raise SecretError(f"cannot run {argv[0]}: {exc.strerror} (secret reference {reference!r})") from None
    if done.returncode != 0:
        raise SecretError(f"{argv[0]} exited with status {done.returncode} (secret reference {reference!r})")
    output = done.stdout[:MAX_SECRET_FILE + 1]
    if len(output) > MAX_SECRET_FILE:
        raise SecretError(f"{argv[0]} printed over {MAX_SECRET_FILE} bytes: not a password (secret reference "
                          f"{reference!r})")
    try:
        text = output.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretError(f"{argv[0]} printed something that is not UTF-8 text "
                          f"(secret reference {reference!r})") from None
    value = text.split("\n", 1)[0].rstrip("\r")
    if not value:
        raise SecretError(f"{argv[0]} printed nothing (secret reference {reference!r})")
    return value


def _masking_record_factory(base: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot format is left to logging to report
            return record
        masked = MASKER.mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, ()
        return record

    factory._ops_masking = True  # type: ignore[attr-defined]
    return factory


def mask_log_records() -> None:
    """Every log record made in this process, by any library (httpx, asyncssh ...), is masked when
    it is made, so no handler, file or test capture ever holds a secret. Idempotent."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "_ops_masking", False):
        logging.setLogRecordFactory(_masking_record_factory(current))


mask_log_records()
