"""`finesse_config` step: a Finesse cluster's configuration as desired state in YAML.

```yaml
- name: Reason codes and friends, as code
  finesse_config:
    prune: false                 # true: delete what is on the cluster and not here
    reason_codes:                # matched by category + code; the label and forAll follow
      - {category: NOT_READY, code: 12, label: Lunch, for_all: true}
      - {category: NOT_READY, code: 31, label: Coaching, for_all: false}
      - {category: LOGOUT, code: 20, label: End of shift}
    wrap_up_reasons:             # matched by label
      - {label: Sale, for_all: true}
    phone_books:                 # matched by name; contacts by first name + last name + number
      - name: Suppliers
        type: GLOBAL
        contacts: [{first_name: Ann, last_name: Lee, phone_number: "6125551228", description: Sales}]
    teams:                       # matched by name; each list given is that team's assignments
      - name: Sales
        reason_codes: [{category: NOT_READY, code: 31}]
        wrap_up_reasons: []
        phone_books: []
    plan_only: false             # true: report the plan, change nothing
    clear_cache: auto            # auto | always | never (the webproxy cache, below)
```
Phases. **Plan**: read the cluster (from the primary node: configuration goes there, the
secondary refuses it with 403) and compute creates, updates and deletes, matching by natural key,
never by database id. A section left out is not managed; deletes happen only with `prune: true`,
and only within the sections given. **Check**: `plan_only: true` (and `ops run --check`, once the
runner calls `check`) reports the plan as a readable diff (the step's `output`, shown with `-v`)
and changes nothing. **Apply**, in a safe order: take items off teams, delete, update, create,
then give teams their lists; each change is reported, then the cluster is read again and the
plan must be empty (a second run finds nothing to do). **Errors**: a Finesse `ApiErrors` body
(a duplicate, a maximum exceeded, the secondary's 403) fails the step with its ErrorType and
ErrorMessage, saying what was applied before it.

**The webproxy cache** (seed 001): Finesse caches TeamResource responses per team and clears a
team's when its reason codes, wrap-up reasons, phone books or workflows change; the seed says
nothing of changes to global items, which every team's TeamResource also lists. After such a
change (`clear_cache: auto`), or after any change (`always`), the step clears the REST cache with
`utils webproxy cache clear rest` on the host's CLI (seed 001 names the command); `never` leaves
it and says the agents' TeamResource may be stale. A change one host made to its cluster counts
for every host of that cluster in the run (each clears its own node's cache).

Workflows and their actions are not managed: the lab cannot model their triggers, conditions and
actions faithfully, so nothing here could be tested against it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator

from ops.actions.base import Args, HostContext, StepFailed, StepResult
from ops.actions.rest import RestAction, Route
from ops.actions.webproxy import cleared_caches
from ops.rest.failover import Want, route
from ops.rest.finesse_config import ConfigClient, FinesseApiError
from ops.textsafe import has_control, inert_line

Category = Literal["NOT_READY", "LOGOUT"]
CACHE_CLEAR = "utils webproxy cache clear rest"


def _plain(value: str, what: str) -> str:
    if has_control(value):
        raise ValueError(f"{what} must be plain text (no line breaks or control characters)")
    return value


# ---------------------------------------------------------------------- desired state


class ReasonCodeSpec(Args):
    category: Category
    code: int = Field(ge=1, le=65535)  # Unified CCE 1-65535, Unified CCX 1-999 (Finesse says which)
    label: str = Field(min_length=1, max_length=40)
    for_all: bool = Field(True, validation_alias=AliasChoices("for_all", "forAll"))

    _plain_label = field_validator("label")(lambda v: _plain(v, "label"))


class ReasonCodeRef(Args):
    category: Category
    code: int = Field(ge=1, le=65535)


class WrapUpSpec(Args):
    label: str = Field(min_length=1, max_length=40)
    for_all: bool = Field(True, validation_alias=AliasChoices("for_all", "forAll"))

    _plain_label = field_validator("label")(lambda v: _plain(v, "label"))


class ContactSpec(Args):
    first_name: str = Field("", max_length=128, validation_alias=AliasChoices("first_name", "firstName"))
    last_name: str = Field("", max_length=128, validation_alias=AliasChoices("last_name", "lastName"))
    phone_number: str = Field(min_length=1, max_length=32, validation_alias=AliasChoices("phone_number", "phoneNumber"))
    description: str = Field("", max_length=128)

    @field_validator("first_name", "last_name", "phone_number", "description")
    @classmethod
    def _plain_fields(cls, value: str) -> str:
        return _plain(value, "a contact field")

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.first_name, self.last_name, self.phone_number)


class PhoneBookSpec(Args):
    name: str = Field(min_length=1, max_length=64)
    type: Literal["GLOBAL", "TEAM"] = "GLOBAL"
    contacts: list[ContactSpec] | None = None  # None: the book's contacts are not managed

    _plain_name = field_validator("name")(lambda v: _plain(v, "name"))

    @model_validator(mode="after")
    def _unique_contacts(self) -> PhoneBookSpec:
        keys = [c.key for c in self.contacts or []]
        twice = sorted({" ".join(k) for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"phone book {self.name!r} lists a contact twice: {', '.join(twice)}")
        return self


class TeamSpec(Args):
    name: str = Field(min_length=1)
    reason_codes: list[ReasonCodeRef] | None = None  # None: not managed for this team
    wrap_up_reasons: list[str] | None = None
    phone_books: list[str] | None = None


class FinesseConfigArgs(Args):
    reason_codes: list[ReasonCodeSpec] | None = None
    wrap_up_reasons: list[WrapUpSpec] | None = None
    phone_books: list[PhoneBookSpec] | None = None
    teams: list[TeamSpec] | None = None
    prune: bool = False
    plan_only: bool = False
    clear_cache: Literal["auto", "always", "never"] = "auto"
    timeout: float = Field(120.0, gt=0)  # the cache clear's, at the CLI

    @model_validator(mode="after")
    def _consistent(self) -> FinesseConfigArgs:
        problems: list[str] = []

        def once(what: str, keys: list[Any]) -> None:
            twice = sorted({str(k) for k in keys if keys.count(k) > 1})
            if twice:
                problems.append(f"{what} given twice: {', '.join(twice)}")

        codes = self.reason_codes or []
        once("reason code", [f"{r.category} {r.code}" for r in codes])
        once("reason code label", [f"{r.category} {r.label!r}" for r in codes])
        once("wrap-up reason", [w.label for w in self.wrap_up_reasons or []])
        once("phone book", [b.name for b in self.phone_books or []])
        once("team", [t.name for t in self.teams or []])
        global_codes = {(r.category, r.code) for r in codes if r.for_all}
        global_wrap_ups = {w.label for w in self.wrap_up_reasons or [] if w.for_all}
        global_books = {b.name for b in self.phone_books or [] if b.type == "GLOBAL"}
        for team in self.teams or []:
            for ref in team.reason_codes or []:
                if (ref.category, ref.code) in global_codes:
                    problems.append(f"team {team.name!r}: reason code {ref.category} {ref.code} is global "
                                    "(for_all: true); teams are given non-global ones")
            for label in team.wrap_up_reasons or []:
                if label in global_wrap_ups:
                    problems.append(f"team {team.name!r}: wrap-up reason {label!r} is global (for_all: true)")
            for name in team.phone_books or []:
                if name in global_books:
                    problems.append(f"team {team.name!r}: phone book {name!r} is GLOBAL; teams are given TEAM ones")
        if problems:
            raise ValueError("; ".join(problems))
        return self


# ---------------------------------------------------------------------- current state


@dataclass
class Current:
    """The cluster's configuration as read, by natural key (each record keeps its database id)."""

    reason_codes: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    wrap_up_reasons: dict[str, dict[str, Any]] = field(default_factory=dict)
    phone_books: dict[str, dict[str, Any]] = field(default_factory=dict)  # with "contacts" when read
    teams: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> id, name and the lists read
    team_names: list[str] = field(default_factory=list)  # every team on the cluster, read or not


