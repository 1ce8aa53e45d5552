"""YAML documents that remember where each value came from, and errors that say so.

Playbooks and inventories are validated before any host is touched; every problem is reported as
`file:line: key: message`, the way an editor or an admin wants to read it.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ops.textsafe import inert_line

Loc = tuple[str | int, ...]
MAX_FILE_BYTES = 2 * 1024 * 1024
# What a document may expand to, aliases followed (a few hundred bytes of nested aliases expand
# to billions of values: every later walk, validation and templating, would take that long), and
# how deep it may nest.
MAX_NODES = 1_000_000
MAX_DEPTH = 64


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    key: str
    message: str
    column: int | None = None  # for YAML syntax errors: where on the line the parser stopped

    def __str__(self) -> str:
        # One line each, and data, never markup: a key or a file name from the input may hold a
        # line break or an escape sequence (`hosts."fin1\e[2J"`); shown as escapes.
        where = f"{inert_line(self.file)}:{self.line}" if self.line else inert_line(self.file)
        if self.line and self.column:
            where += f":{self.column}"
        message = inert_line(self.message)
        return f"{where}: {inert_line(self.key)}: {message}" if self.key else f"{where}: {message}"


@dataclass
class InputError(Exception):
    """Bad input (playbook, inventory, flags): one or more problems, each with its place."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


@dataclass
class Document:
    """A parsed YAML file with the line of every mapping key and sequence item."""

    path: Path
    data: Any
    lines: dict[Loc, int]

    def line(self, loc: Iterable[str | int]) -> int | None:
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)

    def problem(self, loc: Iterable[str | int], message: str) -> Problem:
        loc = tuple(loc)
        return Problem(str(self.path), self.line(loc), dotted(loc), message)


def dotted(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate keys. The pure-Python one, whatever PyYAML was built
    with: libyaml words its errors otherwise, and an admin's error must read the same everywhere."""


def _no_duplicates(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen[key]})", key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)  # type: ignore[arg-type]


