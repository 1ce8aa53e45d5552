"""The `ops` command: run, validate, lab.

Exit codes: 0 everything ok, 1 a host failed, 2 bad input (playbook, inventory, flags), 75 another
run of the same playbook holds its lock, 130 interrupted (the report is still written).
A reader that goes away (`ops schema | head`, `ops run ... | head`) changes none of that: what can no
longer be written is dropped, the command carries on (a run to its end, report written) and exits
with its own code.
Heavy modules (asyncssh, pydantic models, the lab) are imported inside the commands, so
`ops --help` starts fast.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ops.textsafe import inert

if TYPE_CHECKING:
    from ops.inventory import Inventory
    from ops.playbook import Playbook

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
EXIT_LOCKED = 75  # EX_TEMPFAIL: another run of the playbook is still going; cron/systemd retry later


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ops", description="Automate Cisco Finesse / VOS appliance chores "
                                     "from YAML playbooks.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a playbook against the inventory's hosts")
    run.add_argument("playbook", type=Path)
    run.add_argument("-i", "--inventory", type=Path, default=Path("inventory.yaml"))
    run.add_argument("-l", "--limit", help="only hosts matching this pattern (host, group, glob, a,b, !x)")
    run.add_argument("--check", action="store_true", help="print what each host would get; touch nothing")
    run.add_argument("-v", "--verbose", action="count", default=0,
                     help="-v every step event and its output; -vv every line of each CLI session; "
                          "-vvv SSH-level debug (all masked)")
    run.add_argument("-o", "--output", type=Path, default=Path("collected"), help="where run directories go")
    run.add_argument("-f", "--forks", type=_positive, default=20, help="hosts run at once (default 20)")
    run.add_argument("--timeout", type=_seconds, default=60.0, help="seconds to wait for a silent appliance")
    run.add_argument("--no-progress", action="store_true", help="plain lines instead of the live table")
    run.add_argument("--resume", metavar="RUN_ID", help="run again into that run directory (a run id under "
                     "--output, a run directory, or 'latest': this playbook's newest run), fetching only the "
                     "files it lacks or holds damaged (checked by size and sha256)")
    run.add_argument("-q", "--quiet", action="store_true", help="print only failures (on stderr); for cron")
    run.add_argument("--json", action="store_true", help="JSON lines on stdout: one object per event (host_started, "
                     "step_finished, file_received, host_finished ...), then the recap; for jq and other programs")
    run.add_argument("--list-hosts", action="store_true", help="print the hosts the run would target, then stop")
    run.add_argument("--list-steps", action="store_true",
                     help="print the steps that would run (tags applied), then stop")
    from ops.reportflags import add_run_arguments

    add_run_arguments(run)  # --metrics PATH
    _selection_arguments(run)

    validate = sub.add_parser("validate", help="check a playbook (and inventory) without touching any host")
    validate.add_argument("playbook", type=Path)
    validate.add_argument("-e", "--extra-vars", action="append", default=[], metavar="VARS",
                          help="as ops run -e")
    validate.add_argument("-i", "--inventory", type=Path, default=Path("inventory.yaml"),
                          help="the inventory to check against (default: inventory.yaml, as `ops run`)")

    init = sub.add_parser("init", help="write a starter inventory (two lab hosts, a real one to fill in) and the "
                          "shipped playbooks into a directory")
    init.add_argument("directory", nargs="?", type=Path, default=Path("."))
    init.add_argument("--force", action="store_true", help="overwrite files that exist")

    lab = sub.add_parser("lab", help="run a lab appliance (VOS CLI emulator) in the foreground")
    lab.add_argument("--host", default="127.0.0.1")
    lab.add_argument("--port", type=int, default=2222)
    lab.add_argument("--hostname", default="finesse-a")
    lab.add_argument("--username", default="admin")
    lab.add_argument("--password-env", default="OPS_LAB_PASSWORD",
                     help="environment variable holding the admin password (default OPS_LAB_PASSWORD)")
    _add_artifact_commands(sub)
    add_finesse_commands(sub)
    return parser


def add_finesse_commands(sub: Any) -> None:
    """`ops finesse export|diff` on the `ops` command's subparsers (ops.finesse_export does the work;
    its parser is here, so `ops --help` does not import the actions and the REST stack)."""
    finesse = sub.add_parser("finesse", help="Finesse configuration as code: export a cluster's configuration as "
                                             "finesse_config YAML, or diff two clusters")
    actions = finesse.add_subparsers(dest="finesse_command", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="write HOST's cluster configuration as a playbook with one "
                                               "finesse_config step")
    export.add_argument("host", metavar="HOST", help="an inventory host (a node of the cluster)")
    export.add_argument("-i", "--inventory", type=Path, default=Path("inventory.yaml"))
    export.add_argument("-o", "--output", type=Path, default=None, help="the playbook to write (default: stdout)")
    diff = actions.add_parser("diff", help="what would change on TARGET to give it SOURCE's configuration")
    diff.add_argument("source", metavar="SOURCE", help="the inventory host whose cluster is the model")
    diff.add_argument("target", metavar="TARGET", help="the inventory host whose cluster would change")
    diff.add_argument("-i", "--inventory", type=Path, default=Path("inventory.yaml"))
    diff.add_argument("--prune", action="store_true", help="show what TARGET has and SOURCE has not as deletes")


def _selection_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("-e", "--extra-vars", action="append", default=[], metavar="VARS",
                     help="variables over all others, as Ansible's -e: key=value (text), a YAML/JSON mapping, or "
                          "@FILE (YAML); repeatable, the last wins")
    run.add_argument("-t", "--tags", action="append", default=[], metavar="TAGS",
                     help="only steps with one of these tags (comma-separated; always/never/tagged/untagged/all)")
    run.add_argument("--skip-tags", action="append", default=[], metavar="TAGS", help="leave out steps with these tags")
    run.add_argument("--start-at-step", metavar="NAME", help="begin at the step of this name (earlier ones are left "
                     "out, as Ansible's --start-at-task)")


def _extra_vars(values: list[str]) -> dict[str, Any]:
    """Ansible's -e forms, in order (a later one wins); ValueError says which one and why."""
    import shlex

    import yaml

    from ops.playbook import VAR_NAME_RE
    from ops.yamlsource import InputError, load

    merged: dict[str, Any] = {}
    for value in values:
        if value.startswith("@"):
            try:
                data = load(Path(value[1:]).expanduser(), "extra vars file").data
            except InputError as exc:
                raise ValueError(str(exc)) from None
            where = value
        elif value.lstrip().startswith(("{", "[")):
            try:
                data = yaml.safe_load(value)
            except yaml.YAMLError as exc:
                # Neither the value nor the parser's excerpt of it: an -e may carry a password.
                mark = getattr(exc, "problem_mark", None)
                where = f" at column {mark.column + 1}" if mark is not None else ""
                raise ValueError(f"-e: not a YAML/JSON mapping (a syntax error{where})") from None
            where = "-e"
        else:
            data = {}
            for word in shlex.split(value):
                key, sep, text = word.partition("=")
                if not sep:
                    raise ValueError(f"-e {word!r}: use key=value, a {{...}} mapping, or @FILE")
                data[key] = text
            where = "-e"
        if data is None:
            continue
        if not isinstance(data, dict):
            raise ValueError(f"{where}: extra vars are a mapping of names to values")
        for key in data:
            if not isinstance(key, str) or not VAR_NAME_RE.fullmatch(key):
                raise ValueError(f"{where}: {key!r} is not a variable name (letters, digits and '_')")
        merged.update(data)
    return merged