def _by_key(records: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any], what: str) -> dict[Any, Any]:
    found: dict[Any, dict[str, Any]] = {}
    for record in records:
        k = key(record)
        if k in found:
            raise StepFailed(f"the cluster has two {what}s {_show_key(k)} (ids {found[k]['id']} and {record['id']}): "
                             "matching by natural key needs one; remove the duplicate in the administration console")
        found[k] = record
    return found


def _show_key(key: Any) -> str:
    return " ".join(str(k) for k in key) if isinstance(key, tuple) else repr(key)


async def read_current(client: ConfigClient, args: FinesseConfigArgs | None) -> Current:
    """What the cluster holds in the sections `args` manages (every section when None, for export).

    Every team's lists are read when phone books are managed (Finesse refuses to delete, or make
    global, a phone book a team still has: it comes off those teams first) or when pruning (what is
    deleted comes off the teams first): a GET of each list of each team."""
    every = args is None
    every_team = args is not None and (args.phone_books is not None or args.prune)
    current = Current()
    if every or (args is not None and (args.reason_codes is not None or args.teams)):
        records = [r for r in await client.reason_codes() if not r["system_code"]]
        current.reason_codes = _by_key(records, lambda r: (r["category"], r["code"]), "reason code")
    if every or (args is not None and (args.wrap_up_reasons is not None or args.teams)):
        current.wrap_up_reasons = _by_key(await client.wrap_up_reasons(), lambda r: r["label"], "wrap-up reason")
    if every or (args is not None and (args.phone_books is not None or args.teams)):
        current.phone_books = _by_key(await client.phone_books(), lambda r: r["name"], "phone book")
        managed = {b.name for b in (args.phone_books or []) if b.contacts is not None} if args else None
        for name, book in current.phone_books.items():
            if managed is None or name in managed:
                book["contacts"] = await client.contacts(book["id"])
    wanted = {t.name for t in (args.teams or [])} if args is not None else None
    if every or every_team or wanted:
        for team in await client.teams():
            current.team_names.append(team["name"])
            if wanted is not None and not every_team and team["name"] not in wanted:
                continue
            if team["name"] in current.teams:
                raise StepFailed(f"the cluster has two teams named {team['name']!r}: teams are matched by name")
            codes = []
            for category in ("NOT_READY", "LOGOUT"):
                codes += await client.team_reason_codes(team["id"], category)
            team["reason_codes"] = {(r["category"], r["code"]) for r in codes}
            team["wrap_up_reasons"] = {r["label"] for r in await client.team_wrap_up_reasons(team["id"])}
            team["phone_books"] = {r["name"] for r in await client.team_phone_books(team["id"])}
            current.teams[team["name"]] = team
    return current


