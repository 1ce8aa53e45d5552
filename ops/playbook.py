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

import difflib
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

STEP_KEYS = {"name", "when", "register", "ignore_errors", "tags", "failed_when", "changed_when", "until", "retries",
             "delay", "repeat_changes", "loop", "loop_control"}
VAR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TAG_RE = re.compile(r"^[A-Za-z0-9_.:-]+$")
Condition = str | bool | list[str | bool]
# Ansible's defaults for `until:`: 3 retries (4 attempts), 5 seconds apart.
DEFAULT_RETRIES, DEFAULT_DELAY = 3, 5.0
MAX_RETRIES, MAX_DELAY = 100, 3600.0


class LoopControl(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loop_var: str = Field("item", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    label: str | None = None  # a template of the item shown in step names and events
    pause: float = Field(0.0, ge=0, le=MAX_DELAY)  # seconds between items


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
    when: Condition | None
    register: str | None
    ignore_errors: bool
    tags: list[str] = field(default_factory=list)
    failed_when: Condition | None = None  # decides failure from the result (the action's own verdict otherwise)
    changed_when: Condition | None = None
    until: Condition | None = None  # run again until it holds (retries, delay)
    retries: int = DEFAULT_RETRIES
    delay: float = DEFAULT_DELAY
    loop: str | list[Any] | None = None  # a list, or a template giving one: the step runs once per item
    loop_control: LoopControl = field(default_factory=LoopControl)

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
    extra_vars: dict[str, Any] = field(default_factory=dict)  # -e: over everything else, as in Ansible
    hostvars: dict[str, dict[str, Any]] = field(default_factory=dict)  # every inventory host's vars, by name
    warnings: list[str] = field(default_factory=list)  # deprecations: shown, never fatal


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
            close = difflib.get_close_matches(str(key), [*ACTIONS, *STEP_KEYS], n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(doc.problem(loc + (key,), f"unknown action or key{hint} (actions: "
                                                       f"{', '.join(sorted(ACTIONS))}; step keys: "
                                                       f"{', '.join(sorted(STEP_KEYS))})"))
    if len(known) > 1:
        problems.append(doc.problem(loc, f"a step has exactly one action, this one has {', '.join(known)}"))
    if not actions:
        problems.append(doc.problem(loc, f"the step has no action (one of {', '.join(sorted(ACTIONS))})"))
    register = raw.get("register")
    if register is not None and (not isinstance(register, str) or not VAR_NAME_RE.fullmatch(register)):
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
    conditions = {key: _condition(doc, loc, key, raw.get(key), problems)
                  for key in ("failed_when", "changed_when", "until")}
    tags = _tags(doc, loc, raw.get("tags"), problems)
    retries = raw.get("retries", DEFAULT_RETRIES)
    if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= MAX_RETRIES:
        problems.append(doc.problem(loc + ("retries",), f"retries is a whole number from 0 to {MAX_RETRIES}, e.g. 5"))
        retries = DEFAULT_RETRIES
    delay = raw.get("delay", DEFAULT_DELAY)
    if not isinstance(delay, int | float) or isinstance(delay, bool) or not 0 <= delay <= MAX_DELAY:
        problems.append(doc.problem(loc + ("delay",), f"delay is seconds from 0 to {MAX_DELAY:g}, e.g. 10"))
        delay = DEFAULT_DELAY
    for key in ("retries", "delay"):
        if key in raw and raw.get("until") is None:
            problems.append(doc.problem(loc + (key,), f"{key} goes with until: (the condition to wait for)"))
    repeat = raw.get("repeat_changes", False)
    if not isinstance(repeat, bool):
        problems.append(doc.problem(loc + ("repeat_changes",), "repeat_changes is true or false"))
    loop = raw.get("loop")
    if loop is not None and not isinstance(loop, str | list):
        problems.append(doc.problem(loc + ("loop",), "loop is a list, or a template that gives one, "
                                                     "e.g. loop: [a, b] or loop: \"{{ nodes }}\""))
        loop = None
    loop_control = LoopControl()
    if raw.get("loop_control") is not None:
        if loop is None:
            problems.append(doc.problem(loc + ("loop_control",), "loop_control goes with loop:"))
        try:
            loop_control = LoopControl.model_validate(raw["loop_control"])
        except ValidationError as exc:
            problems.extend(problems_from(doc, exc, loc + ("loop_control",), model=LoopControl))
    if len(known) != 1 or not isinstance(name, str):
        return None
    action = ACTIONS[known[0]]
    if conditions["until"] is not None and not action.repeats_safely(raw[known[0]]) and repeat is not True:
        problems.append(doc.problem(loc + ("until",), f"until: runs the step again, and this {action.name} step may "
                                                      "change the appliance (a restart, a reset, a command that is "
                                                      "not a plain show ...): add repeat_changes: true if repeating "
                                                      "it is what you mean"))
    return Step(index=index, name=name, action=action, raw_args=raw[known[0]] if raw[known[0]] is not None else {},
                when=when, register=register, ignore_errors=bool(ignore), tags=tags,
                failed_when=conditions["failed_when"], changed_when=conditions["changed_when"],
                until=conditions["until"], retries=retries, delay=float(delay), loop=loop,
                loop_control=loop_control)


def _condition(doc: Document, loc: tuple[str | int, ...], key: str, value: Any,
               problems: list[Problem]) -> Condition | None:
    if value is None:
        return None
    if isinstance(value, str | bool) or isinstance(value, list) and all(isinstance(v, str | bool) for v in value):
        return value
    problems.append(doc.problem(loc + (key,), f"{key} is a condition (an expression), true/false, or a list of "
                                              f"conditions that must all hold, e.g. {key}: \"'Error' in out.output\""))
    return None


def _tags(doc: Document, loc: tuple[str | int, ...], value: Any, problems: list[Problem]) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(t, str) and TAG_RE.fullmatch(t) for t in items):
        problems.append(doc.problem(loc + ("tags",), "tags is a word or a list of words, e.g. tags: [logs, daily]"))
        return []
    return list(dict.fromkeys(items))


def load_playbook(path: Path, inventory: Inventory | None = None,
                  extra_vars: dict[str, Any] | None = None) -> Playbook:
    """Load and check a playbook; `extra_vars` (-e) win over every other variable, as in Ansible."""
    doc = load(path, "playbook")
    if not isinstance(doc.data, dict):
        raise InputError([doc.problem((), "a playbook is a mapping with name:, hosts:, vars: and steps:")])
    header = validate(doc, PlaybookHeader)
    problems: list[Problem] = []
    for key in header.vars:
        if not VAR_NAME_RE.fullmatch(str(key)):
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
                        keep=header.keep, extra_vars=dict(extra_vars or {}))
    for step in steps:
        if step.action.name == "cli" and isinstance(step.raw_args, dict) and "fail_when" in step.raw_args:
            line = doc.line(("steps", step.index, "cli", "fail_when"))
            playbook.warnings.append(f"{doc.path}:{line}: cli.fail_when is deprecated: use the step key failed_when "
                                     "(e.g. failed_when: \"out.output is search('Error')\" with register: out)")
    if inventory is not None:
        playbook.hostvars = {h.name: {**h.vars, "inventory_hostname": h.name, "group_names": group_names(h)}
                             for h in inventory.hosts.values()}
        playbook.targets = inventory.select(header.hosts)
        if not playbook.targets:
            problems.append(doc.problem(("hosts",), f"pattern {header.hosts!r} matches no host of {inventory.path}"))
    contexts = [static_context(playbook, h) for h in playbook.targets] or [static_context(playbook, None)]
    _check_steps(doc, playbook, contexts, problems)
    if problems:
        raise InputError(problems)
    return playbook


def group_names(host: Host) -> list[str]:
    """Ansible's `group_names`: the host's groups, sorted, `all` left out."""
    return sorted(g for g in host.groups if g != "all")


def static_context(playbook: Playbook, host: Host | None, run_id: str = "RUN") -> dict[str, Any]:
    """Variables known before anything runs, in Ansible's order: magic variables, host vars (the
    inventory's, groups merged), the playbook's vars, then extra vars (-e)."""
    context: dict[str, Any] = {"run_id": run_id, "hostvars": playbook.hostvars,
                               "playbook_dir": str(playbook.path.parent)}
    if host is not None:
        context.update(host.vars)
        context["inventory_hostname"] = host.name
        context["inventory_hostname_short"] = host.name.split(".", 1)[0]
        context["group_names"] = group_names(host)
        context["host"] = {"name": host.name, "address": host.address, "port": host.port,
                           "username": host.username, "groups": host.groups}
    else:
        context.update({"inventory_hostname": "HOST", "inventory_hostname_short": "HOST", "group_names": [],
                        "host": {}})
    context.update(playbook.vars)
    context.update(playbook.extra_vars)
    return context


def select_steps(steps: list[Step], tags: list[str] | None = None, skip_tags: list[str] | None = None,
                 start_at: str | None = None) -> list[Step]:
    """Ansible's --tags/--skip-tags and --start-at-task: `always` runs unless skipped by name, `never`
    only when one of its tags is asked for, `tagged`/`untagged`/`all` select as in Ansible."""
    chosen = list(steps)
    if start_at is not None:
        names = [s.name for s in chosen]
        if start_at not in names:
            raise ValueError(f"--start-at-step {start_at!r}: no step has that name (steps: {', '.join(names)})")
        chosen = chosen[names.index(start_at):]
    wanted, skipped = set(tags or ["all"]), set(skip_tags or [])

    def runs(step: Step) -> bool:
        own = set(step.tags)
        if "all" in skipped and ("always" not in own or "always" in skipped):
            return False
        if own & skipped or ("tagged" in skipped and own) or ("untagged" in skipped and not own):
            return False
        if "always" in own:
            return True
        if "never" in own and not (own - {"never"}) & wanted and "never" not in wanted:
            return False
        return bool("all" in wanted or own & wanted or ("tagged" in wanted and own)
                    or ("untagged" in wanted and not own))

    return [s for s in chosen if runs(s)]


def _conditions(when: Condition | None, key: str = "when") -> list[tuple[tuple[str | int, ...], str]]:
    if isinstance(when, str):
        return [((key,), when)]
    if isinstance(when, list):
        return [((key, i), w) for i, w in enumerate(when) if isinstance(w, str)]
    return []


def _result_conditions(step: Step) -> list[tuple[tuple[str | int, ...], str]]:
    """The conditions read after the step ran (its own result is known to them through register:)."""
    return (_conditions(step.failed_when, "failed_when") + _conditions(step.changed_when, "changed_when")
            + _conditions(step.until, "until"))


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
    pieces_loop: list[tuple[tuple[str | int, ...], str]]
    if isinstance(step.loop, str):
        pieces_loop = [(("loop",), step.loop)]
    else:
        pieces_loop = [(("loop", *path), text) for path, text in template_strings(step.loop or [])]
    if step.loop_control.label is not None:
        pieces_loop.append((("loop_control", "label"), step.loop_control.label))
    for where, text in pieces_loop:
        try:
            needs.append((loc + where, references(text)))
        except TemplateError as exc:
            problems.append(doc.problem(loc + where, str(exc)))
            readable = False
    for where, condition in _conditions(step.when) + _result_conditions(step):
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
        # Inside the step: the loop's item (not in the loop expression itself), and its own result in
        # the conditions read after it ran.
        own: dict[tuple[str | int, ...], set[str]] = {}
        loop_var = {step.loop_control.loop_var} if step.loop is not None else set()
        for where, _names in needs:
            part = where[2] if len(where) > 2 else None
            extra = set(loop_var) if part != "loop" else set()
            if part in ("failed_when", "changed_when", "until") and step.register:
                extra.add(step.register)
            own[where] = extra
        used -= loop_var
        for context in contexts:
            missing = [(where, sorted(n for n in names if n not in context and n not in registered
                                      and n not in own[where]))
                       for where, names in needs]
            missing = [(where, names) for where, names in missing if names]
            if missing:
                host = context.get("inventory_hostname")
                for where, names in missing:
                    problems.append(doc.problem(where, f"undefined variable(s) {', '.join(names)}"
                                                       + (f" for host {host}" if host != "HOST" else "")))
                break
            if used & set(registered) or step.loop is not None:
                continue  # arguments depend on a result or an item; they are validated when the step runs
            try:
                step.args_for(context)
            except TemplateError as exc:
                problems.append(doc.problem(loc + (key,), str(exc)))
                break
            except ValidationError as exc:
                problems.extend(problems_from(doc, exc, loc + (key,), model=step.action.Args))
                break
        if step.register:
            registered.append(step.register)
