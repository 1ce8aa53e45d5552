"""`ops bundle RUN_ID`: one tar.gz of a run directory to attach to a TAC case, with its sha256.

```
<output>/<run-id>.tar.gz          members under <run-id>/: BUNDLE.txt, report.json,
<output>/<run-id>.tar.gz.sha256     <host>/transcript.log (generic masks again), <host>/manifest.json,
                                    <host>/network-status-*.json|csv, <host>/files/...
```
Every collected file is checked against its host's manifest (size and sha256) on the way in; a
mismatch, or a file the manifest lists that is gone, stops the bundle with an error naming the
file. Left out, and listed as such in `BUNDLE.txt` with the reason: receiver temporary uploads
(`*.part-*`), other temporary files, `ui-password-TEMPORARY.txt` (a live password), symbolic
links, and files under `files/` that the manifest does not list (they did not arrive whole).
The tar.gz is written to a temporary name and renamed, so a reader never sees half of it.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ops.fileio import atomic_binary, write_atomic
from ops.secrets import mask
from ops.textsafe import inert, inert_line

SECRET_FILES = {"ui-password-TEMPORARY.txt": "a live admin UI password (ui_password_reset's fallback); "
                                             "never leaves this machine"}
_PART_RE = re.compile(r"\.part-[0-9a-f]+\Z")
_TEMP_RES = (re.compile(r"^\..+\.tmp(-[0-9a-f]+)?$"), re.compile(r"^\..+\.[A-Za-z0-9_]+\.tmp$"))
INDEX = "BUNDLE.txt"


class BundleError(Exception):
    """The run directory cannot be bundled as it is (a file differs from its manifest, ...)."""


@dataclass
class Member:
    name: str  # path inside the run directory, '/'-separated
    size: int
    sha256: str
    note: str = ""


@dataclass
class BundleResult:
    path: Path
    sha256_path: Path
    sha256: str
    members: list[Member] = field(default_factory=list)
    excluded: list[tuple[str, str]] = field(default_factory=list)


def _excluded_reason(path: Path, rel: str) -> str | None:
    name = path.name
    # The toolkit's own secret files sit beside a host's records, never among what an appliance
    # pushed (a pushed log may bear any name; files/ is judged by its manifest alone).
    if name in SECRET_FILES and rel.count("/") == 1:
        return SECRET_FILES[name]
    if _PART_RE.search(name):
        return "receiver temporary upload (incomplete transfer)"
    if any(r.fullmatch(name) for r in _TEMP_RES):
        return "temporary file of an interrupted write"
    if path.is_symlink():
        return "symbolic link (not followed)"
    return None


def _manifests(run_dir: Path) -> dict[str, dict[str, dict[str, object]]]:
    """host -> {path under files/: manifest entry}."""
    out: dict[str, dict[str, dict[str, object]]] = {}
    for manifest in sorted(run_dir.glob("*/manifest.json")):
        host = manifest.parent.name
        try:
            entries = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise BundleError(f"{manifest}: cannot read the manifest: {exc}") from None
        if not isinstance(entries, list):
            raise BundleError(f"{manifest}: not a manifest (a list of {{path, size, sha256}})")
        out[host] = {str(e["path"]): e for e in entries if isinstance(e, dict) and "path" in e}
    return out


def _digest(path: Path) -> tuple[int, str]:
    """(bytes read, sha256) of a file as it is now."""
    with path.open("rb") as handle:
        sha = hashlib.file_digest(handle, "sha256").hexdigest()
        return handle.tell(), sha


def _order(parts: tuple[str, ...]) -> tuple[int, str, int, tuple[str, ...]]:
    """report.json first, then host by host: its own records, then its files."""
    if len(parts) == 1:
        return (0 if parts[0] == "report.json" else 1, "", 0, parts)
    return (2, parts[0], 1 if parts[1] == "files" else 0, parts[1:])


def bundle_path_for(run_dir: Path) -> Path:
    return run_dir.parent / f"{run_dir.name}.tar.gz"


def make_bundle(run_dir: Path, out: Path | None = None) -> BundleResult:
    """Bundle `run_dir` into `out` (default `<run-id>.tar.gz` next to it) and write `<out>.sha256`."""
    run_dir = Path(run_dir)
    if not (run_dir / "report.json").is_file():
        raise BundleError(f"{run_dir}: not a run directory (no report.json)")
    run_id = run_dir.name
    out = Path(out) if out is not None else bundle_path_for(run_dir)
    manifests = _manifests(run_dir)
    seen: dict[str, set[str]] = {host: set() for host in manifests}
    members: list[tuple[Member, Path | bytes]] = []
    excluded: list[tuple[str, str]] = []
    out_resolved = out.resolve()
    for path in sorted(run_dir.rglob("*"), key=lambda p: _order(p.relative_to(run_dir).parts)):
        rel = path.relative_to(run_dir).as_posix()
        if path.resolve() in (out_resolved, out_resolved.with_name(out_resolved.name + ".sha256")):
            continue
        if path.is_dir() and not path.is_symlink():
            continue
        reason = _excluded_reason(path, rel)
        if reason is not None:
            excluded.append((rel, reason))
            continue
        if not path.is_file():
            excluded.append((rel, "not a regular file"))
            continue
        parts = rel.split("/")
        if len(parts) >= 3 and parts[1] == "files":
            host, inner = parts[0], "/".join(parts[2:])
            entry = manifests.get(host, {}).get(inner)
            if entry is None:
                excluded.append((rel, f"not in {host}/manifest.json (did not arrive whole)"))
                continue
            size, sha = _digest(path)
            if size != entry.get("size") or sha != entry.get("sha256"):
                raise BundleError(f"{rel}: differs from {host}/manifest.json (size {size}, sha256 {sha}; "
                                  f"the manifest says size {entry.get('size')}, sha256 {entry.get('sha256')})")
            seen[host].add(inner)
            members.append((Member(rel, size, sha), path))
        elif path.name == "transcript.log" or (path.suffix == ".json" and path.name != "manifest.json"):
            # Masked when the run wrote them; here again with what this process knows: the generic
            # credential forms (Authorization headers) and any secret it has seen.
            data = mask(path.read_text(encoding="utf-8", errors="replace")).encode("utf-8")
            members.append((Member(rel, len(data), hashlib.sha256(data).hexdigest(), "masked again"), data))
        else:
            size, sha = _digest(path)
            members.append((Member(rel, size, sha), path))
    for host, entries in manifests.items():
        missing = sorted(set(entries) - seen[host])
        if missing:
            raise BundleError(f"{host}/files/{missing[0]}: listed in {host}/manifest.json but missing"
                              + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    index = _index(run_id, [m for m, _ in members], excluded).encode("utf-8")
    sha = _write_tar(out, run_id, index, members)
    sha_path = out.with_name(out.name + ".sha256")
    write_atomic(sha_path, f"{sha}  {out.name}\n")
    return BundleResult(out, sha_path, sha, [m for m, _ in members], excluded)


def _index(run_id: str, members: list[Member], excluded: list[tuple[str, str]]) -> str:
    lines = [f"finesse-ops bundle of run {run_id}", "",
             "Every file under <host>/files/ matched its host's manifest.json (size and sha256) when bundled.",
             "Transcripts and reports were masked by the run that wrote them, with the secrets it held. The bundle",
             "masked them again with what its own process knows: credential forms such as Authorization headers;",
             "it does not know the run's passwords, so it cannot find a value the run did not know was secret.",
             "Check a member: sha256sum <member> and compare with the list below.", "",
             f"MEMBERS ({len(members)}, {sum(m.size for m in members)} bytes)",
             f"{'sha256':<64}  {'size':>12}  path"]
    # Names come from appliances: one line each, whatever they hold (a newline would forge a line).
    for member in members:
        note = f"  ({member.note})" if member.note else ""
        lines.append(f"{member.sha256}  {member.size:>12}  {run_id}/{inert_line(member.name)}{note}")
    lines += ["", f"EXCLUDED ({len(excluded)})"]
    lines += [f"{run_id}/{inert_line(rel)}: {reason}" for rel, reason in excluded] or ["(nothing)"]
    return "\n".join(lines) + "\n"


class _HashingWriter:
    """A binary file that also hashes what is written to it (the archive, without reading it back)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        return self.raw.write(data)