# ---------------------------------------------------------------------- the plan


Op = Literal["create", "update", "delete", "unassign", "assign"]
PHASES: tuple[Op, ...] = ("unassign", "delete", "update", "create", "assign")


@dataclass
class Change:
    """One call the plan makes; `scope` says whose TeamResource it touches ("global" or "team")."""

    op: Op
    kind: str
    key: str
    detail: str
    scope: Literal["global", "team"]
    apply: Callable[[ConfigClient, dict[str, str]], Awaitable[None]] = field(repr=False)
    shown: bool = True  # False: a step of a change another line of the diff shows whole

    @property
    def line(self) -> str:
        sign = {"create": "+", "delete": "-", "update": "~", "assign": "~", "unassign": "~"}[self.op]
        return f"{sign} {self.kind} {self.key}" + (f": {self.detail}" if self.detail else "")

    def as_data(self) -> dict[str, Any]:
        return {"op": self.op, "kind": self.kind, "key": self.key, "detail": self.detail, "scope": self.scope}


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # on the cluster, not desired, left alone (prune: false)
    unchanged: int = 0

    def counts(self) -> dict[str, int]:
        counts = {op: 0 for op in ("create", "update", "delete")}
        for change in self.changes:
            counts[{"assign": "update", "unassign": "update"}.get(change.op, change.op)] += 1
        return {**counts, "unchanged": self.unchanged, "kept": len(self.kept)}

    def diff(self) -> list[str]:
        lines = [change.line for change in self.changes if change.shown]
        lines += [f"  kept (prune is false): {item}" for item in self.kept]
        c = self.counts()
        lines.append(f"{c['create']} to create, {c['update']} to update, {c['delete']} to delete; "
                     f"{c['unchanged']} unchanged" + (f", {c['kept']} kept" if c["kept"] else ""))
        return lines


def q(text: str) -> str:
    """A label from the appliance, quoted and inert for a terminal."""
    return '"' + inert_line(text).replace('"', '\\"') + '"'


def _scope(for_all: bool) -> Literal["global", "team"]:
    return "global" if for_all else "team"


