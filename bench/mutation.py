"""Mutation testing of the modules that hold the README's guarantees (issue "Every guarantee proven", item 2).

Tool: mutmut 3.x (`pip install -e '.[mutation]'`). Chosen over cosmic-ray because it forks each mutant from a
process that has already imported pytest and the test modules, and runs only the tests that reach the
mutated function (it records that once, first): a mutant costs a fraction of a second here instead of a
fresh `pytest` start per mutant, which matters on a 2-core machine. It mutates function bodies only and
switches mutants at run time through a trampoline, so one copy of the tree serves every mutant.

mutmut writes a `mutants/` tree beside the project's sources, so each module is run on its own copy of
the repository under a scratch directory (never inside the work tree):

    python bench/mutation.py                       # every module below
    python bench/mutation.py secrets hostkey       # some of them
    python bench/mutation.py --list-survivors      # and print each surviving mutant's diff
    python bench/mutation.py --workdir /tmp/mut    # where the copies go ($TMPDIR/finesse-mutation)

It prints: module | mutants | killed | survived | timeout | equiv | score, where score is
(killed + timeout) / (mutants - equivalent). Mutants no selected test reaches ("no tests") count as survived.
The exit status is 1 if a module scores under --min-score (90 by default).

Each copy gets a top-level conftest.py that runs a mutant's tests fastest first (mutmut stops at the
first failure): the lab tests take seconds each, so a mutant a unit test kills is known dead at once.
Survivors still run every test that reaches them, which is what a module's time is mostly made of.
The same conftest empties ops' functools caches when each run starts (see ORDER_PLUGIN).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Target:
    name: str
    files: list[str]  # only these are mutated
    tests: list[str]  # the tests that prove the module's guarantees (a fast subset)
    deselect: str = ""  # a pytest -k expression: slow tests that start many labs
    functions: list[str] = field(default_factory=list)  # mutant name globs; empty: the whole file
    only: list[str] = field(default_factory=list)  # --only: a subset of those (a rerun of changed functions)


TARGETS = [
    Target("secrets", ["ops/secrets.py"],
           ["tests/test_secrets_scan.py", "tests/test_loader_bounds.py", "tests/test_preflight.py",
            "tests/test_mutants_secrets.py"],
           # One playbook of the end-to-end scan (the others start a lab each and prove nothing more about
           # this module); the masking-off checks replace Masker.mask and so cannot see a mutant of it.
           deselect="not (test_no_secret_in_run_directory_output_or_logs and not health-check)"
                    " and not test_the_scan_sees_a_leak_when_masking_is_off"
                    " and not test_a_catastrophic_fail_when_fails"),
    Target("patterns", ["ops/patterns.py"],
           ["tests/test_loader_bounds.py", "tests/test_mutants_patterns.py"]),
    Target("yamlsource", ["ops/yamlsource.py"],
           ["tests/test_bad_inputs.py", "tests/test_loader_bounds.py", "tests/test_mutants_yamlsource.py"],
           deselect="not test_a_catastrophic_fail_when_fails"),
    # hostkey.py and the host-key policy in transport.py (not open_shell or the error wording helper).
    Target("hostkey", ["ops/session/hostkey.py", "ops/session/transport.py"],
           ["tests/test_transport.py", "tests/test_mutants_hostkey.py"],
           functions=["ops.session.hostkey.*", "ops.session.transport.x__key_label__mutmut_*",
                      "ops.session.transport.x__read_known_hosts__mutmut_*",
                      "ops.session.transport.xǁ_HostKeyCheckǁ*", "ops.session.transport.x_connect__mutmut_*"]),
    Target("parsers.activelog", ["ops/parsers/activelog.py"],
           ["tests/test_parsers_activelog.py", "tests/test_parsers_captured.py", "tests/test_pull_e2e.py",
            "tests/test_faults.py", "tests/test_mutants_activelog.py"],
           deselect="not twenty_hosts"),
    # The arrival checks: what the appliance announced against what arrived whole, and what is missing.
    Target("actions.activelog", ["ops/actions/activelog.py"],
           ["tests/test_parsers_activelog.py", "tests/test_pull_e2e.py", "tests/test_faults.py",
            "tests/test_mutants_activelog.py", "tests/test_appliance_clock.py"],
           deselect="not twenty_hosts",
           functions=["ops.actions.activelog.x__window__mutmut_*",
                      "ops.actions.activelog.x\u01c1ActivelogAction\u01c1_pull__mutmut_*",
                      "ops.actions.activelog.x\u01c1ActivelogAction\u01c1_missing__mutmut_*",
                      "ops.actions.activelog.x\u01c1ActivelogAction\u01c1_listing__mutmut_*",
                      "ops.actions.activelog.x__failure_message__mutmut_*"]),
    # The appliance's clock and zone (ApplianceClock) and the zone names checked where they are read.
    Target("timezones", ["ops/timezones.py"],
           ["tests/test_appliance_clock.py", "tests/test_unattended.py", "tests/test_bad_inputs.py"]),
    Target("channel", ["ops/session/channel.py"],
           ["tests/test_session_channel.py", "tests/test_session_invariants.py", "tests/test_mutants_channel.py"]),
    # The connect retries in driver.py (transient failures retried with backoff, refused credentials never);
    # which errors are transient is decided in transport.connect, mutated under "hostkey".
    Target("retries", ["ops/session/driver.py"],
           ["tests/test_faults.py::test_fault_fails_its_host_clearly_and_others_finish[refused]",
            "tests/test_faults.py::test_fault_fails_its_host_clearly_and_others_finish[auth_failure]",
            "tests/test_faults.py::test_an_authentication_failure_is_never_retried",
            "tests/test_mutants_retries.py"],
           functions=["ops.session.driver.x\u01c1Driver\u01c1_connect__mutmut_*",
                      "ops.session.driver.x\u01c1Driver\u01c1__init____mutmut_*"]),
    # The receiver's path jail (resolution, links, directories, renames, opening), its quotas and its
    # commit and teardown (temporary names, commit, abort): not the metadata calls, listings or the
    # batching of writes to worker threads (the whole of both files is 820 mutants, too slow here).
    # Through asyncssh, paramiko and OpenSSH clients over loopback, and the upload engine directly.
    Target("receiver", ["ops/receiver/jail.py", "ops/receiver/uploads.py"],
           ["tests/test_receiver.py", "tests/test_receiver_limits.py", "tests/test_receiver_clients.py",
            "tests/test_mutants_receiver.py"],
           functions=["ops.receiver.jail.x_closing_during_teardown__mutmut_*"]
           + [f"ops.receiver.jail.x\u01c1JailedSFTPServer\u01c1{name}__mutmut_*"
              for name in ("_resolve", "_resolve_nonroot", "realpath", "mkdir", "rmdir", "remove", "rename",
                           "readlink", "symlink", "link", "open", "_fd", "close", "exit")]
           + ["ops.receiver.uploads.x_is_temp_name__mutmut_*", "ops.receiver.uploads.x__temp_path__mutmut_*"]
           + [f"ops.receiver.uploads.x\u01c1UploadEngine\u01c1{name}__mutmut_*"
              for name in ("begin", "write", "abort", "abort_all", "_release", "_abort_now", "_discard_files",
                           "finish", "_finish_drained", "_commit", "_discard_committed")]),
]

# Surviving mutants that cannot change behaviour, with the reason. Keys are mutmut's mutant names; they
# shift when the mutated function changes, and a stale key is reported (so it is looked at again).
EQUIVALENT: dict[str, str] = {
    # secrets
    "ops.secrets.x_resolve__mutmut_49": "read(MAX + 2) for read(MAX + 1): any length over MAX is refused either way",
    "ops.secrets.x\u01c1Masker\u01c1register__mutmut_9": 'quote(safe="XXXX") for safe="": X is never quoted',
    "ops.secrets.x\u01c1Secret\u01c1__hash____mutmut_2": "another constant tag in the hashed tuple: hashes only group",
    "ops.secrets.x\u01c1Secret\u01c1__hash____mutmut_3": "same as _2 (tag 'secret')",
    "ops.secrets.x\u01c1Secret\u01c1__hash____mutmut_4": "same as _2 (tag 'SECRET')",
    # patterns
    "ops.patterns.x_compile_pattern__mutmut_1": "default flags 1 is regex.TEMPLATE, a no-op kept for re compatibility",
    # actions.activelog
    "ops.actions.activelog.x\u01c1ActivelogAction\u01c1_pull__mutmut_98": "dialog(check=None) for check=False: "
                                                                        "only tested for truth",
    "ops.actions.activelog.x\u01c1ActivelogAction\u01c1_pull__mutmut_138": "changed=False left out: it is "
                                                                         "StepResult's default",
    "ops.actions.activelog.x\u01c1ActivelogAction\u01c1_pull__mutmut_235": "missing None for [] when nothing was "
                                                                         "listed: _failure_message only tests it "
                                                                         "for truth",
    "ops.actions.activelog.x\u01c1ActivelogAction\u01c1_pull__mutmut_237": "same as _pull_235 (.get default None)",
    "ops.actions.activelog.x__failure_message__mutmut_4": "split(None, 1) for split(': ', 1): host names hold no "
                                                          "blank or ':' (inventory NAME_RE), so both cut after 'host:'",
    # channel
    "ops.session.channel.x\u01c1VOSChannel\u01c1__init____mutmut_18": "_view None for \"\" at the start: "
                                                                  "_normalized() computes \"\" from the empty buffer",
    "ops.session.channel.x\u01c1VOSChannel\u01c1__init____mutmut_29": "banner None before login: login() sets it "
                                                                  "before returning it; nothing else reads it",
    "ops.session.channel.x\u01c1VOSChannel\u01c1__init____mutmut_30": "same as _29 (banner 'XXXX' before login)",
    "ops.session.channel.x\u01c1VOSChannel\u01c1__init____mutmut_34": "_last_rx None at the start: the read that "
                                                                  "brings the first prompt sets it before _settle",
    "ops.session.channel.x\u01c1VOSChannel\u01c1__init____mutmut_36": "_synced None for False: only ever tested "
                                                                  "for truth (synchronized is falsy either way)",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_normalized__mutmut_4": "clean(\"\") is \"\": computing it "
                                                                    "for an empty tail gives the same view",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_read_chunk__mutmut_4": "read(65537) for read(65536): the channel "
                                                                    "works on the text, whatever the chunk sizes",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_read_within__mutmut_4": "same as _read_chunk_4",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_read_chunk__mutmut_9": "rsplit with no maxsplit: its last "
                                                                    "element is the same",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_read_chunk__mutmut_15": "rsplit maxsplit 2: its last element "
                                                                     "is the same",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_read_echoed_line__mutmut_16": "split with no maxsplit: its "
                                                                            "first element is the same",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_read_echoed_line__mutmut_21": "split maxsplit 2: its first "
                                                                            "element is the same",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_lose__mutmut_4": "_synced None after a loss: _lost is set in the "
                                                              "same call and every use of _synced is behind it",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_lose__mutmut_5": "same as _lose_4 (_synced True after a loss)",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_dialog_body__mutmut_13": "rfind start None is 0",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_dialog_body__mutmut_20": "rfind start 1: differs only when the "
                                                                      "one newline is at 0, and max(0, -1) is 0 too",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_dialog_body__mutmut_22": "rfind end len-2: differs only when "
                                                                      "the text ends '\\n' + one character, where no "
                                                                      "'<user>:' prompt can end either way",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_dialog_body__mutmut_57": "zip(strict=None): patterns is built "
                                                                      "from answers one for one, lengths always equal",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_dialog_body__mutmut_60": "same as _57 (strict left out)",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_dialog_body__mutmut_61": "same as _57 (strict=False)",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_answer_pager__mutmut_6": "the pager search starts 2 characters "
                                                                      "earlier: a pager prompt cannot start there "
                                                                      "(it begins with a word and holds no newline)",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_answer_pager__mutmut_8": "rfind start None is 0",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_answer_pager__mutmut_15": "as _dialog_body_20 (rfind start 1)",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_answer_pager__mutmut_17": "as _dialog_body_22 (rfind end len-2): "
                                                                       "no pager prompt ends in a 1-character line",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_answer_pager__mutmut_23": "group(2) for group(1): PAGER_RE sets "
                                                                       "both groups or neither",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_strip_prompt__mutmut_4": "login() only passes it text that "
                                                                      "read_until(prompt_re) returned, which holds "
                                                                      "the prompt",
    "ops.session.channel.x\u01c1VOSChannel\u01c1dialog__mutmut_13": "range(retries + 2): the loop breaks at "
                                                                "attempt == retries, so the extra round never runs",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_send_command_line__mutmut_16": "_synced None for False: only "
                                                                            "tested for truth",
    "ops.session.channel.x\u01c1VOSChannel\u01c1__init____mutmut_1": "default timeout 61 for 60: never used, the "
        "driver passes the inventory's timeout",
    "ops.session.channel.x\u01c1VOSChannel\u01c1__init____mutmut_4": "default settle 1.5 for 0.5: never used, the "
        "driver passes the inventory's settle (whose own default, 0.5, test_session_invariants.py checks)",
    "ops.session.channel.x\u01c1VOSChannel\u01c1login__mutmut_1": "default login timeout 61 for 60: never used, the "
        "driver passes the inventory's login_timeout or timeout",
    "ops.session.channel.x\u01c1VOSChannel\u01c1_settle__mutmut_20": "remaining < 0 for <= 0: they differ only "
        "when the monotonic clock reads exactly the last byte's time plus the window; the loop then reads what is "
        "buffered and comes back with remaining below 0",
    # receiver
    "ops.receiver.jail.x\u01c1JailedSFTPServer\u01c1mkdir__mutmut_4": "OSError(None, 'File exists') for EEXIST: "
        "SFTP 3, the only version served, has no 'already exists' status, so both go out as FX_FAILURE "
        "'File exists' (only asyncssh's debug log differs)",
    "ops.receiver.jail.x\u01c1JailedSFTPServer\u01c1mkdir__mutmut_6": "same as mkdir_4 (OSError('File exists'): "
        "no errno, the reason is its text)",
    "ops.receiver.uploads.x\u01c1UploadEngine\u01c1begin__mutmut_11": "O_NOFOLLOW & O_CLOEXEC (0): with O_CREAT | "
        "O_EXCL, open never follows a symlink (POSIX), and os.open makes descriptors non-inheritable anyway (PEP 446)",
    "ops.receiver.uploads.x\u01c1UploadEngine\u01c1write__mutmut_37": "in_order None for False: only tested for truth",
    "ops.receiver.uploads.x\u01c1UploadEngine\u01c1write__mutmut_45": "flushes sooner once a batch has gone: only "
        "when gathered data goes to the worker thread changes, not the bytes, their order or the digest",
    "ops.receiver.uploads.x\u01c1UploadEngine\u01c1write__mutmut_46": "flush at more than 1 MiB, not at exactly 1 MiB: "
        "as write_45, only when the batch is handed on",
    "ops.receiver.uploads.x\u01c1UploadEngine\u01c1write__mutmut_48": "the value a write returns: asyncssh answers a "
        "WRITE with FX_OK and ignores it",
    "ops.receiver.uploads.x\u01c1UploadEngine\u01c1_release__mutmut_6": "os.close of the upload's own descriptor, "
        "closed only here (once, behind the done guard), never fails",
    "ops.receiver.jail.x\u01c1JailedSFTPServer\u01c1_fd__mutmut_1": "the reason for a handle of an aborted upload: "
        "the protocol cannot present one (exit() forgets a session's uploads as it aborts them; remove_account and "
        "abort_all close the connection first), and tests may not reach the jail's private members "
        "(tests/test_architecture.py)",
    "ops.receiver.jail.x\u01c1JailedSFTPServer\u01c1_fd__mutmut_3": "same as _fd_1 ('UPLOAD WAS ABORTED')",
    "ops.receiver.jail.x\u01c1JailedSFTPServer\u01c1_fd__mutmut_5": "the reason for a handle that is neither an upload "
        "nor a read handle: asyncssh only hands the server back handles it returned",
    "ops.receiver.uploads.x\u01c1UploadEngine\u01c1abort_all__mutmut_10": "sleep(1) for sleep(0) after the writes "
        "were waited for: the abort callbacks run either way, a second later",
    "ops.receiver.jail.x_closing_during_teardown__mutmut_3": "_getframe(3) for (2): equivalent only under mutmut, "
        "whose trampoline adds frames between close() and its caller; applied by hand it fails three teardown tests "
        "(test_the_nearest_of_a_client_close_and_a_teardown_decides and two more)",
    # retries
    "ops.session.driver.x\u01c1Driver\u01c1__init____mutmut_6": "the default on_retry returns 0 for None: its "
                                                                "return value is never used",
    "ops.session.driver.x\u01c1Driver\u01c1_connect__mutmut_10": "range(1, attempts + 2): the last attempt "
                                                                "returns or raises, so the extra one never starts",
    "ops.session.driver.x\u01c1Driver\u01c1_connect__mutmut_30": "the message of the AssertionError after the loop, "
                                                                "which only retries < 0 reaches (the inventory "
                                                                "allows 0-10)",
    "ops.session.driver.x\u01c1Driver\u01c1_connect__mutmut_31": "same as _30 ('XXunreachableXX')",
    "ops.session.driver.x\u01c1Driver\u01c1_connect__mutmut_32": "same as _30 ('UNREACHABLE')",
}

ALSO_COPY = ["inventory.yaml", "playbooks/", "bench/", "README.md", "conftest.py"]
# Written into each scratch copy (never the repository). mutmut hands a mutant's tests to pytest in no
# particular order and stops at the first failure, so the fast ones go first (by the durations of its
# first, clean run): the order changes no verdict, only how soon a killed mutant is known dead. And
# mutmut forks each mutant's run from the process that ran the clean tests, so a functools cache
# (channel.py's echo patterns) would hand the mutant what the unmutated code computed: every cache
# in ops is emptied when a run starts (without this, mutants of _echo_body "survive" untested).
ORDER_PLUGIN = '''"""Written by bench/mutation.py: a mutant's tests run fastest first, on empty caches."""
import json
import sys
from pathlib import Path