def _words(values: list[str]) -> list[str]:
    return [w.strip() for v in values for w in v.split(",") if w.strip()]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("finesse-ops")
    except PackageNotFoundError:  # run from a source tree that was never installed
        from ops import __version__

        return __version__


def _seconds(text: str) -> float:
    """A number of seconds: finite and above zero (nan, inf and negatives are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a number of seconds above 0")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _err(text: str) -> None:
    """An error for the admin's terminal: what came from outside in it is shown, never run (ops.textsafe)."""
    print(inert(text), file=sys.stderr)


class _ReaderGone:
    """stdout or stderr for a reader that may go away (`ops run ... | head`): once the pipe is broken,
    what is written is dropped instead of raising BrokenPipeError in the middle of a command."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._drop()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._drop()

    def _drop(self) -> None:
        self.broken = True
        # What stays buffered is flushed again when the interpreter exits: the descriptor now leads
        # to /dev/null, so that flush is silent too.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._stream.fileno())
            finally:
                os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command not in _OFFLINE_COMMANDS:  # these read and write files only: no SSH, no lab
        from ops import sshpatches
        from ops.lab.provider import install as install_lab

        sshpatches.apply()  # asyncssh, as this process uses it (ops.sshpatches says why)
        install_lab()  # the entry point plugs the lab in: `lab:` hosts are checked and started
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _ReaderGone(stdout), _ReaderGone(stderr)  # type: ignore[assignment]
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "validate":
            return _validate(args)
        if args.command == "init":
            return _init(args)
        if args.command in _ARTIFACT_COMMANDS:
            return _ARTIFACT_COMMANDS[args.command](args)
        if args.command == "finesse":
            from ops.finesse_export import handle as finesse_handle

            return finesse_handle(args)
        return _lab(args)
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        sys.stdout, sys.stderr = stdout, stderr


def _load(args: argparse.Namespace, inventory_path: Path | None) -> tuple[Playbook, Inventory | None] | None:
    """The playbook (checked against the inventory, if given); None, with the error printed, if either is bad."""
    from ops.inventory import load_inventory
    from ops.playbook import load_playbook
    from ops.yamlsource import InputError

    try:
        extra = _extra_vars(getattr(args, "extra_vars", []))
    except ValueError as exc:
        _err(str(exc))
        return None
    try:
        inventory = load_inventory(inventory_path) if inventory_path is not None else None
        playbook = load_playbook(args.playbook, inventory, extra_vars=extra)
    except InputError as exc:
        _err(str(exc))
        return None
    for warning in playbook.warnings:
        _err(f"[DEPRECATION WARNING] {warning}")
    return playbook, inventory


def _init(args: argparse.Namespace) -> int:
    """`ops init [DIR]`: the starter files from the package, so a `pip install` needs no clone."""
    from importlib.resources import files

    from ops.fileio import write_atomic

    starter = files("ops") / "starter"
    items = [("inventory.yaml", starter / "inventory.yaml")]
    items += [(f"playbooks/{entry.name}", entry) for entry in sorted((starter / "playbooks").iterdir(),
                                                                     key=lambda e: e.name)
              if entry.name.endswith(".yaml")]
    target: Path = args.directory
    existing = [name for name, _ in items if (target / name).exists()]
    if existing and not args.force:
        _err(f"{target}: {', '.join(existing)} exist already; nothing was written (--force overwrites)")
        return EXIT_BAD_INPUT
    for name, source in items:
        write_atomic(target / name, source.read_text(encoding="utf-8"))
    print(inert(f"wrote {target / 'inventory.yaml'} (two lab appliances, a real node to fill in) and "
                f"{len(items) - 1} playbooks in {target / 'playbooks'}"))
    print(inert(f"next: cd {target} && ops run playbooks/pull-desktop-logs.yaml"))
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    loaded = _load(args, args.inventory)
    if loaded is None:
        return EXIT_BAD_INPUT
    playbook, inventory = loaded
    from ops.preflight import PreflightError, preflight

    try:
        preflight(playbook, inventory, ask=False)
    except PreflightError as exc:
        for problem in exc.problems:
            _err(f"{args.playbook}: {problem}")
        return EXIT_BAD_INPUT
    hosts = f", {len(playbook.targets)} host(s)" if inventory is not None else ""
    print(inert(f"{args.playbook}: ok ({len(playbook.steps)} steps{hosts})"))
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from ops.report import recap_json, recap_lines
    from ops.runner import RunOptions
    from ops.textsafe import inert

    loaded = _load(args, args.inventory)
    if loaded is None:
        return EXIT_BAD_INPUT
    playbook, inventory = loaded
    assert inventory is not None, "-i has a default"
    if args.limit:
        allowed = {h.name for h in inventory.select(args.limit)}
        playbook.targets = [h for h in playbook.targets if h.name in allowed]
        if not playbook.targets:
            _err(f"--limit {args.limit!r} leaves no host of the playbook's {playbook.hosts!r}")
            return EXIT_BAD_INPUT
    from ops.playbook import select_steps

    try:
        playbook.steps = select_steps(playbook.steps, _words(args.tags), _words(args.skip_tags), args.start_at_step)
    except ValueError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    if args.list_hosts:
        print(inert(f"play [{playbook.name}] ({len(playbook.targets)} hosts):"))
        for host in playbook.targets:
            print(inert(f"  {host.name}"))
        return EXIT_OK
    if args.list_steps:
        print(inert(f"play [{playbook.name}] ({len(playbook.steps)} steps):"))
        for step in playbook.steps:
            tags = f"  TAGS: [{', '.join(step.tags)}]" if step.tags else ""
            print(inert(f"  {step.name}  ({step.action.name}){tags}"))
        return EXIT_OK
    if not playbook.steps:
        _err("the tags and --start-at-step leave no step to run")
        return EXIT_BAD_INPUT
    output, run_id = args.output, None
    if args.resume:
        resumed = _resume_dir(args.resume, args.output, playbook.path)
        if resumed is None:
            return EXIT_BAD_INPUT
        run_id = resumed.name
        if resumed.parent.resolve() != args.output.resolve():
            output = resumed.parent  # a run directory given by its path: its state and lock are beside it
    from ops.progress import JsonLines, LiveProgress, PlainProgress
    from ops.runner import Runner

    live = sys.stdout.isatty() and not (args.no_progress or args.quiet or args.verbose or args.check or args.json)
    progress: LiveProgress | PlainProgress | JsonLines
    if args.json:
        progress = JsonLines()
    elif live:
        progress = LiveProgress([h.name for h in playbook.targets])
    else:
        progress = PlainProgress(verbose=max(args.verbose, 1 if args.check else 0), quiet=args.quiet)
    from ops.logconfig import configure

    configure(args.verbose, quiet=args.quiet)
    forks = args.forks
    if not args.check:
        from ops.rlimits import TooFewFiles, fit_forks, raise_open_files

        limit = raise_open_files()
        try:
            forks = fit_forks(args.forks, limit, sum(1 for h in playbook.targets if h.lab is not None))
        except TooFewFiles as exc:
            _err(f"refused before any host was touched: {exc}")
            return EXIT_FAILED
        if forks < min(args.forks, len(playbook.targets)):
            _err(f"note: {forks} hosts at once instead of {args.forks}: the open-files limit is {limit} "
                 "(ulimit -n; the hard limit caps it)")
    options = RunOptions(output=output, forks=forks, check=args.check,
                         command_timeout=args.timeout, run_id=run_id, resume=bool(args.resume))
    runner = Runner(playbook, inventory, options, on_event=progress.event)
    runner.on_ready = progress.start
    if not (args.quiet or args.json):
        print(inert(f"PLAY [{playbook.name}] on {len(playbook.targets)} host(s)"), flush=True)
    interrupted = False
    from ops.preflight import PreflightError
    from ops.runner import ResumeError
    from ops.state import RunLocked

    try:
        asyncio.run(runner.run())
    except KeyboardInterrupt:
        interrupted = True
    except RunLocked as exc:
        progress.stop()
        _err(f"refused: {exc}")
        return EXIT_LOCKED
    except OSError as exc:  # a full disk, a read-only or vanished output directory
        progress.stop()
        where = f" {exc.filename}" if exc.filename else ""
        _err(f"the run stopped: cannot write{where}: {exc.strerror or exc}")
        _err(f"what was written is under {options.output / runner.run_id}")
        return EXIT_FAILED
    except ResumeError as exc:
        progress.stop()
        _err(str(exc))
        return EXIT_BAD_INPUT
    except PreflightError as exc:
        progress.stop()
        _err("refused before any host was touched:")
        for problem in exc.problems:
            _err(f"  {problem}")
        return EXIT_BAD_INPUT
    finally:
        progress.stop()
    report = runner.report
    if isinstance(progress, JsonLines):
        progress.write(recap_json(report, options.output / report.run_id, interrupted))
    elif not args.quiet:
        print("\nRECAP")
        for line in recap_lines(report):
            print(inert(line))
        if not args.check:
            print(inert(f"\nrun directory: {options.output / report.run_id}"))
    elif report.failed_hosts and not args.check and not interrupted:
        # -q prints only failures: say where their transcripts and report are.
        _err(f"run directory: {options.output / report.run_id}")
    if interrupted:
        _err(f"interrupted: report written to {options.output / report.run_id / 'report.json'}")
        return 130
    if args.metrics is not None and not args.check:
        from ops.metrics import after_run

        if after_run(args, report, options.output) is not None:
            return EXIT_FAILED
    return EXIT_FAILED if report.failed_hosts else EXIT_OK


def _resume_dir(ref: str, output: Path, playbook: Path) -> Path | None:
    """The run directory `--resume RUN_ID` names, as every RUN_ID is taken (a run id under `output`, a
    path to a run directory), where `latest` is this playbook's newest run; None, the error printed."""
    from ops.report import resolve_run_dir

    if ref == "latest":
        from ops.retention import runs_of

        runs = runs_of(output, playbook) if output.is_dir() else []
        if not runs:
            _err(f"cannot resume latest: no run of {playbook} with a report.json in {output}")
            return None
        return runs[-1]
    try:
        return resolve_run_dir(ref, output)
    except ValueError as exc:
        _err(f"cannot resume {ref}: {exc}")
        return None