def _fields_changed(pairs: list[tuple[str, Any, Any]]) -> tuple[dict[str, Any], str]:
    changes = {name: new for name, old, new in pairs if old != new}
    detail = ", ".join(f"{name} {_shown(old)} -> {_shown(new)}" for name, old, new in pairs if old != new)
    return changes, detail


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return q(value) if isinstance(value, str) else str(value)


Apply = Callable[[ConfigClient, dict[str, str]], Awaitable[None]]


def plan(args: FinesseConfigArgs, current: Current) -> Plan:
    """The changes that make `current` what `args` says, in the order they are safe to make."""
    return _Planner(args, current).plan()


class _Planner:
    def __init__(self, args: FinesseConfigArgs, current: Current) -> None:
        self.args, self.current, self.result = args, current, Plan()
        self.by_phase: dict[Op, list[Change]] = {op: [] for op in PHASES}
        # What leaves the cluster (or stops being a team's: a book made GLOBAL), by kind, and what
        # the cluster will hold once the plan is made, for the teams' lists.
        self.going: dict[str, set[Any]] = {"reason code": set(), "wrap-up reason": set(), "phone book": set()}
        self.available: dict[str, set[Any]] = {"reason code": set(current.reason_codes),
                                               "wrap-up reason": set(current.wrap_up_reasons),
                                               "phone book": set(current.phone_books)}

    def add(self, change: Change) -> None:
        self.by_phase[change.op].append(change)

    def left(self, kind: str, key: Any, what: str, scope: Literal["global", "team"], apply: Apply) -> None:
        """On the cluster and not desired: deleted with prune, else kept and said so."""
        if not self.args.prune:
            self.result.kept.append(f"{kind} {what}")
            return
        self.going[kind].add(key)
        self.add(Change("delete", kind, what, "prune", scope, apply))

    def plan(self) -> Plan:
        if self.args.reason_codes is not None:
            self.reason_codes(self.args.reason_codes)
        if self.args.wrap_up_reasons is not None:
            self.wrap_up_reasons(self.args.wrap_up_reasons)
        if self.args.phone_books is not None:
            self.phone_books(self.args.phone_books)
        managed = {team.name: team for team in self.args.teams or []}
        for team in managed.values():
            have = self.current.teams.get(team.name)
            if have is None:
                raise StepFailed(f"team {team.name!r} is not on the cluster (teams come from Unified CCE/CCX; the "
                                 f"cluster has {', '.join(sorted(map(repr, self.current.team_names))) or 'none'})")
            _plan_team(team, have, self.available, self.args.prune, self.going, self.by_phase, self.result)
        for name, have in self.current.teams.items():  # read, not managed: they only lose what is deleted
            if name not in managed:
                _plan_team(TeamSpec(name=name), have, self.available, self.args.prune, self.going, self.by_phase,
                           self.result)
        for op in PHASES:
            self.result.changes += self.by_phase[op]
        return self.result

    def reason_codes(self, specs: list[ReasonCodeSpec]) -> None:
        """Matched by category + code; the label and forAll follow."""
        desired: dict[tuple[str, int], ReasonCodeSpec] = {(r.category, r.code): r for r in specs}
        for key, spec in desired.items():
            have = self.current.reason_codes.get(key)
            self.available["reason code"].add(key)
            name = f"{spec.category} {spec.code}"
            if have is None:
                self.add(Change("create", "reason code", name, f"{q(spec.label)} ({_scope(spec.for_all)})",
                                _scope(spec.for_all), _create_reason_code(spec)))
                continue
            changes, detail = _fields_changed([("label", have["label"], spec.label),
                                               ("forAll", have["for_all"], spec.for_all)])
            if not changes:
                self.result.unchanged += 1
                continue
            ident = have["id"]

            async def update(client: ConfigClient, ids: dict[str, str], ident: str = ident,
                             changes: dict[str, Any] = changes) -> None:
                await client.update_reason_code(ident, changes)

            self.add(Change("update", "reason code", f"{name} {q(have['label'])}", detail,
                            "global" if have["for_all"] or spec.for_all else "team", update))
        for key, have in self.current.reason_codes.items():
            if key not in desired:
                self.left("reason code", key, f"{key[0]} {key[1]} {q(have['label'])}", _scope(have["for_all"]),
                          _delete(lambda c, i: c.delete_reason_code(i), have["id"]))

    def wrap_up_reasons(self, specs: list[WrapUpSpec]) -> None:
        """Matched by label; forAll follows."""
        desired = {w.label: w for w in specs}
        for label, spec in desired.items():
            have = self.current.wrap_up_reasons.get(label)
            self.available["wrap-up reason"].add(label)
            if have is None:
                self.add(Change("create", "wrap-up reason", q(label), _scope(spec.for_all), _scope(spec.for_all),
                                _create_wrap_up(spec)))
            elif have["for_all"] != spec.for_all:
                changes, detail = _fields_changed([("forAll", have["for_all"], spec.for_all)])
                ident = have["id"]

                async def update(client: ConfigClient, ids: dict[str, str], ident: str = ident,
                                 changes: dict[str, Any] = changes) -> None:
                    await client.update_wrap_up_reason(ident, changes)

                self.add(Change("update", "wrap-up reason", q(label), detail, "global", update))
            else:
                self.result.unchanged += 1
        for label, have in self.current.wrap_up_reasons.items():
            if label not in desired:
                self.left("wrap-up reason", label, q(label), _scope(have["for_all"]),
                          _delete(lambda c, i: c.delete_wrap_up_reason(i), have["id"]))

    def phone_books(self, specs: list[PhoneBookSpec]) -> None:
        """Matched by name; the type follows; contacts (when given) by first name + last name + number."""
        desired = {b.name: b for b in specs}
        for name, spec in desired.items():
            have = self.current.phone_books.get(name)
            self.available["phone book"].add(name)
            scope: Literal["global", "team"] = "global" if spec.type == "GLOBAL" else "team"
            if have is None:
                self.add(Change("create", "phone book", q(name), spec.type, scope, _create_book(spec)))
                for contact in spec.contacts or []:
                    self.add(_contact_create(name, contact, scope))
                continue
            if have["type"] != spec.type:
                if spec.type == "GLOBAL":
                    self.going["phone book"].add(name)  # off every team first: Finesse refuses it "In Use"
                ident = have["id"]

                async def update(client: ConfigClient, ids: dict[str, str], ident: str = ident,
                                 kind: str = spec.type) -> None:
                    await client.update_phone_book(ident, {"type": kind})

                self.add(Change("update", "phone book", q(name), f"type {have['type']} -> {spec.type}", "global",
                                update))
            else:
                self.result.unchanged += 1
            if spec.contacts is not None:
                self.contacts(spec, have, scope)
        for name, have in self.current.phone_books.items():
            if name not in desired:
                self.left("phone book", name, q(name), "global" if have["type"] == "GLOBAL" else "team",
                          _delete(lambda c, i: c.delete_phone_book(i), have["id"]))

    def contacts(self, spec: PhoneBookSpec, have: dict[str, Any], scope: Literal["global", "team"]) -> None:
        existing = _by_key(have.get("contacts", []), lambda c: (c["first_name"], c["last_name"], c["phone_number"]),
                           f"contact in phone book {have['name']!r} with the name and number")
        wanted = {c.key: c for c in spec.contacts or []}
        book_id = have["id"]
        for key, contact in wanted.items():
            found = existing.get(key)
            if found is None:
                self.add(_contact_create(spec.name, contact, scope))
            elif found["description"] != contact.description:
                changes, detail = _fields_changed([("description", found["description"], contact.description)])

                async def update(client: ConfigClient, ids: dict[str, str], ident: str = found["id"],
                                 changes: dict[str, Any] = changes) -> None:
                    await client.update_contact(book_id, ident, changes)

                self.add(Change("update", "contact", f"{_contact_name(key)} in {q(spec.name)}", detail, scope,
                                update))
            else:
                self.result.unchanged += 1
        for key, found in existing.items():
            if key in wanted:
                continue

            async def delete(client: ConfigClient, ids: dict[str, str], ident: str = found["id"]) -> None:
                await client.delete_contact(book_id, ident)

            self.left("contact", key, f"{_contact_name(key)} in {q(spec.name)}", scope, delete)


