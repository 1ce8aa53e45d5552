"""Playbooks: a name, a host pattern, vars, and named steps, each one action.

```yaml
name: Pull Finesse desktop logs
hosts: finesse
vars: {days: 2}
steps:
  - name: Desktop logs of the last {{ days }} days
    activelog: {path: desktop/logs/*, recurs: true, reltime: {days: "{{ days }}"}}
    register: logs
```
Values are Jinja2 templates (ops/templating.py: Ansible's filters and tests, sandboxed); `when:`
is an expression, true/false, or a list of expressions that must all hold.

Everything is checked before any host is touched: unknown keys and actions, wrong types,
template syntax, undefined variables (the names each template needs, against the host's vars,
the playbook's vars and the results registered by earlier steps), each reported with file, line
and key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ops.actions import ACTIONS
from ops.actions.base import Action
from ops.inventory import Host, Inventory
from ops.retention import Keep
from ops.templating import TemplateError, condition_names, references, render, template_strings
from ops.yamlsource import Document, InputError, Problem, load, problems_from, validate

STEP_KEYS = {"name", "when", "register", "ignore_errors"}
VAR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PlaybookHeader(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    hosts: str = Field(min_length=1)
    vars: dict[str, Any] = Field(default_factory=dict)
    keep: Keep | None = None
    steps: list[Any] = Field(min_length=1)


@dataclass
class Step:
    index: int
    name: str
    action: Action
    raw_args: Any
    when: str | bool | list[str | bool] | None
    register: str | None
    ignore_errors: bool

    def args_for(self, context: dict[str, Any]) -> Any:
        """The action's validated arguments with templates rendered for one host."""
        return self.action.Args.model_validate(render(self.raw_args, context))


@dataclass
class Playbook:
    path: Path
    name: str
    hosts: str
    vars: dict[str, Any]
    steps: list[Step]
    targets: list[Host] = field(default_factory=list)
    keep: Keep | None = None


def _step(doc: Document, index: int, raw: Any, problems: list[Problem]) -> Step | None:
    loc: tuple[str | int, ...] = ("steps", index)
    if not isinstance(raw, dict):
        problems.append(doc.problem(loc, "a step is a mapping with name: and one action"))
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(doc.problem(loc + ("name",), "every step needs a name (a non-empty string)"))
    actions = [k for k in raw if k not in STEP_KEYS]
    known = [k for k in actions if k in ACTIONS]
    for key in actions:
        if key not in ACTIONS:
            problems.append(doc.problem(loc + (key,), f"unknown action or key (actions: {', '.join(sorted(ACTIONS))};"
                                                       f" step keys: {', '.join(sorted(STEP_KEYS))})"))
    if len(known) > 1:
        problems.append(doc.problem(loc, f"a step has exactly one action, this one has {', '.join(known)}"))
    if not actions:
        problems.append(doc.problem(loc, f"the step has no action (one of {', '.join(sorted(ACTIONS))})"))
    register = raw.get("register")
    if register is not None and (not isinstance(register, str) or not VAR_NAME_RE.match(register)):
        problems.append(doc.problem(loc + ("register",), "register takes a variable name"))
    ignore = raw.get("ignore_errors", False)
    if not isinstance(ignore, bool):
        problems.append(doc.problem(loc + ("ignore_errors",), "ignore_errors is true or false"))
    when = raw.get("when")
    if when is not None and not (isinstance(when, (str, bool))
                                 or isinstance(when, list) and all(isinstance(w, (str, bool)) for w in when)):
        problems.append(doc.problem(loc + ("when",), "when is a condition (a string), true/false, or a list of"
                                                     " conditions that must all hold"))
        when = None
    if len(known) != 1 or not isinstance(name, str):
        return None
    action = ACTIONS[known[0]]
    return Step(index=index, name=name, action=action, raw_args=raw[known[0]] if raw[known[0]] is not None else {},
                when=when, register=register, ignore_errors=bool(ignore))