def _write_tar(out: Path, run_id: str, index: bytes, members: list[tuple[Member, Path | bytes]]) -> str:
    """Write the archive atomically; returns its sha256."""
    with atomic_binary(out) as raw:
        hashing = _HashingWriter(raw)
        # gzip only ever calls write() on its file object when writing.
        with tarfile.open(fileobj=hashing, mode="w:gz",  # type: ignore[call-overload]
                          format=tarfile.PAX_FORMAT) as tar:
            _add_bytes(tar, f"{run_id}/{INDEX}", index)
            for member, source in members:
                name = f"{run_id}/{member.name}"
                if isinstance(source, bytes):
                    _add_bytes(tar, name, source)
                else:
                    info = tar.gettarinfo(str(source), arcname=name)
                    _normalise(info)
                    with source.open("rb") as handle:
                        tar.addfile(info, handle)
    return hashing.sha.hexdigest()


def _normalise(info: tarfile.TarInfo) -> None:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    _normalise(info)
    tar.addfile(info, io.BytesIO(data))


# -- `ops bundle RUN_ID [--encrypt] [--upload CASE --token REF]`: the bundle, then to TAC ----------
# (the flags: ops/reportflags.py add_bundle_arguments)

def command(args: Any, run_dir: Path, out: Any = None, err: Any = None, console: Any = None) -> int:
    """`ops bundle`: 0 done; 1 the bundle or the upload failed; 2 bad flags or a secret that does not
    resolve (checked before the bundle is made)."""
    import sys

    from ops.secrets import Secret, SecretError, resolve

    out, err = out or sys.stdout, err or sys.stderr
    upload_case = getattr(args, "upload", None)
    encrypt = bool(getattr(args, "encrypt", False))
    if getattr(args, "token", None) and not upload_case:
        print("bundle: --token goes with --upload CASE", file=err)
        return 2
    if getattr(args, "passphrase", None) and not encrypt:
        print("bundle: --passphrase goes with --encrypt", file=err)
        return 2
    token = passphrase = None
    from ops.upload import CASE_RE

    if upload_case and not CASE_RE.fullmatch(upload_case):
        print(inert(f"bundle: --upload {upload_case!r}: a TAC case number is digits (such as 694123456)"), file=err)
        return 2
    try:
        if upload_case:
            if not getattr(args, "token", None):
                print("bundle: --upload needs --token REF (the case's CXD upload token: env:NAME, file:PATH, "
                      "cmd:COMMAND or prompt)", file=err)
                return 2
            token = resolve(args.token)
        if encrypt and getattr(args, "passphrase", None):
            passphrase = resolve(args.passphrase)
    except SecretError as exc:
        print(inert(f"bundle: {exc}"), file=err)
        return 2
    try:
        result = make_bundle(run_dir, getattr(args, "bundle_path", None))
    except BundleError as exc:
        print(inert(f"bundle: {exc}"), file=err)
        return 1
    size = result.path.stat().st_size
    print(inert(f"{result.path} ({size} bytes, {len(result.members)} files"
                + (f", {len(result.excluded)} left out: see BUNDLE.txt" if result.excluded else "") + ")"), file=out)
    print(inert(f"{result.sha256_path}: {result.sha256}"), file=out)
    sent = result.path
    if encrypt:
        from ops.upload import decrypt_command, encrypt_file

        sent = result.path.with_name(result.path.name + ".enc")
        if passphrase is None:
            passphrase = Secret.generate(32, "generated")
            secret_file = sent.with_name(sent.name + ".passphrase")
            write_atomic(secret_file, passphrase.reveal() + "\n", mode=0o600)
            print(inert(f"passphrase: in {secret_file} (0600); give it to the TAC engineer another way than the case "
                        "(phone, a separate mail)"), file=out)
        encrypt_file(result.path, sent, passphrase)
        print(inert(f"{sent} (encrypted; decrypt: {decrypt_command(sent.name)})"), file=out)
    if not upload_case:
        return 0
    from ops.upload import CXD_URL, UploadError, case_note, upload

    assert token is not None
    if console is None:
        from rich.console import Console

        console = Console(file=out, stderr=False)
    try:
        uploaded = upload(sent, upload_case, token, base_url=args.upload_url or CXD_URL, ca_bundle=args.ca_bundle,
                          retries=max(0, args.retries), backoff=max(0.0, args.retry_wait), console=console,
                          say=lambda text: print(inert(mask(text)), file=err))
    except (UploadError, OSError) as exc:
        print(inert(f"upload: {mask(str(exc))}"), file=err)
        return 1
    print(inert(f"uploaded {uploaded.name} to {uploaded.url} (HTTP {uploaded.status}, attempt {uploaded.attempts})"),
          file=out)
    print(inert("\nCase note:\n" + case_note(uploaded, upload_case, encrypted=encrypt,
                                             what=f"A finesse-ops bundle of run {run_dir.name} (index in BUNDLE.txt)."
                                             + (f" Before encryption: {result.path.name}, sha256 {result.sha256}."
                                                if encrypt else ""))),
          file=out)
    return 0