def _contact_name(key: tuple[str, str, str]) -> str:
    first, last, number = key
    return " ".join(p for p in (inert_line(first), inert_line(last)) if p) + f" {inert_line(number)}"


def _contact_create(book: str, contact: ContactSpec, scope: Literal["global", "team"]) -> Change:
    async def create(client: ConfigClient, ids: dict[str, str]) -> None:
        await client.create_contact(ids[f"phone book {book}"], {
            "firstName": contact.first_name, "lastName": contact.last_name, "phoneNumber": contact.phone_number,
            "description": contact.description})

    detail = q(contact.description) if contact.description else ""
    return Change("create", "contact", f"{_contact_name(contact.key)} in {q(book)}", detail, scope, create)


TeamList = Literal["reason_codes", "wrap_up_reasons", "phone_books"]
TEAM_LISTS: tuple[tuple[TeamList, str, str], ...] = (
    ("reason_codes", "reason code", "reason codes"), ("wrap_up_reasons", "wrap-up reason", "wrap-up reasons"),
    ("phone_books", "phone book", "phone books"))


def _wanted(team: TeamSpec, attribute: TeamList) -> set[Any] | None:
    if attribute == "reason_codes":
        return {(r.category, r.code) for r in team.reason_codes} if team.reason_codes is not None else None
    values = team.wrap_up_reasons if attribute == "wrap_up_reasons" else team.phone_books
    return set(values) if values is not None else None