def _lab(args: argparse.Namespace) -> int:
    import os

    from ops.lab.server import LabConfig, run_forever

    password = os.environ.get(args.password_env)
    if not password:
        _err(f"set {args.password_env} to the admin password the lab appliance should accept")
        return EXIT_BAD_INPUT
    run_forever(LabConfig(hostname=args.hostname, username=args.username, password=password), args.host, args.port)
    return EXIT_OK


# -- bundle, report, schema, schedule: what a run leaves behind, and what surrounds it ------------

def _add_artifact_commands(sub: Any) -> None:
    def run_id(p: argparse.ArgumentParser, optional: bool = False) -> None:
        p.add_argument("run_id", metavar="RUN_ID", nargs="?" if optional else None,
                       help="a run id under --output, a run directory, or 'latest'")
        p.add_argument("--output", type=Path, default=Path("collected"),
                       help="where run directories are (default ./collected)")

    bundle = sub.add_parser("bundle", help="one tar.gz of a run (files, manifests, masked transcripts, report) "
                                           "+ its sha256, for a TAC case")
    run_id(bundle)
    bundle.add_argument("-o", dest="bundle_path", type=Path, default=None,
                        help="the tar.gz to write (default <output>/<run-id>.tar.gz)")
    from ops.reportflags import add_bundle_arguments, add_report_arguments

    add_bundle_arguments(bundle)  # --encrypt, --passphrase, --upload CASE --token REF, ...
    report = sub.add_parser("report", help="print a run's recap; --html writes a self-contained HTML page; "
                                           "--history a page over many runs; --metrics a Prometheus text file")
    run_id(report, optional=True)
    add_report_arguments(report)  # --history [PLAYBOOK], --since AGE, --metrics PATH
    report.add_argument("--html", nargs="?", const="", default=None, metavar="PATH",
                        help="write the HTML page (default <run dir>/report.html)")
    report.add_argument("--json", action="store_true", help="the recap as one JSON object (hosts, counts, status)")

    schema = sub.add_parser("schema", help="print the JSON Schema of playbooks, the inventory or report.json")
    schema.add_argument("kind", nargs="?", choices=("playbook", "inventory", "report"), default="playbook")

    schedule = sub.add_parser("schedule", help="print a systemd timer + service and a crontab line for a "
                                               "recurring run (installs nothing)")
    schedule.add_argument("playbook", type=Path)
    schedule.add_argument("--every", required=True, help="15m, 30m, 1h, 6h, 1d, ...")
    schedule.add_argument("-i", "--inventory", type=Path, default=Path("inventory.yaml"))
    schedule.add_argument("--name", default=None, help="unit name (default ops-<playbook name>)")
    schedule.add_argument("--user", default=None, help="the account the service runs as (User=)")
    schedule.add_argument("--workdir", type=Path, default=None, help="working directory (default: here)")
    schedule.add_argument("-o", "--output", type=Path, default=None,
                          help="where run directories go (default <workdir>/collected)")


