"""A playbook over hosts: one task per host, bounded concurrency, one host's failure never stops another.

The runner owns the run directory (`<output>/<run-id>/`), the run's SFTP receiver (one for all
hosts, an account and a jail per host), lab appliances for `lab: true` hosts, and each host's
CLI session, opened on the first step that needs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets as _stdlib_secrets
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ops.actions.base import HostContext, StepFailed
from ops.events import EventSink, FileReceived, HostFinished, HostStarted, Notice, StepFinished, StepStarted
from ops.fileio import private_umask
from ops.inventory import Host, Inventory
from ops.patterns import PatternTimeout
from ops.playbook import Playbook, Step, static_context
from ops.preflight import preflight
from ops.providers import providers
from ops.receiver import ManifestEntry
from ops.report import JOURNAL, HostRecord, RunReport, StepRecord, append_journal, write_report
from ops.retention import prune
from ops.secrets import Secret, SecretError, mask
from ops.session.channel import VOSChannel
from ops.session.driver import Driver, DriverOptions
from ops.session.errors import AuthError, CommandFailed, ConnectError, HostKeyError, SessionError
from ops.session.transcript import Transcript
from ops.session.transport import Target
from ops.state import PullState, RunLock, normalise
from ops.targets import PreparedHost, prepare
from ops.templating import TemplateError, describe, evaluate, render

if TYPE_CHECKING:

    from ops.receiver import Account, Receiver
    from ops.rest.http import RestClient

log = logging.getLogger(__name__)
NOT_RUN = "did not run"
# A host whose first CLI step could not reach it (no connection, no login, a wrong host key) is
# unreachable, as Ansible counts it, rather than failed.
UNREACHABLE = (ConnectError, AuthError, HostKeyError)


@dataclass
class RunOptions:
    output: Path = Path("collected")
    forks: int = 20
    check: bool = False
    run_id: str | None = None
    command_timeout: float = 60.0
    retry_backoff: float = 1.0
    login_timeout: float | None = None  # banner to first prompt; default: command_timeout
    resume: bool = False  # run into the existing run directory `run_id`, fetching only what it lacks
    prompt: Callable[[str], str] | None = None


class ResumeError(Exception):
    """`--resume` names a run directory that does not exist or is not a run."""


def _whole(path: Path, entry: ManifestEntry) -> bool:
    try:
        if path.stat().st_size != entry.size:
            return False
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest() == entry.sha256
    except OSError:
        return False


def _symlinked(root: Path, paths: list[Path]) -> Path | None:
    """The first of `root` and `paths` (below it) that is a symlink, if any."""
    for path in [root, *paths]:
        if path.is_symlink():
            return path
    return None


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + _stdlib_secrets.token_hex(2)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class HostRun(HostContext):
    """One host's side of a run: its session, its receiver account, its transcript."""

    def __init__(self, runner: Runner, prepared: PreparedHost, step_secrets: Mapping[str, Secret], *,
                 keep_logs: bool = True) -> None:
        self.runner = runner
        self.keep_logs = keep_logs  # False for --check: nothing is written, the transcript stays in memory
        self.prepared = prepared
        self.host = prepared.host
        self.host_dir = runner.run_dir / prepared.name
        self.transcript: Transcript | None = None
        self._driver: Driver | None = None
        self._account: Account | None = None
        self._rest: dict[str, RestClient] = {}
        self._step_secrets = step_secrets
        self.resuming = runner.options.resume
        self._held: dict[str, ManifestEntry] = {}

    def held(self) -> dict[str, tuple[int, str]]:
        return {normalise(e.path): (e.size, e.sha256) for e in self._held.values()}

    def release_held(self, path: str) -> None:
        for key, entry in list(self._held.items()):
            if normalise(entry.path) == path:
                (self.host_dir / "files" / entry.path).unlink(missing_ok=True)
                del self._held[key]

    async def load_held(self) -> list[str]:
        """Resume: keep the files of the earlier run that are still whole; remove the others."""
        manifest = self.host_dir / "manifest.json"
        try:
            entries = json.loads(manifest.read_text())
        except (OSError, ValueError):
            return []
        damaged = []
        files = (self.host_dir / "files").resolve()
        for item in entries if isinstance(entries, list) else []:
            try:
                entry = ManifestEntry(str(item["path"]), int(item["size"]), str(item["sha256"]))
            except (KeyError, TypeError, ValueError):
                continue
            path = (files / entry.path).resolve()
            if not path.is_relative_to(files):  # resolve() has followed any symlink
                continue  # a manifest naming something outside the host's files is ignored, never touched
            if await asyncio.to_thread(_whole, path, entry):
                self._held[entry.path] = entry
            else:
                damaged.append(entry.path)
                path.unlink(missing_ok=True)
        return damaged

    async def channel(self) -> VOSChannel:
        if self._driver is None:
            if self.transcript is None:
                self.transcript = self._new_transcript()
            options = self.runner.options
            settings = DriverOptions(retries=self.host.retries, backoff=options.retry_backoff,
                                     timeout=options.command_timeout, login_timeout=options.login_timeout,
                                     settle=self.host.settle)
            self._driver = Driver(self.prepared.ssh, self.transcript, settings,
                                  on_retry=lambda text: self.runner.on_event(Notice(self.host.name, text)))
        return await self._driver.open()

    def pull_state(self) -> PullState:
        return self.runner.pull_state()

    def _new_transcript(self) -> Transcript:
        return Transcript(self.host_dir / "transcript.log" if self.keep_logs else None, self.host.name)

    def receiver(self) -> tuple[Receiver, Account]:
        receiver = self.runner.receiver(self.host.site)
        if self._account is None:
            self._account = receiver.add_account(self.host.name, self.host_dir / "files")
        return receiver, self._account

    def rest(self, api: str = "finesse") -> RestClient:
        from ops.rest.http import RestClient

        client = self._rest.get(api)
        if client is None:
            client = self._rest[api] = RestClient(self.prepared.endpoint(api), log=self._rest_note)
        return client

    def _rest_note(self, text: str) -> None:
        if self.transcript is None:
            self.transcript = self._new_transcript()
        self.transcript.note(f"rest: {text}")

    def secret(self, reference: str) -> Secret:
        from ops.secrets import resolve

        known = self._step_secrets.get(reference) or self.runner.resolved.get(reference)
        if known is not None:
            return known
        # A reference preflight could not see (in arguments that read a result or a loop item):
        # resolved once for the whole run, however many hosts and items use it.
        secret = resolve(reference, base_dir=self.runner.inventory.base_dir, prompt=self.runner.options.prompt)
        self.runner.resolved[reference] = secret
        return secret

    def release_account(self) -> None:
        """The host is done with the receiver (its manifest written): its account is forgotten."""
        if self._account is not None:
            self.runner.receiver(self.host.site).release(self.host.name)
            self._account = None
        self._held.clear()

    def has_files(self) -> bool:
        """Whether this host has a manifest to write: an account on the receiver, or files held from before."""
        return self._account is not None or bool(self._held)

    async def write_manifest(self, receiver: Receiver) -> list[dict[str, Any]]:
        """Write `manifest.json` (the receiver's files and those held from an earlier run); returns it."""
        path = self.host_dir / "manifest.json"
        # Off the loop: its fsync can take milliseconds on a busy or network disk, and the other
        # hosts' sessions would wait that long, once for each host.
        return await asyncio.to_thread(receiver.write_manifest, self.host.name, path, list(self._held.values()))

    async def close(self) -> None:
        for client in self._rest.values():
            with contextlib.suppress(Exception):
                await client.aclose()
        if self._driver is not None:
            await self._driver.close()
        if self.transcript is not None:
            self.transcript.close()