def _plan_team(team: TeamSpec, have: dict[str, Any], available: dict[str, set[Any]], prune: bool,
               going: dict[str, set[Any]], by_phase: dict[Op, list[Change]], result: Plan) -> None:
    """A team's lists: what is to go comes off first (before any delete), what is to come goes on
    last (after the creates); one PUT when the list only shrinks or only grows."""
    for attribute, kind, plural in TEAM_LISTS:
        before: set[Any] = set(have[attribute])
        wanted = _wanted(team, attribute)
        leaving = before & going[kind]
        if wanted is None:
            if leaving:  # an unmanaged list loses only what is being deleted (Finesse would refuse the delete)
                _team_put(team.name, have, attribute, kind, plural, before, before - leaving, "unassign", True,
                          by_phase)
            continue
        missing = sorted((wanted - available[kind]) | (wanted & going[kind]), key=str)
        if missing:
            raise StepFailed(f"team {team.name!r} is given {kind} {', '.join(_ref(kind, k) for k in missing)}, which "
                             "the plan leaves off the cluster: add it to the desired state")
        final = set(wanted) if prune else (before | wanted) - leaving
        if not prune:
            result.kept += [f"{kind} {_ref(kind, k)} on team {q(team.name)}"
                            for k in sorted(before - wanted - leaving, key=str)]
        removed, added = before - final, final - before
        if removed and added:
            _team_put(team.name, have, attribute, kind, plural, before, before - removed, "unassign", False, by_phase)
            _team_put(team.name, have, attribute, kind, plural, before, final, "assign", True, by_phase,
                      start=before - removed)
        elif removed:
            _team_put(team.name, have, attribute, kind, plural, before, final, "unassign", True, by_phase)
        elif added:
            _team_put(team.name, have, attribute, kind, plural, before, final, "assign", True, by_phase)
        else:
            result.unchanged += 1


def _ref(kind: str, key: Any) -> str:
    if kind == "reason code":
        return f"{key[0]} {key[1]}"
    return q(key)


def _id_key(kind: str, key: Any) -> str:
    return f"{kind} {key[0]} {key[1]}" if kind == "reason code" else f"{kind} {key}"


def _team_put(team_name: str, have: dict[str, Any], attribute: TeamList, kind: str, plural: str, before: set[Any],
              after: set[Any], op: Op, shown: bool, by_phase: dict[Op, list[Change]],
              start: set[Any] | None = None) -> None:
    """A PUT of the team's list as `after`; the diff line tells `before` -> `after`; `start` is what the
    list holds when the PUT is made (an earlier unassign of the same list)."""
    detail = ", ".join([f"+ {_ref(kind, k)}" for k in sorted(after - before, key=str)]
                       + [f"- {_ref(kind, k)}" for k in sorted(before - after, key=str)])
    team_id, keys = have["id"], sorted(after, key=str)
    touched = {k[0] for k in (start if start is not None else before) ^ after} if kind == "reason code" else set()

    async def put(client: ConfigClient, ids: dict[str, str]) -> None:
        if attribute == "reason_codes":
            for category in sorted(touched):
                await client.set_team_reason_codes(team_id, category,
                                                   [ids[_id_key(kind, k)] for k in keys if k[0] == category])
        elif attribute == "wrap_up_reasons":
            await client.set_team_wrap_up_reasons(team_id, [ids[_id_key(kind, k)] for k in keys])
        else:
            await client.set_team_phone_books(team_id, [ids[_id_key(kind, k)] for k in keys])

    by_phase[op].append(Change(op, "team", f"{q(team_name)} {plural}", detail, "team", put, shown))