def pytest_sessionstart(session):
    for name, module in list(sys.modules.items()):
        if name == "ops" or name.startswith("ops."):
            for value in list(vars(module).values()):
                if getattr(value, "__module__", None) == name and callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


def pytest_collection_modifyitems(config, items):
    stats = Path("mutmut-stats.json")
    if stats.exists():
        durations = json.loads(stats.read_text()).get("duration_by_test", {})
        items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
'''
STATUS = re.compile(r"^\s+(\S+): (.+)$")
IGNORE = shutil.ignore_patterns(".venv", ".git", "mutants", "__pycache__", ".pytest_cache", ".mypy_cache",
                                ".ruff_cache", ".hypothesis", "*.egg-info")


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items) + "]"


def prepare(target: Target, workdir: Path) -> Path:
    """A fresh copy of the repository with a [tool.mutmut] section for `target`."""
    copy = workdir / target.name
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(REPO, copy, ignore=IGNORE)
    if (copy / "conftest.py").exists():
        raise SystemExit("the repository has a top-level conftest.py: bench/mutation.py would overwrite it")
    (copy / "conftest.py").write_text(ORDER_PLUGIN)
    tests = [t for t in target.tests if (REPO / t.split("::")[0]).exists()]  # a file or a test's node id
    selection = list(tests)
    if target.deselect:
        selection += ["-k", target.deselect]
    config = (
        "\n[tool.mutmut]\n"
        'source_paths = ["ops"]\n'
        # mutmut runs the tests inside mutants/: the files they read from the repository must be there too.
        f"also_copy = {_toml_list(ALSO_COPY)}\n"
        f"only_mutate = {_toml_list(target.files)}\n"
        f"pytest_add_cli_args = {_toml_list(['-p', 'no:cacheprovider', '-p', 'no:xdist', '-q'])}\n"
        f"pytest_add_cli_args_test_selection = {_toml_list(selection)}\n"
        "use_git_change_detection = false\n"
        "timeout_multiplier = 5.0\n"
        "timeout_constant = 10.0\n"
    )
    pyproject = copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + config)
    return copy


def mutmut(copy: Path, *args: str, log: Path | None = None) -> str:
    binary = Path(sys.executable).parent / "mutmut"
    env = dict(os.environ, TMPDIR=str(copy.parent / "tmp"), PYTHONDONTWRITEBYTECODE="1")
    (copy.parent / "tmp").mkdir(exist_ok=True)
    done = subprocess.run([str(binary), *args], cwd=copy, env=env, capture_output=True, text=True)
    if log is not None:
        log.write_text(done.stdout + done.stderr)
    return done.stdout + done.stderr


def _wanted(name: str, target: Target) -> bool:
    from fnmatch import fnmatch

    return all(not globs or any(fnmatch(name, pattern) for pattern in globs)
               for globs in (target.functions, target.only))


def run_target(target: Target, workdir: Path, children: int) -> dict[str, str]:
    copy = prepare(target, workdir)
    mutmut(copy, "run", "--max-children", str(children), *(target.only or target.functions),
           log=workdir / f"{target.name}.log")
    statuses: dict[str, str] = {}
    for line in mutmut(copy, "results", "--all", "true").splitlines():
        match = STATUS.match(line)
        if match and _wanted(match.group(1), target):
            statuses[match.group(1)] = match.group(2).strip()
    return statuses


DEAD = ("killed", "caught by type check", "timeout")


def summarize(name: str, statuses: dict[str, str]) -> tuple[list[str], float]:
    """Print the module's row; returns its survivors and its score."""
    killed = sum(s in ("killed", "caught by type check") for s in statuses.values())
    timeout = sum(s == "timeout" for s in statuses.values())
    # An entry of EQUIVALENT whose mutant a test kills was not equivalent: it counts as killed (and is
    # reported below), never twice.
    equivalent = [m for m, s in statuses.items() if m in EQUIVALENT and s not in DEAD]
    survived = [m for m, s in statuses.items() if s not in DEAD and m not in EQUIVALENT]
    total = len(statuses)
    tested = total - len(equivalent)
    score = 100.0 * (killed + timeout) / tested if tested else 0.0
    print(f"| {name} | {total} | {killed} | {len(survived)} | {timeout} | {len(equivalent)} | {score:.1f}% |",
          flush=True)
    return survived, score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help="names from: " + ", ".join(t.name for t in TARGETS))
    parser.add_argument("--workdir", type=Path,
                        default=Path(os.environ.get("TMPDIR", tempfile.gettempdir())) / "finesse-mutation")
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--min-score", type=float, default=90.0)
    parser.add_argument("--list-survivors", action="store_true", help="print each survivor's diff")
    parser.add_argument("--only", action="append", default=[], metavar="GLOB",
                        help="only the mutants whose names match (e.g. '*_dialog_body__mutmut_*'), within the "
                             "module's own selection: a rerun of the functions changed since a full run")
    args = parser.parse_args(argv)
    targets = [t for t in TARGETS if not args.modules or t.name in args.modules]
    if args.modules and len(targets) != len(args.modules):
        parser.error("unknown module: " + ", ".join(set(args.modules) - {t.name for t in TARGETS}))
    if args.only:
        targets = [dataclasses.replace(t, only=list(args.only)) for t in targets]
    args.workdir.mkdir(parents=True, exist_ok=True)
    if REPO in args.workdir.resolve().parents or args.workdir.resolve() == REPO:
        parser.error("--workdir must be outside the repository")

    print("| module | mutants | killed | survived | timeout | equiv | score |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |", flush=True)
    failing = False
    report: list[tuple[Target, list[str]]] = []
    seen: set[str] = set()
    killed_equivalent: list[str] = []
    for target in targets:
        statuses = run_target(target, args.workdir, args.max_children)
        seen |= set(statuses)
        if not statuses or all(s == "not checked" for s in statuses.values()):
            print(f"| {target.name} | mutmut found nothing: see {args.workdir / (target.name + '.log')} |")
            failing = True
            continue
        survived, score = summarize(target.name, statuses)
        failing |= score < args.min_score
        report.append((target, [f"{m} ({statuses[m]})" for m in survived]))
        killed_equivalent.extend(m for m, s in statuses.items() if m in EQUIVALENT and s in DEAD)
    for target, survived in report:
        if survived:
            print(f"\nsurvivors in {target.name}:")
            for line in survived:
                print("  " + line)
                if args.list_survivors:
                    diff = mutmut(args.workdir / target.name, "show", line.split()[0])
                    print("    " + "\n    ".join(diff.strip().splitlines()[1:]))
    stale = [m for m in EQUIVALENT
             if m not in seen and any(m.startswith(_prefix(t)) and _wanted(m, t) for t in targets)]
    if stale:
        print("\nequivalent-mutant entries that no longer match a mutant (look again):", *stale, sep="\n  ")
    if killed_equivalent:
        print("\nequivalent-mutant entries whose mutant a test kills (not equivalent; counted as killed):",
              *killed_equivalent, sep="\n  ")
    return 1 if failing else 0


def _prefix(target: Target) -> str:
    return target.files[0][:-3].replace("/", ".") + "."


if __name__ == "__main__":
    sys.exit(main())