def load_playbook(path: Path, inventory: Inventory | None = None) -> Playbook:
    doc = load(path, "playbook")
    if not isinstance(doc.data, dict):
        raise InputError([doc.problem((), "a playbook is a mapping with name:, hosts:, vars: and steps:")])
    header = validate(doc, PlaybookHeader)
    problems: list[Problem] = []
    for key in header.vars:
        if not VAR_NAME_RE.match(str(key)):
            problems.append(doc.problem(("vars", key), "variable names are letters, digits and '_'"))
    steps: list[Step] = []
    names: dict[str, int] = {}
    for index, raw in enumerate(header.steps):
        step = _step(doc, index, raw, problems)
        if step is None:
            continue
        if step.name in names:
            problems.append(doc.problem(("steps", index, "name"),
                                        f"duplicate step name {step.name!r} (first at step {names[step.name] + 1})"))
        names.setdefault(step.name, index)
        steps.append(step)
    playbook = Playbook(path=path.resolve(), name=header.name, hosts=header.hosts, vars=header.vars, steps=steps,
                        keep=header.keep)
    if inventory is not None:
        playbook.targets = inventory.select(header.hosts)
        if not playbook.targets:
            problems.append(doc.problem(("hosts",), f"pattern {header.hosts!r} matches no host of {inventory.path}"))
    contexts = [static_context(playbook, h) for h in playbook.targets] or [static_context(playbook, None)]
    _check_steps(doc, playbook, contexts, problems)
    if problems:
        raise InputError(problems)
    return playbook


def static_context(playbook: Playbook, host: Host | None, run_id: str = "RUN") -> dict[str, Any]:
    """Variables known before anything runs: builtins, host vars, then playbook vars."""
    context: dict[str, Any] = {"run_id": run_id}
    if host is not None:
        context.update(host.vars)
        context["inventory_hostname"] = host.name
        context["host"] = {"name": host.name, "address": host.address, "port": host.port,
                           "username": host.username, "groups": host.groups}
    else:
        context.update({"inventory_hostname": "HOST", "host": {}})
    context.update(playbook.vars)
    return context


def _conditions(when: str | bool | list[str | bool] | None) -> list[tuple[tuple[str | int, ...], str]]:
    if isinstance(when, str):
        return [(("when",), when)]
    if isinstance(when, list):
        return [(("when", i), w) for i, w in enumerate(when) if isinstance(w, str)]
    return []


def _needs(doc: Document, step: Step, problems: list[Problem]) -> list[tuple[tuple[str | int, ...], set[str]]] | None:
    """The names each template of a step needs, by place; None (and problems) when one cannot be read."""
    loc: tuple[str | int, ...] = ("steps", step.index)
    pieces = [(("name",), step.name)] + [((step.action.name, *path), text)
                                         for path, text in template_strings(step.raw_args)]
    needs: list[tuple[tuple[str | int, ...], set[str]]] = []
    readable = True
    for where, text in pieces:
        try:
            needs.append((loc + where, references(text)))
        except TemplateError as exc:
            problems.append(doc.problem(loc + where, str(exc)))
            readable = False
    for where, condition in _conditions(step.when):
        try:
            needs.append((loc + where, condition_names(condition)))
        except TemplateError as exc:
            problems.append(doc.problem(loc + where, str(exc)))
            readable = False
    return needs if readable else None


def _check_steps(doc: Document, playbook: Playbook, contexts: list[dict[str, Any]], problems: list[Problem]) -> None:
    registered: list[str] = []
    for step in playbook.steps:
        loc: tuple[str | int, ...] = ("steps", step.index)
        key = step.action.name
        needs = _needs(doc, step, problems)
        if needs is None:
            if step.register:
                registered.append(step.register)
            continue
        used = set().union(*(names for _where, names in needs))
        for context in contexts:
            missing = [(where, sorted(n for n in names if n not in context and n not in registered))
                       for where, names in needs]
            missing = [(where, names) for where, names in missing if names]
            if missing:
                host = context.get("inventory_hostname")
                for where, names in missing:
                    problems.append(doc.problem(where, f"undefined variable(s) {', '.join(names)}"
                                                       + (f" for host {host}" if host != "HOST" else "")))
                break
            if used & set(registered):
                continue  # arguments depend on a result; they are validated when the step runs
            try:
                step.args_for(context)
            except TemplateError as exc:
                problems.append(doc.problem(loc + (key,), str(exc)))
                break
            except ValidationError as exc:
                problems.extend(problems_from(doc, exc, loc + (key,)))
                break
        if step.register:
            registered.append(step.register)