def _create_reason_code(spec: ReasonCodeSpec) -> Apply:
    async def create(client: ConfigClient, ids: dict[str, str]) -> None:
        ids[f"reason code {spec.category} {spec.code}"] = await client.create_reason_code(
            spec.category, spec.code, spec.label, spec.for_all)
    return create


def _create_wrap_up(spec: WrapUpSpec) -> Apply:
    async def create(client: ConfigClient, ids: dict[str, str]) -> None:
        ids[f"wrap-up reason {spec.label}"] = await client.create_wrap_up_reason(spec.label, spec.for_all)
    return create


def _create_book(spec: PhoneBookSpec) -> Apply:
    async def create(client: ConfigClient, ids: dict[str, str]) -> None:
        ids[f"phone book {spec.name}"] = await client.create_phone_book(spec.name, spec.type)
    return create


def _delete(call: Callable[[ConfigClient, str], Awaitable[None]], ident: str) -> Apply:
    async def delete(client: ConfigClient, ids: dict[str, str]) -> None:
        await call(client, ident)
    return delete


def known_ids(current: Current) -> dict[str, str]:
    """The ids of what the cluster holds, by the keys the changes look them up with."""
    ids = {f"reason code {c} {n}": r["id"] for (c, n), r in current.reason_codes.items()}
    ids.update({f"wrap-up reason {label}": r["id"] for label, r in current.wrap_up_reasons.items()})
    ids.update({f"phone book {name}": r["id"] for name, r in current.phone_books.items()})
    return ids


# ---------------------------------------------------------------------- one cluster at a time

# Hosts of one cluster in one run (both nodes in the inventory) configure it one after the other,
# the second finding nothing to do; and each clears its own node's cache if the cluster changed.
_LOCKS: dict[tuple[str, str], asyncio.Lock] = {}
_CHANGED: dict[tuple[str, str], set[str]] = {}


def _cluster_key(ctx: HostContext, chosen: Route) -> tuple[str, str]:
    return (str(ctx.host_dir.parent), chosen.node.name or chosen.node.base_url)


# ---------------------------------------------------------------------- the step