def _run_dir(args: argparse.Namespace) -> Path | None:
    from ops.report import resolve_run_dir

    try:
        return resolve_run_dir(args.run_id, args.output)
    except ValueError as exc:
        _err(str(exc))
        return None


def _bundle(args: argparse.Namespace) -> int:
    from ops.bundle import command as bundle_command

    run_dir = _run_dir(args)
    if run_dir is None:
        return EXIT_BAD_INPUT
    return bundle_command(args, run_dir)


def _report(args: argparse.Namespace) -> int:
    from ops.report import read_report, recap_lines

    if args.history is not None or (args.run_id is None and args.metrics is not None):
        code = EXIT_OK
        if args.history is not None:
            from ops.history import command as history_command

            code = history_command(args)
        if args.metrics is not None and code == EXIT_OK:
            from ops.metrics import command as metrics_command

            code = metrics_command(args, _run_dir(args) if args.run_id else None)
        return code
    if args.run_id is None:
        _err("ops report: give a RUN_ID (or --history [PLAYBOOK], or --metrics PATH)")
        return EXIT_BAD_INPUT
    run_dir = _run_dir(args)
    if run_dir is None:
        return EXIT_BAD_INPUT
    try:
        report = read_report(run_dir)
    except ValueError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    if args.json:
        import json

        from ops.report import recap_json

        print(inert(json.dumps(recap_json(report, run_dir, report.interrupted), ensure_ascii=True)))
        return EXIT_FAILED if report.failed_hosts else EXIT_OK
    print(inert(f"PLAY [{report.playbook_name}] run {report.run_id}, started {report.started}, {report.duration_s} s"
                + (" (interrupted)" if report.interrupted else "") + (" (check mode)" if report.check else "")))
    print("\nRECAP")
    for line in recap_lines(report):
        print(inert(line))
    if args.html is not None:
        from ops.htmlreport import write_html

        path = Path(args.html) if args.html else run_dir / "report.html"
        write_html(report, path, run_dir)
        print(inert(f"\nHTML report: {path}"))
    if args.metrics is not None:
        from ops.metrics import command as metrics_command

        code = metrics_command(args, run_dir)
        if code != EXIT_OK:
            return code
    return EXIT_FAILED if report.failed_hosts else EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    import json

    from ops.schema import SCHEMAS

    print(inert(json.dumps(SCHEMAS[args.kind](), indent=2)))
    return EXIT_OK


def _schedule(args: argparse.Namespace) -> int:
    from ops.schedule import ScheduleError, make_schedule, render

    if not args.playbook.is_file():
        _err(f"{args.playbook}: no such playbook")
        return EXIT_BAD_INPUT
    has_inventory = args.inventory.is_file()
    if not has_inventory:
        _err(f"warning: {args.inventory} does not exist (yet); the playbook was checked without it")
    # A playbook that cannot load would fail at every tick: refuse it now.
    if _load(args, args.inventory if has_inventory else None) is None:
        return EXIT_BAD_INPUT
    try:
        schedule = make_schedule(args.playbook, args.every, inventory=args.inventory, name=args.name,
                                 user=args.user, workdir=args.workdir, output=args.output)
    except ScheduleError as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    print(inert(render(schedule, args.user)), end="")
    return EXIT_OK


_ARTIFACT_COMMANDS = {"bundle": _bundle, "report": _report, "schema": _schema, "schedule": _schedule}
_OFFLINE_COMMANDS = frozenset({"bundle", "report", "schedule"})


if __name__ == "__main__":
    sys.exit(main())