def _positions(node: yaml.Node | None, loc: Loc, out: dict[Loc, int], seen: set[int] | None = None) -> None:
    """The line of every key and item. A node reached again through an alias is not walked again
    (nested aliases would multiply the walk with each level); its own line is recorded."""
    if node is None:
        return
    out.setdefault(loc, node.start_mark.line + 1)
    seen = set() if seen is None else seen
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[loc + (key,)] = key_node.start_mark.line + 1
            _positions(value_node, loc + (key,), out, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _positions(item, loc + (index,), out, seen)


def _expanded_size(node: yaml.Node, path: Path, sizes: dict[int, int], active: set[int], depth: int = 0) -> int:
    """How many nodes `node` stands for once every alias is followed (memoized: linear in the file)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    mark = node.start_mark.line + 1
    if key in active:
        raise InputError([Problem(str(path), mark, "", "invalid YAML: an alias refers to a node that contains it")])
    if depth > MAX_DEPTH:
        raise InputError([Problem(str(path), mark, "", f"invalid YAML: nested more than {MAX_DEPTH} levels deep")])
    active.add(key)
    total = 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise InputError([Problem(str(path), key_node.start_mark.line + 1, "",
                                          "invalid YAML: a mapping key must be a plain value, not a list or mapping")])
            total += 1 + _expanded_size(value_node, path, sizes, active, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            total += _expanded_size(item, path, sizes, active, depth + 1)
    active.discard(key)
    sizes[key] = total
    if total > MAX_NODES:
        raise InputError([Problem(str(path), mark, "", f"invalid YAML: expands to more than {MAX_NODES} values "
                                                       "(aliases nested in aliases)")])
    return total


def load(path: Path, what: str) -> Document:
    """Read and parse one YAML file; any problem is an InputError naming file and line."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            # A FIFO would block the loader, a device would never end.
            raise InputError([Problem(str(path), None, "", f"{what} is not a regular file")])
        if info.st_size > MAX_FILE_BYTES:
            raise InputError([Problem(str(path), None, "", f"{what} is {info.st_size} bytes; the limit is "
                                                          f"{MAX_FILE_BYTES}")])
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)  # bounded even if the file grows meanwhile
        if len(raw) > MAX_FILE_BYTES:
            raise InputError([Problem(str(path), None, "", f"{what} is over {MAX_FILE_BYTES} bytes")])
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise InputError([Problem(str(path), None, "", f"{what} not found")]) from None
    except UnicodeDecodeError as exc:
        raise InputError([Problem(str(path), None, "", f"{what} is not UTF-8 text ({exc.reason})")]) from None
    except OSError as exc:
        raise InputError([Problem(str(path), None, "", f"cannot read {what}: {exc.strerror}")]) from None
    try:
        loader = _Loader(text)  # one parse gives both the nodes (for lines) and the data
        try:
            node = loader.get_single_node()
            if node is not None:
                _expanded_size(node, path, {}, set())
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        message = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        if "!vault" in message:
            message += (" (an ansible-vault value: finesse-ops does not decrypt vault; read the inventory "
                        "through `ansible-inventory --list`, or use a cmd: secret reference)")
        raise InputError([Problem(str(path), line, "", f"invalid YAML: {message}",
                                  column=mark.column + 1 if mark else None)]) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(str(path), None, "", f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise InputError([Problem(str(path), None, "", "invalid YAML: nested too deeply")]) from None
    except TypeError as exc:  # e.g. an unhashable key PyYAML let through
        raise InputError([Problem(str(path), None, "", f"invalid YAML: {exc}")]) from None
    lines: dict[Loc, int] = {}
    _positions(node, (), lines)
    return Document(path, data, lines)


def validate(doc: Document, model: type[BaseModel]) -> Any:
    """Validate the whole document with a pydantic model, mapping errors to lines."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(problems_from(doc, exc, model=model)) from None


def problems_from(doc: Document, exc: ValidationError, loc: Loc = (),
                  model: type[BaseModel] | None = None) -> list[Problem]:
    """One problem per error; a union's alternatives are folded into the most specific complaint.

    With the `model` that was validated, an unknown key gets "did you mean" and the keys allowed there.
    """
    located: list[tuple[Loc, str]] = []
    for error in exc.errors():
        raw = tuple(error["loc"])
        where: Loc = loc
        for index, part in enumerate(raw):
            # pydantic names the union member it tried (`bool`, `LabOptions`, `function-...`):
            # not a key of the document, so not part of where the problem is.
            if isinstance(part, str) and index < len(raw) - 1 and where + (part,) not in doc.lines:
                continue
            where = where + (part,)
        message = _message(error)
        if error["type"] == "extra_forbidden" and model is not None:
            message = unknown_key(str(raw[-1]), _keys_at(model, raw[:-1]))
        elif error["type"] in _EXPECTED and model is not None:
            example = _example_at(model, raw)
            if example is not None:
                message += f" (e.g. {example})"
        located.append((where, message))
    deepest = [(w, m) for w, m in located
               if not any(len(o) > len(w) and o[:len(w)] == w for o, _ in located)]
    problems: list[Problem] = []
    for where, message in dict.fromkeys(deepest):
        problems.append(doc.problem(where, message))
    return problems


def unknown_key(key: str, valid: Iterable[str] | None, what: str = "key") -> str:
    """ "unknown key 'hots'; did you mean 'hosts'? (keys here: ...)" """
    import difflib

    choices = sorted(valid or ())
    message = f"unknown {what}"
    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6)
    if close:
        message += f"; did you mean {close[0]!r}?"
    if choices:
        message += f" ({what}s here: {', '.join(choices)})"
    return message


def _keys_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str] | None:
    """The keys the model allows at `loc` (pydantic's error location, union members included)."""
    import typing

    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                continue  # a union member's name that pydantic puts in the location
            current = field.annotation
            continue
        origin = typing.get_origin(current)
        args = typing.get_args(current)
        if origin in (dict, typing.Mapping) and len(args) == 2 or origin is dict:
            current = args[1] if len(args) == 2 else Any
        elif origin in (list, tuple, set) and args:
            current = args[0]
        else:
            return None
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return None


def _example_at(model: type[BaseModel], loc: tuple[Any, ...]) -> str | None:
    """`key: example` from the field's `examples`, for the field the error is about (or one above it)."""
    import json

    for end in range(len(loc), 0, -1):
        parent = _keys_at(model, loc[:end - 1])
        if parent is None or str(loc[end - 1]) not in parent:
            continue
        owner: Any = model
        for part in loc[:end - 1]:
            owner = _unwrap(owner)
            field = owner.model_fields.get(str(part)) if isinstance(owner, type) and issubclass(owner, BaseModel) \
                else None
            if field is not None:
                owner = field.annotation
        owner = _unwrap(owner)
        if not (isinstance(owner, type) and issubclass(owner, BaseModel)):
            return None
        info = owner.model_fields[str(loc[end - 1])]
        if info.examples:
            value = json.dumps(info.examples[0]).replace('"', "")
            return f"{loc[end - 1]}: {value}"
    return None


def _unwrap(annotation: Any) -> Any:
    """The model in `X | None`, `Annotated[X, ...]` (the first model of a union)."""
    import types
    import typing

    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for member in typing.get_args(annotation):
            inner = _unwrap(member)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return annotation


# What a value of the wrong type should have looked like: pydantic's error type -> an example.
_EXPECTED = {
    "dict_type": "a mapping, e.g. {key: value}",
    "model_type": "a mapping, e.g. {key: value}",
    "model_attributes_type": "a mapping, e.g. {key: value}",
    "list_type": "a list, e.g. [a, b]",
    "int_type": "a whole number, e.g. 7",
    "int_parsing": "a whole number, e.g. 7",
    "int_from_float": "a whole number, e.g. 7",
    "float_type": "a number, e.g. 2.5",
    "float_parsing": "a number, e.g. 2.5",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text, e.g. \"show version active\" (quote it if it looks like a number or true/false)",
}


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    expected = _EXPECTED.get(kind)
    if expected is not None:
        # The kind of value only, never the value: it may be a password typed where a reference goes.
        return f"expected {expected}; got {_kind(error.get('input'))}"
    return message