class FinesseConfigAction(RestAction):
    name = "finesse_config"
    changes_state = True
    Args = FinesseConfigArgs
    node: ClassVar[Want] = "primary"
    check_mode: ClassVar[bool] = True  # `check` computes the plan and changes nothing

    def commands(self, args: FinesseConfigArgs) -> list[str]:
        sections = [name for name in ("reason_codes", "wrap_up_reasons", "phone_books", "teams")
                    if getattr(args, name) is not None]
        lines = ["GET /finesse/api/SystemInfo (which node is the primary: configuration goes there)",
                 f"GET the current {', '.join(sections) or 'nothing'} (/finesse/api/ReasonCodes, WrapUpReasons, "
                 "PhoneBooks, Teams ...)"]
        if not args.plan_only:
            lines.append("POST, PUT, DELETE what the plan says" + (" (deletes: prune is true)" if args.prune else
                                                                   " (no deletes: prune is false)"))
            if args.clear_cache != "never":
                lines.append(f"{CACHE_CLEAR} at the CLI ({args.clear_cache}: "
                             + ("after global changes)" if args.clear_cache == "auto" else "after any change)"))
        return lines

    async def check(self, ctx: HostContext, args: FinesseConfigArgs) -> StepResult:
        """--check: the plan, as a readable diff; nothing changes (REST errors fail it as `run` does)."""
        return await self.run(ctx, args.model_copy(update={"plan_only": True}))

    def _planned(self, the_plan: Plan, chosen: Route, why: str) -> StepResult:
        c = the_plan.counts()
        diff = the_plan.diff()
        message = (f"plan on {chosen.node.label}: {c['create']} to create, {c['update']} to update, "
                   f"{c['delete']} to delete ({why}: nothing changed)")
        return StepResult(changed=False, message=message, data={
            "plan": [ch.as_data() for ch in the_plan.changes], "kept": the_plan.kept, "counts": c,
            "diff": diff, "output": "\n".join(diff), "applied": []})

    async def call(self, ctx: HostContext, args: FinesseConfigArgs) -> StepResult:
        http = ctx.rest("finesse")
        chosen = await route(http, self.node)
        client = ConfigClient(http)
        key = _cluster_key(ctx, chosen)
        async with _LOCKS.setdefault(key, asyncio.Lock()):
            current = await read_current(client, args)
            the_plan = plan(args, current)
            if args.plan_only:
                return self._planned(the_plan, chosen, "plan only")
            scopes = _CHANGED.setdefault(key, set())
            applied = await self._apply(client, the_plan, known_ids(current), scopes)
            if the_plan.changes:
                after = plan(args, await read_current(client, args))
                if after.changes:
                    raise StepFailed("the changes were made, but the cluster read back still differs: "
                                     + "; ".join(ch.line for ch in after.changes),
                                     {"applied": applied, "remaining": [ch.as_data() for ch in after.changes]})
            changed_scopes = set(scopes)
        cache = await self._cache(ctx, args, changed_scopes)
        c = the_plan.counts()
        diff = the_plan.diff()
        if the_plan.changes:
            message = (f"{c['create']} created, {c['update']} updated, {c['delete']} deleted on {chosen.node.label}, "
                       "confirmed by reading back")
        else:
            message = f"nothing to do on {chosen.node.label} ({c['unchanged']} unchanged" + (
                f", {c['kept']} kept: prune is false)" if c["kept"] else ")")
        message += f"; {cache['note']}" if cache.get("note") else ""
        return StepResult(changed=bool(applied), message=message, data={
            "plan": [ch.as_data() for ch in the_plan.changes], "kept": the_plan.kept, "counts": c, "diff": diff,
            "output": "\n".join(diff), "applied": applied, "cache": cache})

    @staticmethod
    async def _apply(client: ConfigClient, the_plan: Plan, ids: dict[str, str],
                     scopes: set[str]) -> list[dict[str, Any]]:
        """Each change in order, each reported; the first refusal stops the step, saying what was made."""
        applied: list[dict[str, Any]] = []
        for change in the_plan.changes:
            try:
                await change.apply(client, ids)
            except FinesseApiError as exc:
                made = f"{len(applied)} change(s) made before it" if applied else "nothing was changed before it"
                raise StepFailed(
                    f"{change.line}: Finesse refused it with HTTP {exc.status} {inert_line(exc.error_type)}: "
                    f"{inert_line(exc.error_message)}" + (f" ({inert_line(exc.error_data)})" if exc.error_data else "")
                    + f"; {made}",
                    {"api_error": exc.as_data(), "failed": change.as_data(), "applied": applied,
                     "plan": [ch.as_data() for ch in the_plan.changes]}) from None
            applied.append(change.as_data())
            scopes.add(change.scope)
            client.http.note(f"finesse_config: {change.line}")
        return applied

    async def _cache(self, ctx: HostContext, args: FinesseConfigArgs, scopes: set[str]) -> dict[str, Any]:
        """The webproxy cache after the cluster changed in this run (seed 001), cleared where Finesse
        is not said to clear it."""
        from ops.parsers.errors import one_line
        from ops.session.errors import CommandFailed

        info: dict[str, Any] = {"mode": args.clear_cache, "finesse_clears_team_resources": "team" in scopes,
                                "global_items_changed": "global" in scopes, "cleared": False}
        if not scopes:
            return info
        if (args.clear_cache == "auto" and "global" in scopes) or args.clear_cache == "always":
            channel = await ctx.channel()
            try:
                output = await channel.send(CACHE_CLEAR, timeout=args.timeout)
            except CommandFailed as exc:
                raise StepFailed(f"the configuration was applied, but {CACHE_CLEAR!r} failed: {one_line(exc.output)}",
                                 {"cache": info, "output": exc.output}) from None
            if cleared_caches(output, "rest") is None:
                raise StepFailed(f"the configuration was applied, but {CACHE_CLEAR!r} did not report a cleared "
                                 f"cache: {one_line(output)}", {"cache": info, "output": output})
            info.update(cleared=True, command=CACHE_CLEAR,
                        note=f"REST cache of {ctx.host.name}'s node cleared ({CACHE_CLEAR})")
        elif "global" in scopes:
            info["note"] = ("global items changed and the cache was not cleared (clear_cache: never): agents' "
                            "TeamResource may be stale until it is")
        else:
            info["note"] = "Finesse clears the changed teams' TeamResource cache itself (seed 001)"
        return info
