"""What every step kind shares: its arguments model, its result, and the host context it runs in."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from ops.textsafe import has_control

if TYPE_CHECKING:
    from ops.inventory import Host
    from ops.receiver import Account, Receiver
    from ops.rest.http import RestClient
    from ops.secrets import Secret
    from ops.session.channel import VOSChannel
    from ops.state import PullState


class Args(BaseModel):
    """Base of every action's arguments: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def check_regex(value: str, what: str) -> str:
    """`value` if it compiles as a regular expression; otherwise ValueError naming `what`."""
    from ops.patterns import compile_pattern

    try:
        compile_pattern(value)
    except ValueError as exc:
        raise ValueError(f"{what} is not a valid regex: {exc}") from None
    return value


def one_line(value: str, what: str) -> str:
    """`value` if it holds no line break or other control character: a value typed at the appliance
    must be one line, since a line break would make the CLI run what follows as a command."""
    if has_control(value):
        raise ValueError(f"{what} must be one line of plain text (no line breaks or control characters)")
    return value


class StepFailed(Exception):
    """A step that ran and did not do what it should; `data` still goes to the report."""

    def __init__(self, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.data = data or {}


@dataclass
class StepResult:
    """What a step that worked did (a step that did not raises StepFailed)."""

    changed: bool = False
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)


class HostContext(ABC):
    """The runner's side of a host as a step sees it."""

    host: Host
    host_dir: Path

    @abstractmethod
    async def channel(self) -> VOSChannel:
        """The host's CLI session, opened on first use."""

    @abstractmethod
    def receiver(self) -> tuple[Receiver, Account]:
        """The run's SFTP receiver and this host's account on it."""

    def rest(self, api: str = "finesse") -> RestClient:
        """The host's REST client for `api` ("finesse" or "gws"), opened on first use."""
        raise NotImplementedError("this context has no REST side")

    step_name: str = ""
    resuming: bool = False

    def held(self) -> dict[str, tuple[int, str]]:
        """Files this host's run directory already holds whole: path below activelog -> (size, sha256)."""
        return {}

    def release_held(self, path: str) -> None:
        """Drop a held file (path below activelog) so that a newer copy from the appliance can take its place."""
        raise NotImplementedError("this context holds no files")

    def pull_state(self) -> PullState:
        """The playbook's incremental-pull state (`activelog: {since: last}`)."""
        raise NotImplementedError("this context keeps no pull state")

    def secret(self, reference: str) -> Secret:
        """A secret reference from a step's arguments, resolved relative to the inventory."""
        raise NotImplementedError("this context resolves no secrets")


REGISTRY: dict[str, type[Action]] = {}


class Action(ABC):
    """One step kind: `name` is its key in a playbook step.

    A step kind declares what it needs, as Ansible's action plugins declare `TRANSFERS_FILES`;
    the runner reads these flags and never a step kind's name. A concrete subclass with a `name`
    registers itself (ops.actions imports every module of the package).
    """

    name: ClassVar[str]
    Args: ClassVar[type[Args]]
    needs_receiver: ClassVar[bool] = False  # the run's SFTP receiver must be listening
    uses_rest: ClassVar[bool] = False  # talks to the host's REST APIs (their secrets resolved up front)
    changes_state: ClassVar[bool] = False  # changes the appliance (a restart, a reset, a cache clear ...)
    # `ops run --check` calls `check()`, which reads the appliance and says what `run` would change
    # without changing it (Ansible's check_mode support); otherwise --check lists the commands only.
    check_mode: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if isinstance(name, str):
            if name in REGISTRY and REGISTRY[name] is not cls:
                raise ValueError(f"two step kinds are named {name!r}: {REGISTRY[name].__name__} and {cls.__name__}")
            REGISTRY[name] = cls

    @abstractmethod
    def commands(self, args: Any) -> list[str]:
        """What the step would send to the appliance (shown by `ops run --check`)."""

    @abstractmethod
    async def run(self, ctx: HostContext, args: Any) -> StepResult:
        """Do the step; raise StepFailed (or a SessionError) when it did not work."""

    async def check(self, ctx: HostContext, args: Any) -> StepResult:
        """What `run` would do, read from the appliance, changing nothing (only with `check_mode`)."""
        raise NotImplementedError(f"{self.name} has no check mode")

    def secret_references(self, args: Any) -> list[str]:
        """The secret references the step will resolve (checked before any host is touched)."""
        return []

    def repeats_safely(self, raw_args: Any) -> bool:
        """Whether running the step again (`until:`) changes nothing more on the appliance; `raw_args`
        are the playbook's, before templating."""
        return not self.changes_state

    def preflight(self, args: Any, secrets: Mapping[str, Secret | None], host: Host | None) -> list[str]:
        """Problems that must stop the run before it starts (`secrets`: the resolved references,
        None where a reference could not be, or was not, resolved)."""
        return []


class CliStep(Action):
    """A step that types one command at the admin CLI and reads its output: "command, then run", once.

    A subclass gives `command(args)` and `interpret(...)`; this base opens the host's session, sends
    the command within the step's `timeout`, and turns the appliance's refusal (CommandFailed: the
    session is fine, the command was not) into a step failure carrying the command and its output.
    A step with more to send (a check after the command) says so in `commands` and does it in
    `interpret`.
    """

    @abstractmethod
    def command(self, args: Any) -> str:
        """The command line the step types."""

    def commands(self, args: Any) -> list[str]:
        return [self.command(args)]

    async def send(self, channel: VOSChannel, command: str, args: Any) -> str:
        """Send `command` and return its output (a subclass may bound or watch it differently)."""
        return await channel.send(command, timeout=args.timeout)

    @abstractmethod
    async def interpret(self, ctx: HostContext, args: Any, command: str, output: str) -> StepResult:
        """What the output means: the step's result, or StepFailed."""

    async def run(self, ctx: HostContext, args: Any) -> StepResult:
        from ops.session.errors import CommandFailed

        channel = await ctx.channel()
        command = self.command(args)
        try:
            output = await self.send(channel, command, args)
        except CommandFailed as exc:
            raise StepFailed(str(exc), {"command": command, "output": exc.output}) from None
        return await self.interpret(ctx, args, command, output)