class Runner:
    def __init__(self, playbook: Playbook, inventory: Inventory, options: RunOptions,
                 on_event: EventSink | None = None) -> None:
        self.playbook = playbook
        self.inventory = inventory
        self.options = options
        self.run_id = options.run_id or new_run_id()
        self.run_dir = options.output / self.run_id
        self._journal = self.run_dir / JOURNAL  # one Path for every host's record (HostRecord.spill)
        self.on_event: EventSink = on_event or (lambda event: None)
        # Called once labs and the receiver are up, with a per-host (files, bytes) probe.
        self.on_ready: Callable[[Callable[[str], tuple[int, int]] | None], None] = lambda stats: None
        self._receivers: dict[str, Receiver] = {}  # by site: "" the top-level receiver, else a group's
        self._providers = providers()
        self._served: dict[str, Host] = {}  # hosts as a provider made them reachable, by name
        self._prepared: dict[str, PreparedHost] = {}  # every host as this run reaches it (ops.targets)
        self._secret_errors: dict[str, str] = {}
        self._step_secrets: dict[str, Secret] = {}
        self.resolved: dict[str, Secret] = {}  # every reference resolved this run: each is asked or run once
        self._pull_state: PullState | None = None
        self.report = RunReport(run_id=self.run_id, playbook=str(playbook.path), playbook_name=playbook.name,
                                started=_now(), check=options.check)

    def pull_state(self) -> PullState:
        if self._pull_state is None:
            self._pull_state = PullState(self.options.output, self.playbook.path)
        return self._pull_state

    def receiver(self, site: str = "") -> Receiver:
        """The receiver of a site (a group with its own `receiver:`; "" the inventory's top-level one)."""
        receiver = self._receivers.get(site)
        if receiver is None:
            raise RuntimeError("the receiver is started before hosts run")
        return receiver

    def _stats(self, host: str) -> tuple[int, int]:
        """(files, bytes) received for `host` so far, from its site's receiver (progress)."""
        target = self.inventory.hosts.get(host)
        receiver = self._receivers.get(target.site if target is not None else "")
        return receiver.stats(host) if receiver is not None else (0, 0)

    async def run(self) -> RunReport:
        started = time.monotonic()
        hosts = self.playbook.targets
        for host in hosts:
            # Failed until it has run: a run that breaks before a host starts never reports it ok.
            self.report.hosts[host.name] = HostRecord(status="failed", error=NOT_RUN)
        if self.options.check:
            for host in hosts:
                self._check_host(host)
            if any(step.action.check_mode for step in self.playbook.steps):
                await self._check_by_reading(hosts)
            self.report.finished = _now()
            return self.report
        # What the run writes (logs, transcripts, reports) is private to this user (ops.fileio).
        private_umask()
        # Check before you change: every secret a step needs, and each action's own checks, before
        # anything is written or any host is touched.
        self._step_secrets = preflight(self.playbook, self.inventory, prompt=self.options.prompt)
        self.resolved.update(self._step_secrets)
        lock = RunLock(self.options.output, self.playbook.path)
        lock.acquire()
        try:
            return await self._run_locked(hosts, started)
        finally:
            lock.release()

    async def _run_locked(self, hosts: list[Host], started: float) -> RunReport:
        if self.options.resume and not (self.run_dir / "report.json").is_file():
            raise ResumeError(f"cannot resume {self.run_id}: {self.run_dir} holds no report.json")
        self.run_dir.mkdir(parents=True, exist_ok=self.options.resume)
        if not self.options.resume:
            # From here a run killed at any moment (kill -9, power) is still a run: its report says
            # interrupted, each finished host is in journal.jsonl, and --resume takes it.
            self.report.interrupted = True
            write_report(self.run_dir, self.report)
            self.report.interrupted = False
        # Every host prepared once (its secrets resolved, its targets built), so every `prompt`
        # password is asked up front, one host after another, before any host starts.
        self._prepare([h for h in hosts if not any(p.serves(h) for p in self._providers)])
        try:
            try:
                await self._start_services(hosts)
                self._prepare(list(self._served.values()))
            except Exception as exc:  # noqa: BLE001 - whatever stopped the start, no host ran
                # Nothing ran: every host says why, the report is written, the exit code is 1.
                why = f"{NOT_RUN}: the run could not start ({type(exc).__name__}: {mask(str(exc))})"
                log.error("%s", why)
                for record in self.report.hosts.values():
                    record.error = why
                return self.report
            self.on_ready(self._stats if self._receivers else None)
            limit = asyncio.Semaphore(max(1, self.options.forks))

            async def bounded(host: Host) -> None:
                async with limit:
                    await self._run_host(host)

            await asyncio.gather(*(bounded(h) for h in hosts))
        except asyncio.CancelledError:
            for record in self.report.hosts.values():
                if record.error == NOT_RUN:
                    record.error = "interrupted before it started"
                elif record.status == "ok" and (not record.started or record.duration_s == 0.0):
                    record.status, record.error = "failed", "interrupted before it finished"
            self.report.interrupted = True
            raise
        finally:
            await self._stop_services()
            if self._pull_state is not None:
                try:
                    self._pull_state.save()
                except OSError as exc:  # the report below must still be written
                    log.error("cannot save the incremental-pull state %s: %s", self._pull_state.path, exc)
            self.report.finished = _now()
            self.report.duration_s = round(time.monotonic() - started, 3)
            write_report(self.run_dir, self.report)
        if self.playbook.keep is not None and not self.report.interrupted:
            for pruned in prune(self.options.output, self.playbook.path, self.playbook.keep, self.run_dir,
                                {h: r.status for h, r in self.report.hosts.items()}):
                self.on_event(Notice("-", f"retention: removed old run {pruned.name}"))
        return self.report

    def _prepare(self, hosts: list[Host]) -> None:
        uses_rest = any(step.action.uses_rest for step in self.playbook.steps)
        for host in hosts:
            try:
                self._prepared[host.name] = prepare(host, base_dir=self.inventory.base_dir,
                                                    prompt=self.options.prompt, rest=uses_rest,
                                                    resolved=self.resolved)
            except SecretError as exc:
                self._secret_errors[host.name] = mask(str(exc))

    def _check_host(self, host: Host) -> None:
        """--check: each step's name rendered, its `when:` evaluated where it can be before the run
        (not where it reads an earlier step's result), and what it would send; nothing is touched.
        A step that would run counts as changed if it changes the appliance, else ok."""
        context = static_context(self.playbook, host, self.run_id)
        record = self.report.hosts[host.name]
        record.status, record.error = "ok", None
        for step in self.playbook.steps:
            try:
                name = str(render(step.name, context))
            except TemplateError:
                name = step.name
            try:
                if step.loop is not None:
                    items = render(step.loop, context)
                    var = step.loop_control.loop_var
                    commands = [command for item in items
                                for command in step.action.commands(step.args_for({**context, var: item}))]
                else:
                    commands = step.action.commands(step.args_for(context))
            except (ValidationError, TemplateError, TypeError):
                commands = ["(arguments depend on an earlier step's result)"]
            when = ""
            if step.when is not None:
                try:
                    if not evaluate(step.when, context):
                        said = f"when: {describe(step.when)} is false"
                        record.steps.append(StepRecord(name, step.action.name, "skipped",
                                                       message=f"check mode: {said}"))
                        self.on_event(StepFinished(host.name, name, "skipped", said))
                        continue
                    when = f" (when: {describe(step.when)} is true)"
                except TemplateError:
                    when = f" (if, when it runs, {describe(step.when)} holds: it reads an earlier step's result)"
            changes = step.action.changes_state
            status = "changed" if changes else "ok"
            record.steps.append(StepRecord(name, step.action.name, status, message="check mode: would run" + when,
                                           data={"commands": commands, "changes_state": changes}))
            for command in commands:
                effect = " (changes the appliance)" if changes else ""
                self.on_event(Notice(host.name, f"[{name}] would send: {command}{effect}{when}"))

    async def _check_by_reading(self, hosts: list[Host]) -> None:
        """--check for steps that can say what they would change (`check_mode`): each reads its
        appliance and reports the plan; nothing is changed and nothing is written (no receiver, no
        run directory, transcripts in memory)."""
        self._step_secrets = preflight(self.playbook, self.inventory, prompt=self.options.prompt)
        self.resolved.update(self._step_secrets)
        self._prepare([h for h in hosts if not any(p.serves(h) for p in self._providers)])
        try:
            for provider in self._providers:
                served = [h for h in hosts if provider.serves(h)]
                if served:
                    self._served.update(await provider.start(served))
            self._prepare(list(self._served.values()))
            limit = asyncio.Semaphore(max(1, self.options.forks))

            async def bounded(host: Host) -> None:
                async with limit:
                    await self._check_host_by_reading(host)

            await asyncio.gather(*(bounded(h) for h in hosts))
        finally:
            for provider in self._providers:
                with contextlib.suppress(Exception):
                    await provider.stop()

    async def _check_host_by_reading(self, host: Host) -> None:
        record = self.report.hosts[host.name]
        prepared = self._prepared.get(host.name)
        if prepared is None:
            record.status, record.error = "failed", self._secret_errors.get(host.name, "could not be prepared")
            return
        run = HostRun(self, prepared, self._step_secrets, keep_logs=False)
        context = static_context(self.playbook, prepared.host, self.run_id)
        try:
            for step, step_record in zip(self.playbook.steps, record.steps, strict=True):
                if not step.action.check_mode or step_record.status == "skipped":
                    continue
                try:
                    args = step.args_for(context)
                except (ValidationError, TemplateError):
                    continue  # depends on an earlier step's result: "would run" stands
                try:
                    result = await step.action.check(run, args)
                except (StepFailed, SessionError) as exc:
                    step_record.status, step_record.message = "failed", mask(str(exc))
                    record.status, record.error = "failed", f"step {step_record.name!r}: {step_record.message}"
                    self.on_event(StepFinished(host.name, step_record.name, "failed", step_record.message))
                    continue
                step_record.status = "changed" if result.changed else "ok"
                step_record.message, step_record.data = mask(result.message), result.data
                raw = result.data.get("output")
                self.on_event(StepFinished(host.name, step_record.name, step_record.status, step_record.message,
                                           mask(raw) if isinstance(raw, str) else ""))
        finally:
            await run.close()

    async def _start_services(self, hosts: list[Host]) -> None:
        from ops.receiver import Receiver

        needs_receiver = any(s.action.needs_receiver for s in self.playbook.steps)
        if needs_receiver:
            # One receiver per site the run's hosts push to: each data center's appliances reach their own.
            for site in dict.fromkeys(h.site for h in hosts):
                spec = self.inventory.receiver_for(site)
                receiver = Receiver(self.run_dir, listen_host=spec.listen, listen_port=spec.port,
                                    advertised_host=spec.advertise, legacy_algorithms=spec.legacy_algorithms,
                                    **spec.limits())
                self._receivers[site] = receiver
                await receiver.start()
        # Hosts a provider serves (lab hosts, from the lab's provider the entry point installed)
        # come back as the run reaches them; the inventory's own hosts are not changed.
        for provider in self._providers:
            served = [h for h in hosts if provider.serves(h)]
            if served:
                self._served.update(await provider.start(served))
        unserved = [h.name for h in hosts if h.lab is not None and h.name not in self._served]
        if unserved:
            raise RuntimeError(f"no provider starts lab hosts ({', '.join(unserved)}): the entry point installs "
                               "ops.lab.provider")

    async def _stop_services(self) -> None:
        for provider in self._providers:
            with contextlib.suppress(Exception):
                await provider.stop()
        for receiver in self._receivers.values():
            with contextlib.suppress(Exception):
                await receiver.stop()

    async def _run_host(self, host: Host) -> None:
        record = self.report.hosts[host.name]
        record.started = _now()
        started = time.monotonic()
        prepared = self._prepared.get(host.name)
        if prepared is None:  # its secrets could not be resolved: the host fails below, having touched nothing
            prepared = PreparedHost(host, Target(host.name, host.address, host.port, host.username, Secret(""),
                                                 host.host_key, host.connect_timeout))
        host = prepared.host
        run = HostRun(self, prepared, self._step_secrets)
        linked = _symlinked(self.run_dir, [run.host_dir, run.host_dir / "files"])
        if linked is not None:
            # A run tree is never followed out of itself: resume would delete and write there.
            record.status, record.error = "failed", f"refusing to follow the symlink {linked} in the run directory"
            self.on_event(HostFinished(host.name, "failed", record.error))
            return
        if run.resuming:
            damaged = await run.load_held()
            if damaged:
                self.on_event(Notice(host.name, f"resume: {len(damaged)} damaged file(s) will be fetched again"))
        context = static_context(self.playbook, host, self.run_id)
        record.status, record.error = "ok", None
        self.on_event(HostStarted(host.name))
        try:
            if host.name in self._secret_errors:
                raise SecretError(self._secret_errors[host.name])
            for step in self.playbook.steps:
                if not await self._run_step(run, step, context, record):
                    break
        except SecretError as exc:
            record.status, record.error = "failed", mask(str(exc))
        except asyncio.CancelledError:
            record.status, record.error = "failed", "interrupted"
            raise
        finally:
            await asyncio.shield(run.close())
            if host.site in self._receivers and run.has_files():
                record.files = await asyncio.shield(run.write_manifest(self._receivers[host.site]))
                record.manifest = str((run.host_dir / "manifest.json").relative_to(self.run_dir))
                for entry in record.files:
                    self.on_event(FileReceived(host.name, entry["path"], entry["size"], entry["sha256"]))
            # Its manifest is written: the receiver forgets the host's account (its file list, its
            # jail's book-keeping), and the run what it prepared to reach the host.
            run.release_account()
            self._prepared.pop(host.name, None)
            if run.transcript is not None:
                record.transcript = str((run.host_dir / "transcript.log").relative_to(self.run_dir))
            record.duration_s = round(time.monotonic() - started, 3)
            try:
                where = await asyncio.shield(asyncio.to_thread(append_journal, self.run_dir, host.name, record))
            except OSError as exc:  # the final report still holds the host
                log.error("cannot append to %s: %s", self._journal, exc)
            else:
                # Memory stays bounded: the host's steps and files are in journal.jsonl now; the
                # record keeps the counts the recap needs and reads the rest back when asked
                # (write_report streams it from there).
                record.spill(host.name, self._journal, *where)
            self.on_event(HostFinished(host.name, record.status, record.error))

    async def _run_step(self, run: HostRun, step: Step, context: dict[str, Any], record: HostRecord) -> bool:
        """Runs one step (once per item with `loop:`); returns False when the host should stop here."""
        if step.loop is None:
            go_on, result, _lost = await self._run_once(run, step, context, record)
            if step.register:
                context[step.register] = result
            return go_on
        try:
            items = render(step.loop, context)
            if isinstance(items, dict | str) or not isinstance(items, list | tuple):
                raise TemplateError(f"loop gives {type(items).__name__}, not a list")
        except TemplateError as exc:
            name = self._name(step, context)
            message = mask(f"loop: {exc}")
            record.steps.append(StepRecord(name, step.action.name, "failed", message=message, started=_now()))
            if step.register:
                context[step.register] = {"ok": False, "failed": True, "changed": False, "message": message,
                                          "results": []}
            return self._failed(run, step, name, message, record, stop_host=False)
        results: list[dict[str, Any]] = []
        item_failures: list[str] = []
        go_on = True
        control = step.loop_control
        for index, item in enumerate(items):
            if index and control.pause:
                await asyncio.sleep(control.pause)
            scope = {**context, control.loop_var: item}
            try:
                label = render(control.label, scope) if control.label is not None else item
            except TemplateError:
                label = item
            shown = label if isinstance(label, str | int | float) else json.dumps(label, default=str)[:60]
            go_on, result, lost = await self._run_once(run, step, scope, record, suffix=f" (item={shown})")
            results.append({**result, control.loop_var: item})
            if not go_on and not lost:
                # As Ansible: a failed item does not stop the others; the step fails after them.
                go_on = True
                record.status, record.error = "ok", None
                item_failures.append(record.steps[-1].name)
            if not go_on:
                break
        if item_failures and go_on:
            name = self._name(step, context)
            record.status, record.error = "failed", f"step {name!r}: {len(item_failures)} of {len(results)} " \
                                                    f"items failed ({', '.join(item_failures)})"
            go_on = False
        if step.register:
            failed = any(r.get("failed") for r in results) or not go_on
            context[step.register] = {"ok": not failed, "failed": failed,
                                      "changed": any(r.get("changed") for r in results),
                                      "skipped": bool(results) and all(r.get("skipped") for r in results),
                                      "results": results}
        return go_on

    @staticmethod
    def _name(step: Step, context: dict[str, Any]) -> str:
        try:
            return str(render(step.name, context))
        except TemplateError:
            return step.name

    def _failed(self, run: HostRun, step: Step, name: str, message: str, record: HostRecord, *,
                stop_host: bool, output: str = "") -> bool:
        """Record the last step of `record` as failed (or ignored); False when the host stops here."""
        step_record = record.steps[-1]
        if step.ignore_errors and not stop_host:
            step_record.status = "ignored"
            self.on_event(StepFinished(run.host.name, name, "ignored", message, output))
            return True
        step_record.status = "failed"
        record.status, record.error = "failed", f"step {name!r}: {message}"
        self.on_event(StepFinished(run.host.name, name, "failed", message, output))
        return False

    async def _run_once(self, run: HostRun, step: Step, context: dict[str, Any], record: HostRecord,
                        suffix: str = "") -> tuple[bool, dict[str, Any], bool]:
        """One run of a step (with `until:`, as many as it takes): (go on with the host, its result,
        whether the host's session is lost)."""
        started = time.monotonic()
        name = self._name(step, context) + suffix
        step_record = StepRecord(name, step.action.name, "ok", started=_now())
        record.steps.append(step_record)
        exc_seen: BaseException | None = None
        failed, stop_host = False, False
        try:
            if step.when is not None and not evaluate(step.when, context):
                step_record.status, step_record.message = "skipped", f"when: {describe(step.when)} is false"
                self.on_event(StepFinished(run.host.name, name, "skipped", step_record.message))
                return True, {"ok": True, "failed": False, "changed": False, "skipped": True,
                              "message": step_record.message}, False
            try:
                args = step.args_for(context)
            except (ValidationError, TemplateError) as exc:
                raise _BadArguments() from exc
            self.on_event(StepStarted(run.host.name, name))
            attempts = step.retries + 1 if step.until is not None else 1
            for attempt in range(1, attempts + 1):
                if run.transcript is not None:
                    run.transcript.note(f"step: {name}" + (f" (attempt {attempt})" if attempt > 1 else ""))
                run.step_name = step.name
                failed, stop_host, exc_seen = await self._attempt(run, step, args, step_record)
                if step.until is not None:
                    step_record.data["attempts"] = attempt  # until: may read it (result.attempts)
                if not stop_host:
                    failed = self._judge(step, context, step_record, failed)
                if stop_host or step.until is None:
                    break
                scope = {**context, step.register: self._result(step_record, failed)} if step.register else context
                if evaluate(step.until, scope):
                    break
                if attempt == attempts:
                    failed = True
                    step_record.message = (f"until: {describe(step.until)} still false after {attempts} attempts"
                                           + (f" ({step_record.message})" if step_record.message else ""))
                    break
                self.on_event(Notice(run.host.name, f"[{name}] until: {describe(step.until)} is false; "
                                                    f"attempt {attempt + 1} of {attempts} in {step.delay:g}s"))
                await asyncio.sleep(step.delay)
        except _BadArguments as exc:
            step_record.message = f"bad arguments after templating: {exc.__cause__}"
            failed, stop_host = True, False
        except TemplateError as exc:  # a condition (when, until, failed_when, changed_when) that cannot be read
            step_record.message = str(exc)
            failed, stop_host = True, False
        except PatternTimeout as exc:  # a playbook's pattern that backtracks without end
            step_record.message = str(exc)
            failed, stop_host = True, False
        step_record.message = mask(step_record.message)
        step_record.duration_s = round(time.monotonic() - started, 3)
        result = self._result(step_record, failed)
        raw_output = step_record.data.get("output")
        output = mask(raw_output) if isinstance(raw_output, str) else ""
        if isinstance(exc_seen, UNREACHABLE):
            record.unreachable = True
        if not failed:
            self.on_event(StepFinished(run.host.name, name, step_record.status, step_record.message, output))
            return True, result, False
        go_on = self._failed(run, step, name, step_record.message, record, stop_host=stop_host, output=output)
        return go_on, result, stop_host

    @staticmethod
    def _result(step_record: StepRecord, failed: bool) -> dict[str, Any]:
        """What `register:` keeps (and failed_when/changed_when/until read)."""
        return {"ok": not failed, "failed": failed, "changed": step_record.status == "changed", "skipped": False,
                "message": step_record.message, **step_record.data}

    def _judge(self, step: Step, context: dict[str, Any], step_record: StepRecord, failed: bool) -> bool:
        """failed_when and changed_when, read with the step's own result under its register name."""
        if step.failed_when is None and step.changed_when is None:
            return failed
        scope = {**context, step.register: self._result(step_record, failed)} if step.register else context
        if step.changed_when is not None:
            step_record.status = "changed" if evaluate(step.changed_when, scope) else "ok"
        if step.failed_when is not None:
            verdict = evaluate(step.failed_when, scope)
            if verdict and not failed:
                step_record.message = f"failed_when: {describe(step.failed_when)}" + (
                    f" ({step_record.message})" if step_record.message else "")
            elif failed and not verdict:
                step_record.message = f"not failed (failed_when: {describe(step.failed_when)} is false): " \
                                      f"{step_record.message}"
            failed = verdict
        return failed

    async def _attempt(self, run: HostRun, step: Step, args: Any,
                       step_record: StepRecord) -> tuple[bool, bool, BaseException | None]:
        """Run the action once: (failed, stop the host, the session error if one)."""
        try:
            result = await step.action.run(run, args)
            step_record.status = "changed" if result.changed else "ok"
            step_record.message, step_record.data = result.message, result.data
            return False, False, None
        except StepFailed as exc:
            step_record.message, step_record.data = str(exc), exc.data
            return True, False, None
        except CommandFailed as exc:
            # The appliance said no, but the session is fine: a step failure, not a host failure.
            step_record.message, step_record.data = str(exc), {"output": exc.output}
            return True, False, None
        except SessionError as exc:
            step_record.message = str(exc)
            return True, True, exc
        except (ValidationError, TemplateError) as exc:
            raise _BadArguments() from exc
        except PatternTimeout:
            raise
        except Exception as exc:  # a defect in one step must not stop the other hosts
            step_record.message = f"unexpected error ({type(exc).__name__}): {exc}"
            log.error("%s: step %r: %s", run.host.name, step_record.name, mask(step_record.message))
            log.debug("%s", mask("".join(traceback.format_exception(exc))))
            return True, True, exc  # the session may be in any state: stop this host only


class _BadArguments(Exception):
    """A step's arguments that did not validate once rendered (the cause says why)."""


async def run_playbook(playbook: Playbook, inventory: Inventory, options: RunOptions,
                       on_event: EventSink | None = None) -> RunReport:
    return await Runner(playbook, inventory, options, on_event).run()
