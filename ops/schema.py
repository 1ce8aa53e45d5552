"""JSON Schemas for playbooks, inventories and report.json, for editors and other tools.

`ops schema playbook` and `ops schema inventory` are generated from the very models the loaders
validate with (`PlaybookHeader`, every registered action's `Args`, `InventoryFile`), so a new
action or option appears in the schema by itself. Save one and point the editor at it, e.g. for
the YAML language server (VS Code's YAML extension) as a file's first line:

    # yaml-language-server: $schema=../playbook.schema.json

A step is `oneOf` the actions: `{name, when, register, ignore_errors, <action>: <its args>}`,
nothing else. Wherever an action argument expects a number, a boolean, a choice or a constrained
string, a `{{ template }}` string is accepted too, as the loader accepts it (a value that is only
a template keeps the type of the variable). The schema checks shapes and types; the loader
(`ops validate`) still checks what a schema cannot say: undefined variables, duplicate step
names, one unit in `reltime`, a valid `match` regex.

`ops schema report` is the (hand-written) schema of report.json, schema_version 1.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

from ops.report import STEP_STATUSES

DIALECT = "https://json-schema.org/draft/2020-12/schema"
TEMPLATE_DEF: dict[str, Any] = {"type": "string", "pattern": r"\{\{.*\}\}",
                                "description": "a {{ template }}, rendered for each host before the step runs"}
TEMPLATE: dict[str, Any] = {"$ref": "#/$defs/template"}
SECRET_REFERENCE = r"^(?:(?:env|file):.+|prompt(?::.*)?)$"
_ANNOTATIONS = ("title", "description", "default", "examples", "deprecated")
_CHILD_MAPS = ("properties", "patternProperties", "$defs")
_CHILD_ONE = ("items", "additionalProperties", "not", "contains")
_BRANCHES = ("anyOf", "oneOf", "allOf", "prefixItems")


def _plain_string(node: dict[str, Any]) -> bool:
    """A schema any string satisfies (so a template already does)."""
    constraining = set(node) - set(_ANNOTATIONS)
    return constraining == {"type"} and node["type"] == "string"


def _inner(node: dict[str, Any]) -> dict[str, Any]:
    """Allow templates inside `node` (its properties, items, branches), not for `node` itself."""
    out = dict(node)
    for key in _CHILD_MAPS:
        if isinstance(out.get(key), dict):
            wrap = _templated if key != "$defs" else _inner
            out[key] = {name: wrap(child) if isinstance(child, dict) else child for name, child in out[key].items()}
    for key in _CHILD_ONE:
        if isinstance(out.get(key), dict):
            out[key] = _templated(out[key])
    for key in _BRANCHES:
        if isinstance(out.get(key), list):
            out[key] = [_inner(branch) if isinstance(branch, dict) else branch for branch in out[key]]
    return out


def _templated(node: dict[str, Any]) -> dict[str, Any]:
    """`node`, or a `{{ template }}` string in its place."""
    node = _inner(node)
    if node.get("format") == "date-time":
        # The loader parses several time notations (hh:mm:MM/DD/YY, YYYY-MM-DD HH:MM), not RFC 3339 only.
        node = {k: v for k, v in node.items() if k != "format"}
    if _plain_string(node) or node == {} or node == TEMPLATE:
        return node
    if isinstance(node.get("anyOf"), list) and set(node) - set(_ANNOTATIONS) == {"anyOf"}:
        if not any(_plain_string(b) for b in node["anyOf"] if isinstance(b, dict)):
            node["anyOf"] = [*node["anyOf"], TEMPLATE]
        return node
    annotations = {k: node[k] for k in _ANNOTATIONS if k in node}
    core = {k: v for k, v in node.items() if k not in _ANNOTATIONS}
    return {**annotations, "anyOf": [core, TEMPLATE]}


def _doc_line(obj: Any) -> str:
    module = sys.modules.get(type(obj).__module__)
    doc = (getattr(module, "__doc__", None) or type(obj).__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


_CONDITION: dict[str, Any] = {"anyOf": [{"type": ["string", "boolean"]},
                                        {"type": "array", "items": {"type": ["string", "boolean"]}}]}


def playbook_schema() -> dict[str, Any]:
    from pydantic.json_schema import models_json_schema

    from ops.actions import ACTIONS
    from ops.playbook import STEP_KEYS, VAR_NAME_RE, PlaybookHeader

    refs, defs = models_json_schema([(action.Args, "validation") for action in ACTIONS.values()],
                                    ref_template="#/$defs/{model}")
    all_defs = {name: _inner(schema) for name, schema in defs.get("$defs", {}).items()}
    common: dict[str, Any] = {
        "name": {"type": "string", "pattern": r"\S", "description": "what the step does ({{ templates }} allowed)"},
        "when": {**_CONDITION, "description": "run the step only when this holds: a Jinja2 expression (no {{ }}), "
                                              "true/false, or a list of them that must all hold"},
        "register": {"type": "string", "pattern": VAR_NAME_RE.pattern,
                     "description": "keep the step's result under this variable name"},
        "ignore_errors": {"type": "boolean", "default": False, "description": "a failure does not stop the host"},
        "tags": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                 "description": "select steps with ops run --tags / --skip-tags (always, never as in Ansible)"},
        "failed_when": {**_CONDITION, "description": "the step failed when this holds (its result: the register name)"},
        "changed_when": {**_CONDITION, "description": "the step changed something when this holds"},
        "until": {**_CONDITION, "description": "run the step again (retries, delay) until this holds"},
        "retries": {"type": "integer", "minimum": 0, "maximum": 100, "default": 3,
                    "description": "with until: runs after the first"},
        "delay": {"type": "number", "minimum": 0, "maximum": 3600, "default": 5,
                  "description": "with until: seconds between runs"},
        "repeat_changes": {"type": "boolean", "default": False,
                           "description": "until: may repeat a step that changes the appliance"},
        "loop": {"anyOf": [{"type": "array"}, {"type": "string"}],
                 "description": "run the step once per item (a list, or a template giving one); the item is `item`"},
        "loop_control": {"type": "object", "additionalProperties": False, "properties": {
            "loop_var": {"type": "string", "pattern": VAR_NAME_RE.pattern, "default": "item"},
            "label": {"type": "string"}, "pause": {"type": "number", "minimum": 0}}},
    }
    assert set(common) == STEP_KEYS, "the schema's step keys follow the loader's"
    steps = []
    for name, action in sorted(ACTIONS.items()):
        args_ref = refs[(action.Args, "validation")]
        steps.append({
            "title": name,
            "description": _doc_line(action),
            "type": "object",
            "properties": {**common, name: {"anyOf": [args_ref, {"type": "null"}], "description": _doc_line(action)}},
            "required": ["name", name],
            "additionalProperties": False,
        })
    schema = PlaybookHeader.model_json_schema(mode="validation")
    props = schema["properties"]
    props["name"]["description"] = "what the playbook is for"
    props["hosts"]["description"] = "which hosts: all, a group, a host, a glob, a,b, !excluded"
    props["vars"].update(description="playbook variables (override inventory vars)",
                         propertyNames={"pattern": VAR_NAME_RE.pattern})
    props["steps"] = {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/step"},
                      "description": "named steps, each exactly one action"}
    all_defs["step"] = {"oneOf": steps}
    all_defs["template"] = TEMPLATE_DEF
    return {"$schema": DIALECT, **schema, "title": "finesse-ops playbook", "$defs": all_defs}


def inventory_schema() -> dict[str, Any]:
    from ops.inventory import NAME_RE, InventoryFile

    schema = copy.deepcopy(InventoryFile.model_json_schema(mode="validation"))
    for model in ("HostFields", "RestFields"):
        for field in ("password", "gws_password"):
            prop = schema.get("$defs", {}).get(model, {}).get("properties", {}).get(field)
            if prop is None:
                continue
            for branch in prop.get("anyOf", [prop]):
                if branch.get("type") == "string":
                    branch["pattern"] = SECRET_REFERENCE
            prop.setdefault("description", "a secret reference: env:NAME, file:PATH, prompt or prompt:LABEL")
    for key in ("hosts", "groups"):
        schema["properties"][key]["propertyNames"] = {"pattern": NAME_RE.pattern}
    return {"$schema": DIALECT, **schema, "title": "finesse-ops inventory"}


_STATUS_HOST = ["ok", "failed", "skipped"]


def report_schema() -> dict[str, Any]:
    """report.json, schema_version 1 (see ops.report): what a consumer may rely on."""
    from ops.report import SCHEMA_VERSION

    time = {"type": "string", "description": "ISO 8601 UTC time, or empty when it did not start"}
    nullable = {"type": ["string", "null"]}
    return {
        "$schema": DIALECT,
        "title": "finesse-ops run report (report.json)",
        "type": "object",
        "required": ["schema_version", "run_id", "playbook", "playbook_name", "started", "finished",
                     "duration_s", "check", "hosts"],
        "properties": {
            "schema_version": {"const": SCHEMA_VERSION},
            "run_id": {"type": "string", "description": "the run directory's name"},
            "playbook": {"type": "string", "description": "the playbook's path as given"},
            "playbook_name": {"type": "string"},
            "started": time, "finished": time,
            "duration_s": {"type": "number", "minimum": 0},
            "check": {"type": "boolean", "description": "a --check run: nothing was sent"},
            "interrupted": {"type": "boolean", "description": "the run was stopped (Ctrl-C) before it finished"},
            "hosts": {"type": "object", "additionalProperties": {"$ref": "#/$defs/host"}},
        },
        "$defs": {
            "host": {
                "type": "object",
                "required": ["status", "steps", "files"],
                "properties": {
                    "status": {"enum": _STATUS_HOST},
                    "error": {**nullable, "description": "why the host failed"},
                    "started": time,
                    "duration_s": {"type": "number", "minimum": 0},
                    "transcript": {**nullable, "description": "path of transcript.log, relative to the run directory"},
                    "manifest": {**nullable, "description": "path of manifest.json, relative to the run directory"},
                    "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}},
                    "files": {"type": "array", "items": {"$ref": "#/$defs/file"}},
                },
            },
            "step": {
                "type": "object",
                "required": ["name", "action", "status"],
                "properties": {
                    "name": {"type": "string"},
                    "action": {"type": "string"},
                    "status": {"enum": list(STEP_STATUSES)},
                    "message": {"type": "string"},
                    "started": time,
                    "duration_s": {"type": "number", "minimum": 0},
                    "data": {"type": "object", "description": "the action's result (what `register:` keeps)"},
                },
            },
            "file": {
                "type": "object",
                "required": ["path", "size", "sha256"],
                "properties": {
                    "path": {"type": "string", "description": "relative to <host>/files/"},
                    "size": {"type": "integer", "minimum": 0},
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                },
            },
        },
    }


SCHEMAS = {"playbook": playbook_schema, "inventory": inventory_schema, "report": report_schema}
