"""Check before you change: what a run will need, resolved and checked before any host is touched.

Every secret reference a step will use (its own arguments, and each target host's SSH password)
must resolve: the variable is set, the file is readable. Each action may add checks of its own
(`Action.preflight`): `ui_password_reset` checks the original password against the appliance's
password policy, since a run that passed the first reset and failed the second would leave the
admin UI on the temporary password. `ops run` exits 2 on any problem, and `ops validate` runs
the same checks (without asking for `prompt` secrets).
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError

from ops.inventory import Host, Inventory
from ops.playbook import Playbook, static_context
from ops.secrets import Secret, SecretError, command_problem, mask, resolve
from ops.templating import TemplateError

__all__ = ["PreflightError", "preflight"]


class PreflightError(Exception):
    """What must be fixed before the run may start; one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def preflight(playbook: Playbook, inventory: Inventory | None, *, prompt: Callable[[str], str] | None = None,
              ask: bool = True) -> dict[str, Secret]:
    """Resolve every secret reference the run will need and run each action's own checks.

    Returns the step secrets, keyed by reference, for the run to reuse (a `prompt` is asked
    once). With `ask=False` (validate), `prompt` references are taken as resolvable.
    Raises PreflightError listing every problem.
    """
    base_dir = inventory.base_dir if inventory is not None else playbook.path.parent
    problems: list[str] = []
    resolved: dict[str, Secret | None] = {}

    def get(reference: str, where: str, may_ask: bool = True) -> Secret | None:
        if reference not in resolved:
            kind = reference.split(":", 1)[0]
            if not ask and kind == "cmd":
                # validate runs no command (it may ask for a vault passphrase): it must exist, that is all.
                why = command_problem(reference, base_dir)
                if why is not None:
                    problems.append(f"{where}: {why}")
                resolved[reference] = None
                return None
            if not (ask and may_ask) and kind == "prompt":
                resolved[reference] = None
                return None
            try:
                resolved[reference] = resolve(reference, base_dir=base_dir, prompt=prompt)
            except SecretError as exc:
                resolved[reference] = None
                problems.append(f"{where}: {mask(str(exc))}")
        return resolved[reference]

    hosts = list(playbook.targets) if inventory is not None else []
    for each in hosts:
        if each.lab is None and each.password is None and each.password_ref is not None:
            # A host's `prompt` password is asked by the runner, once, before hosts start.
            get(each.password_ref, f"host {each.name!r} (password)", may_ask=False)
    targets: list[Host | None] = list(hosts) or [None]
    for host in targets:
        context = static_context(playbook, host)
        for step in playbook.steps:
            try:
                args = step.args_for(context)
            except (ValidationError, TemplateError):
                continue  # depends on an earlier step's result: checked when it runs
            references = step.action.secret_references(args)
            secrets = {ref: get(ref, f"step {step.name!r}") for ref in references}
            where = f"step {step.name!r}" + (f" on {host.name}" if host is not None else "")
            problems += [f"{where}: {p}" for p in step.action.preflight(args, secrets, host)]
    unique = list(dict.fromkeys(problems))
    if unique:
        raise PreflightError(unique)
    return {ref: secret for ref, secret in resolved.items() if secret is not None}
