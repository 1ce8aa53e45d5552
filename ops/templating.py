"""Jinja2 templates in playbook values, and `when:` conditions, the way Ansible admins write them.

A string value with `{{ }}` or `{% %}` in it is a Jinja2 template, rendered for each host before
its step runs; a value that is one `{{ expr }}` and nothing else keeps the expression's type, so
`reltime: {days: "{{ days | int }}"}` gives an int (text around it gives a string, with booleans
written `true`/`false`). A `when:` is a bare expression (`logs.files_received > 0 and not dry`),
true/false, or a list of expressions that must all hold, as in Ansible.

Ansible's everyday filters (`default`, `int`, `bool`, `regex_search`, `to_json`, `combine`,
`dict2items` ...) and tests (`defined`, `match`, `search`, `version`, `failed`, `changed` ...)
work; see FILTERS and TESTS below. Undefined names are errors (StrictUndefined), found when the
playbook loads (`references`, `condition_names`): a name only used behind `| default(...)` or
`is defined` is not required.

Rendering happens in Jinja2's immutable sandbox: no attribute starting with `_`
(`''.__class__.__mro__` is refused), no method that changes a list or dict, nothing of a secret
but its mask, no other template loaded. It is also bounded: `range()` to MAX_RANGE items,
`*`, `+` and `**` to MAX_SIZE items / MAX_INT_BITS bits, padding and format widths to MAX_WIDTH,
a rendered string to MAX_SIZE characters, a template to MAX_TEMPLATE characters, a loop may not
hold another loop, a render stops after TIME_LIMIT seconds, and regular expressions run under
ops.patterns' time bound. These bounds stop accidents and the obvious abuses; a playbook is still
code, to be reviewed like an Ansible one before it runs.

A Secret in the context stays a Secret: `{{ password }}` alone gives the Secret object, inside
text it is written as its mask (`********`), and no attribute or method of it can be reached.
Every error is a TemplateError of one line naming the template, passed through secrets.mask.
"""

from __future__ import annotations

import base64
import datetime
import json
import posixpath
import re
import string
import threading
import time
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import Any

import regex
import yaml
from jinja2 import ChainableUndefined, StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError, nodes
from jinja2 import TemplateError as JinjaError
from jinja2.environment import Template
from jinja2.meta import find_undeclared_variables
from jinja2.nativetypes import NativeCodeGenerator
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from ops.patterns import TIMEOUT, compile_pattern
from ops.secrets import MASK, Secret, mask

__all__ = ["FILTERS", "TESTS", "TemplateError", "condition_names", "describe", "evaluate", "is_template",
           "references", "render", "template_strings"]

MAX_TEMPLATE = 10_000  # characters of one template
MAX_CONDITION = 1000  # characters of a `when:` condition
MAX_SIZE = 1_000_000  # characters (or items) a string or list built by a template may have
MAX_WIDTH = 10_000  # a padding or format width
MAX_RANGE = 10_000  # items of range()
MAX_INT_BITS = 100_000  # bits of an integer built with **
TIME_LIMIT = 1.0  # seconds one render may take


class TemplateError(ValueError):
    """A template or condition that cannot be read, refers to an undefined variable, or is refused."""


class _Why(Exception):
    """Why a template failed, before it is known which template (TemplateError adds that)."""


# --- time and size bounds -------------------------------------------------------------------

_clock = threading.local()


def _tick() -> None:
    deadline = getattr(_clock, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        _clock.deadline = None  # one report, not one from every frame on the way out
        raise _Why(f"took over {TIME_LIMIT:g}s (a loop over too much?); refused")


def _refuse(what: str) -> _Why:
    return _Why(f"{what}; refused")


def _bounded_range(*args: int) -> range:
    _tick()
    items = range(*args)
    if len(items) > MAX_RANGE:
        raise _refuse(f"range() of {len(items)} items is over the limit of {MAX_RANGE}")
    return items


def _check_widths(what: str, values: Iterable[Any]) -> None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_WIDTH:
            raise _refuse(f"{what} width {value} is over the limit of {MAX_WIDTH}")


_PERCENT_RE = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent(fmt: str) -> None:
    for match in _PERCENT_RE.finditer(fmt):
        for width in match.groups():
            if width == "*":
                raise _refuse("a '*' width in a % format")
            if width is not None:
                _check_widths("format", [int(width)])


def _check_format(fmt: str) -> None:
    """A str.format string: no nested fields in a spec, no width over MAX_WIDTH."""
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError as exc:
        raise _Why(f"bad format string: {exc}") from None
    for _literal, _name, spec, _conversion in fields:
        if spec and "{" in spec:
            raise _refuse("a nested field in a format spec")
        _check_widths("format", [int(n) for n in re.findall(r"\d+", spec or "")])


def _check_replace(text: Any, old: Any, new: Any, count: Any = None) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        times = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            times = min(times, count)
        if len(text) + times * len(new) > MAX_SIZE:
            raise _refuse(f"replace() would make over {MAX_SIZE} characters")


def _check_size(what: str, size: int) -> None:
    if size > MAX_SIZE:
        raise _refuse(f"{what} would make {size} items, over the limit of {MAX_SIZE}")


_SEQUENCES = (str, list, tuple, bytes)


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, _SEQUENCES) and isinstance(times, int):
                _check_size("'*'", len(seq) * times)
    elif operator == "+":
        if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            _check_size("'+'", len(left) + len(right))
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
            bits = right * abs(left).bit_length()
            if bits > MAX_INT_BITS:
                raise _refuse(f"'**' would make a number of about {bits} bits, over the limit of {MAX_INT_BITS}")
    elif operator == "%" and isinstance(left, str):
        _check_percent(left)


_PADDING = {"center", "ljust", "rjust", "zfill", "expandtabs"}


def _check_call(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    owner, name = getattr(func, "__self__", None), getattr(func, "__name__", "")
    if isinstance(owner, str):
        if name in _PADDING:
            _check_widths(name + "()", [*args, *kwargs.values()])
        elif name == "replace":
            _check_replace(owner, *args[:3])


# --- the environment --------------------------------------------------------------------------

class _Undefined(ChainableUndefined, StrictUndefined):
    """Strict (printing, testing or comparing it is an error) but chainable, as in Ansible:
    `x.y | default(1)` works when x itself is undefined."""

    __slots__ = ()


def _text(value: Any) -> str:
    """A value written into text: booleans as YAML writes them, a Secret as its mask."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, (Iterator, range, KeysView, ValuesView, ItemsView)):
        value = _materialize(value)
    return str(value)


class _CodeGenerator(NativeCodeGenerator):
    """Native output (a lone `{{ expr }}` keeps its type) for constants too: `{{ 2 }}` is 2."""

    def _output_const_repr(self, group: Iterable[Any]) -> str:
        group = list(group)
        if len(group) == 1:
            return repr(group[0])
        return repr("".join(_text(v) for v in group))


class _Environment(ImmutableSandboxedEnvironment):
    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "+", "**", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, Secret):
            return False  # its reveal() is for the moment a value goes out on a socket, never a template
        return super().is_safe_attribute(obj, attr, value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        if isinstance(obj, Undefined):
            return obj  # chained: using it says which name is undefined
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        if isinstance(obj, Undefined):
            return obj
        return super().getitem(obj, argument)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        _tick()
        _check_call(obj, args, kwargs)
        return super().call(context, obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        _check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_format(value.__self__)
        return wrapped


# --- Ansible's filters and tests --------------------------------------------------------------

BOOLEANS_TRUE = frozenset({"y", "yes", "on", "1", "true", "t"})
BOOLEANS_FALSE = frozenset({"n", "no", "off", "0", "false", "f", ""})


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else _text(value)


def to_bool(value: Any) -> bool:
    """Ansible's `bool`: yes/no, true/false, on/off, y/n, t/f, 1/0 (any case); anything else is an error."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in BOOLEANS_TRUE:
            return True
        if word in BOOLEANS_FALSE:
            return False
    shown = "a secret" if isinstance(value, Secret) else repr(value)[:60]
    raise _Why(f"cannot read {shown} as a boolean (yes/no, true/false, on/off, 1/0)")


def _pattern(pattern: Any, ignorecase: bool = False, multiline: bool = False) -> Any:
    flags = (regex.IGNORECASE if ignorecase else 0) | (regex.MULTILINE if multiline else 0)
    try:
        return compile_pattern(_as_text(pattern), flags)
    except ValueError as exc:
        raise _Why(f"bad regular expression {str(pattern)[:80]!r}: {exc}") from None


def _timed(compiled: Any, what: str, call: Callable[[], Any], size: int) -> Any:
    try:
        return call()
    except TimeoutError:
        raise _Why(f"{what} {compiled.pattern[:80]!r} took over {TIMEOUT:g}s on {size} characters "
                   "(a pattern that backtracks without end?); refused") from None


def regex_search(value: Any, pattern: Any, *groups: str, ignorecase: bool = False,
                 multiline: bool = False) -> Any:
    """Ansible's: the match (or the listed groups, `'\\1'`, `'\\g<name>'`), None when nothing matches."""
    text, compiled = _as_text(value), _pattern(pattern, ignorecase, multiline)
    wanted: list[int | str] = []
    for group in groups:
        named, numbered = re.fullmatch(r"\\g<(\w+)>", str(group)), re.fullmatch(r"\\(\d+)", str(group))
        if named:
            wanted.append(named.group(1))
        elif numbered:
            wanted.append(int(numbered.group(1)))
        else:
            raise _Why(f"regex_search: unknown argument {group!r} (groups are '\\\\1' or '\\\\g<name>')")
    match = _timed(compiled, "regex_search", lambda: compiled.search(text, timeout=TIMEOUT), len(text))
    if match is None:
        return None
    return [match.group(g) for g in wanted] if wanted else match.group(0)


def regex_findall(value: Any, pattern: Any, multiline: bool = False, ignorecase: bool = False) -> list[Any]:
    text, compiled = _as_text(value), _pattern(pattern, ignorecase, multiline)
    found: list[Any] = _timed(compiled, "regex_findall", lambda: compiled.findall(text, timeout=TIMEOUT), len(text))
    return found


def regex_replace(value: Any = "", pattern: Any = "", replacement: Any = "", ignorecase: bool = False,
                  multiline: bool = False, count: int = 0) -> str:
    text, compiled = _as_text(value), _pattern(pattern, ignorecase, multiline)
    out: str = _timed(compiled, "regex_replace",
                      lambda: compiled.sub(_as_text(replacement), text, count=count, timeout=TIMEOUT), len(text))
    _check_size("regex_replace", len(out))
    return out


def regex_escape(value: Any) -> str:
    return re.escape(_as_text(value))


def _json_default(value: Any) -> Any:
    if isinstance(value, Secret):
        raise _Why("a secret cannot be written as JSON")
    if isinstance(value, (Iterator, range, KeysView, ValuesView, ItemsView, set, frozenset)):
        return _materialize(value)
    raise _Why(f"cannot write a {type(value).__name__} as JSON")


def to_json(value: Any, indent: int | None = None, sort_keys: bool = False, **_: Any) -> str:
    return json.dumps(value, indent=indent, sort_keys=sort_keys, ensure_ascii=False, default=_json_default)


def to_nice_json(value: Any, indent: int = 4, sort_keys: bool = True, **_: Any) -> str:
    return to_json(value, indent=indent, sort_keys=sort_keys)


def from_json(value: Any) -> Any:
    try:
        return json.loads(_as_text(value))
    except json.JSONDecodeError as exc:
        raise _Why(f"from_json: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None


class _DataLoader(yaml.SafeLoader):
    """from_yaml reads data from an appliance or a variable: no aliases (a few bytes of nested ones
    stand for billions of values)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "from_yaml does not accept aliases",
                                              self.peek_event().start_mark)
        return super().compose_node(parent, index)


def from_yaml(value: Any) -> Any:
    text = _as_text(value)
    _check_size("from_yaml input", len(text))
    try:
        return yaml.load(text, Loader=_DataLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise _Why(f"from_yaml: not YAML ({' '.join(str(exc).split())[:200]})") from None


def to_yaml(value: Any, **kwargs: Any) -> str:
    try:
        return str(yaml.safe_dump(value, allow_unicode=True, **kwargs))
    except yaml.representer.RepresenterError:
        raise _Why(f"to_yaml: cannot write {'a secret' if _holds_secret(value) else 'this value'} as YAML") from None


def to_nice_yaml(value: Any, indent: int = 4, **kwargs: Any) -> str:
    return to_yaml(value, indent=indent, default_flow_style=False, **kwargs)


def _holds_secret(value: Any) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, Mapping):
        return any(_holds_secret(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_secret(v) for v in value)
    return False


def combine(*terms: Any, recursive: bool = False, list_merge: str = "replace") -> dict[str, Any]:
    """Ansible's: later dicts win; `recursive=true` merges nested dicts; list_merge replace/keep/append/prepend."""
    if list_merge not in ("replace", "keep", "append", "prepend"):
        raise _Why(f"combine: list_merge is replace, keep, append or prepend, not {list_merge!r}")
    dicts: list[Any] = []
    for term in terms:
        dicts.extend(term if isinstance(term, list) else [term])
    out: dict[str, Any] = {}
    for each in dicts:
        if not isinstance(each, Mapping):
            raise _Why(f"combine: expects dictionaries, got a {type(each).__name__}")
        out = _merge(out, each, recursive, list_merge)
    return out


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any], recursive: bool, list_merge: str) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        old = out.get(key)
        if recursive and isinstance(old, Mapping) and isinstance(value, Mapping):
            out[key] = _merge(old, value, recursive, list_merge)
        elif isinstance(old, list) and isinstance(value, list) and list_merge != "replace":
            out[key] = {"keep": old, "append": old + value, "prepend": value + old}[list_merge]
        else:
            out[key] = value
    return out


def dict2items(value: Any, key_name: str = "key", value_name: str = "value") -> list[dict[str, Any]]:
    if not isinstance(value, Mapping):
        raise _Why(f"dict2items expects a dictionary, got a {type(value).__name__}")
    return [{key_name: k, value_name: v} for k, v in value.items()]


def items2dict(value: Any, key_name: str = "key", value_name: str = "value") -> dict[Any, Any]:
    try:
        return {item[key_name]: item[value_name] for item in value}
    except (KeyError, TypeError):
        raise _Why(f"items2dict expects a list of dictionaries with {key_name!r} and {value_name!r}") from None


def ternary(value: Any, true_value: Any, false_value: Any, none_value: Any = None) -> Any:
    if value is None and none_value is not None:
        return none_value
    return true_value if value else false_value


def mandatory(value: Any, msg: str | None = None) -> Any:
    if isinstance(value, Undefined):
        raise _Why(msg or f"mandatory variable {value._undefined_name or ''!r} is not defined")
    return value


def flatten(value: Any, levels: int | None = None, skip_nulls: bool = True) -> list[Any]:
    out: list[Any] = []
    for item in value:
        if skip_nulls and item in (None, "None", "null"):
            continue
        if isinstance(item, (list, tuple)) and (levels is None or levels > 0):
            out.extend(flatten(item, None if levels is None else levels - 1, skip_nulls))
        else:
            out.append(item)
    return out


def _unique(items: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def union(a: Iterable[Any], b: Iterable[Any]) -> list[Any]:
    return _unique([*a, *b])


def intersect(a: Iterable[Any], b: Iterable[Any]) -> list[Any]:
    other = list(b)
    return _unique(x for x in a if x in other)


def difference(a: Iterable[Any], b: Iterable[Any]) -> list[Any]:
    other = list(b)
    return _unique(x for x in a if x not in other)


def symmetric_difference(a: Iterable[Any], b: Iterable[Any]) -> list[Any]:
    left, right = list(a), list(b)
    return _unique([*(x for x in left if x not in right), *(x for x in right if x not in left)])


def split(value: Any, separator: str | None = None, maxsplit: int = -1) -> list[str]:
    return _as_text(value).split(separator, maxsplit)


def b64encode(value: Any, encoding: str = "utf-8") -> str:
    return base64.b64encode(_as_text(value).encode(encoding)).decode("ascii")


def b64decode(value: Any, encoding: str = "utf-8") -> str:
    try:
        return base64.b64decode(_as_text(value), validate=False).decode(encoding)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Why(f"b64decode: {exc}") from None


def extract(item: Any, container: Any, morekeys: Any = None) -> Any:
    value = container[item]
    for key in ([] if morekeys is None else morekeys if isinstance(morekeys, list) else [morekeys]):
        value = value[key]
    return value


FILTERS: dict[str, Callable[..., Any]] = {
    "bool": to_bool, "regex_search": regex_search, "regex_findall": regex_findall, "regex_replace": regex_replace,
    "regex_escape": regex_escape, "to_json": to_json, "to_nice_json": to_nice_json, "from_json": from_json,
    "to_yaml": to_yaml, "to_nice_yaml": to_nice_yaml, "from_yaml": from_yaml, "combine": combine,
    "dict2items": dict2items, "items2dict": items2dict, "ternary": ternary, "mandatory": mandatory,
    "flatten": flatten, "union": union, "intersect": intersect, "difference": difference,
    "symmetric_difference": symmetric_difference, "split": split, "b64encode": b64encode, "b64decode": b64decode,
    "extract": extract, "basename": lambda p: posixpath.basename(_as_text(p)),
    "dirname": lambda p: posixpath.dirname(_as_text(p)), "splitext": lambda p: list(posixpath.splitext(_as_text(p))),
    "path_join": lambda parts: posixpath.join(*map(_as_text, parts if isinstance(parts, list) else [parts])),
    "type_debug": lambda v: type(v).__name__,
    "zip": lambda a, *others: [list(t) for t in zip(a, *others, strict=False)],
}


def _test_regex(value: Any, pattern: Any, ignorecase: bool = False, multiline: bool = False,
                match_type: str = "search") -> bool:
    text, compiled = _as_text(value), _pattern(pattern, ignorecase, multiline)
    if match_type not in ("search", "match", "fullmatch"):
        raise _Why(f"regex: match_type is search, match or fullmatch, not {match_type!r}")
    method = getattr(compiled, match_type)
    return _timed(compiled, match_type, lambda: method(text, timeout=TIMEOUT), len(text)) is not None


_VERSION_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b, "=": lambda a, b: a == b, "eq": lambda a, b: a == b,
    "!=": lambda a, b: a != b, "<>": lambda a, b: a != b, "ne": lambda a, b: a != b,
    "<": lambda a, b: a < b, "lt": lambda a, b: a < b, "<=": lambda a, b: a <= b, "le": lambda a, b: a <= b,
    ">": lambda a, b: a > b, "gt": lambda a, b: a > b, ">=": lambda a, b: a >= b, "ge": lambda a, b: a >= b}


def _version_key(value: Any) -> list[tuple[int, Any]]:
    """Loose version order (as Ansible's default): numbers numerically, words after numbers."""
    parts = [p for p in re.split(r"(\d+|[a-z]+|\.)", _as_text(value).lower()) if p and p != "."]
    return [(0, int(p)) if p.isdigit() else (1, p) for p in parts]


def _test_version(value: Any, version: Any, operator: str = "eq", **_: Any) -> bool:
    if operator not in _VERSION_OPERATORS:
        raise _Why(f"version: unknown operator {operator!r} (one of {', '.join(_VERSION_OPERATORS)})")
    return _VERSION_OPERATORS[operator](_version_key(value), _version_key(version))


def _result(value: Any, test: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Why(f"'is {test}' tests a registered result, not a {type(value).__name__}")
    return value


TESTS: dict[str, Callable[..., bool]] = {
    "match": lambda v, p, ignorecase=False, multiline=False: _test_regex(v, p, ignorecase, multiline, "match"),
    "search": lambda v, p, ignorecase=False, multiline=False: _test_regex(v, p, ignorecase, multiline, "search"),
    "regex": _test_regex,
    "version": _test_version, "version_compare": _test_version,
    "truthy": lambda v, convert_bool=False: to_bool(v) if convert_bool else bool(v),
    "falsy": lambda v, convert_bool=False: not (to_bool(v) if convert_bool else bool(v)),
    "contains": lambda seq, item: item in seq,
    "subset": lambda a, b: all(x in b for x in a), "superset": lambda a, b: all(x in a for x in b),
    "any": lambda seq: any(seq), "all": lambda seq: all(seq),
    "failed": lambda r: bool(_result(r, "failed").get("failed", False)),
    "succeeded": lambda r: not _result(r, "succeeded").get("failed", False),
    "success": lambda r: not _result(r, "success").get("failed", False),
    "successful": lambda r: not _result(r, "successful").get("failed", False),
    "changed": lambda r: bool(_result(r, "changed").get("changed", False)),
    "skipped": lambda r: bool(_result(r, "skipped").get("skipped", False)),
}

# Built-in filters that make text or lists whose size an argument sets.
_SIZED_FILTERS = {"center", "indent", "batch", "slice"}


def _guarded(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(func)  # keeps jinja_pass_arg
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        if name in _SIZED_FILTERS:
            _check_widths(name, [*args[1:], *kwargs.values()])
        elif name == "format" and args and isinstance(args[0], str):
            _check_percent(args[0])
        elif name == "replace":
            _check_replace(*[a for a in args if not hasattr(a, "environment")][:4])
        return func(*args, **kwargs)

    return guarded


def _environment() -> _Environment:
    env = _Environment(undefined=_Undefined, autoescape=False, keep_trailing_newline=True, trim_blocks=True)
    for name in ("lipsum", "cycler", "joiner"):
        env.globals.pop(name, None)
    env.globals["range"] = _bounded_range
    env.filters.pop("random", None)  # one answer per host, not a dice roll
    env.filters.update(FILTERS)
    env.filters["d"] = env.filters["default"]
    env.tests.update(TESTS)
    filters: dict[str, Any] = env.filters
    tests: dict[str, Any] = env.tests
    env.filters = {name: _guarded(name, f) for name, f in filters.items()}
    env.tests = {name: _guarded(name, f) for name, f in tests.items()}
    return env


ENV = _environment()


# --- compiling, with the names a template needs ------------------------------------------------

@dataclass(frozen=True)
class _Compiled:
    template: Template
    needs: frozenset[str]  # names the template cannot do without


_REFUSED_NODES: dict[type[nodes.Node], str] = {
    nodes.Extends: "{% extends %}", nodes.Include: "{% include %}", nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}", nodes.Macro: "{% macro %}", nodes.CallBlock: "{% call %}",
    nodes.Block: "{% block %}",
}


def _check_tree(tree: nodes.Template) -> None:
    for node in tree.find_all(tuple(_REFUSED_NODES)):
        raise _refuse(f"{_REFUSED_NODES[type(node)]} is not available in a playbook value")
    for loop in tree.find_all(nodes.For):
        if loop.recursive:
            raise _refuse("a recursive loop")
        if any(True for _ in loop.find_all(nodes.For)):
            raise _refuse("a loop inside a loop (use filters: map, select, flatten, product of lists)")


def _optional_names(tree: nodes.Node) -> set[str]:
    """Names given a `default` or tested with `is defined`/`is undefined`: the template copes without them."""
    found: set[str] = set()
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        if node.name in (("default", "d") if isinstance(node, nodes.Filter) else ("defined", "undefined")):
            root = node.node
            while isinstance(root, (nodes.Getattr, nodes.Getitem)):
                root = root.node
            if isinstance(root, nodes.Name):
                found.add(root.name)
    return found


@lru_cache(maxsize=4096)
def _compile(source: str, expression: bool) -> _Compiled:
    limit = MAX_CONDITION if expression else MAX_TEMPLATE
    if len(source) > limit:
        raise _Why(f"is {len(source)} characters; the limit is {limit}")
    try:
        if expression:
            parser = Parser(ENV, source, state="variable")
            expr = parser.parse_expression()
            if not parser.stream.eos:
                raise TemplateSyntaxError(f"unexpected {parser.stream.current.value!r} after the expression",
                                          parser.stream.current.lineno)
            tree = nodes.Template([nodes.Output([expr], lineno=1)], lineno=1)
            tree.set_environment(ENV)
        else:
            tree = ENV.parse(source)
        _check_tree(tree)
        needs = frozenset(find_undeclared_variables(tree) - _optional_names(tree))
        template = ENV.from_string(tree)
    except TemplateSyntaxError as exc:
        where = f" (line {exc.lineno} of the template)" if "\n" in source.strip() and exc.lineno else ""
        raise _Why(f"syntax error: {exc.message}{where}") from None
    except (RecursionError, MemoryError):
        raise _Why("is nested too deeply") from None
    return _Compiled(template, needs)


# --- rendering --------------------------------------------------------------------------------

def _materialize(value: Any) -> list[Any]:
    items: list[Any] = []
    for item in value:
        items.append(item)
        if len(items) > MAX_SIZE:
            raise _refuse(f"a sequence of over {MAX_SIZE} items")
    return items


def _concat(values: Iterable[Any]) -> Any:
    """The rendered value: a lone output keeps its type, several are joined as text."""
    parts: list[Any] = []
    size = 0
    for value in values:
        _tick()
        parts.append(value)
        if isinstance(value, str):
            size += len(value)
            _check_size("the rendered text", size)
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0]
    text = "".join(map(_text, parts))
    _check_size("the rendered text", len(text))
    return text


_DATA = (str, bytes, int, float, type(None), list, tuple, Mapping, datetime.date, datetime.time, Secret)


def _finish(value: Any) -> Any:
    """The result as data: an undefined value anywhere in it fails, as does anything but data (a
    function, a namespace); iterators become lists, Markup plain str."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, str):
        return value if type(value) is str else str.__str__(value)
    if isinstance(value, (Iterator, range, KeysView, ValuesView, ItemsView)):
        value = _materialize(value)
    _check_data(value)
    return value


def _check_data(value: Any) -> None:
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if not isinstance(value, _DATA):
        raise _Why(f"gives a {type(value).__name__}, not a value (a string, number, list or mapping)")
    if isinstance(value, (list, tuple)):
        for item in value:
            _tick()
            _check_data(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            _tick()
            _check_data(item)


def _run(compiled: _Compiled, context: Mapping[str, Any]) -> Any:
    previous = getattr(_clock, "deadline", None)
    _clock.deadline = time.monotonic() + TIME_LIMIT
    try:
        template = compiled.template
        return _finish(_concat(template.root_render_func(template.new_context(dict(context)))))
    finally:
        _clock.deadline = previous


_UNDEFINED_RE = re.compile(r"^'([A-Za-z_][A-Za-z0-9_]*)' is undefined$")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, _Why):
        return str(exc)
    if isinstance(exc, SecurityError):
        return f"refused by the sandbox: {exc}"
    if isinstance(exc, UndefinedError):
        match = _UNDEFINED_RE.fullmatch(str(exc.message))
        return f"undefined variable {match.group(1)!r}" if match else str(exc.message)
    if isinstance(exc, (RecursionError, MemoryError)):
        return "nested too deeply"
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, JinjaError) else f"{type(exc).__name__}: {text}"


def _excerpt(source: str) -> str:
    flat = " ".join(source.split())
    return repr(flat if len(flat) <= 80 else flat[:77] + "...")


def _error(kind: str, source: str, exc: BaseException) -> TemplateError:
    message = " ".join(_reason(exc).split())[:400]
    return TemplateError(mask(f"{kind} {_excerpt(source)}: {message}"))


_FAILURES = (_Why, JinjaError, ArithmeticError, LookupError, TypeError, ValueError, AttributeError,
             RecursionError, MemoryError)


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def _render_text(source: str, context: Mapping[str, Any]) -> Any:
    try:
        return _run(_compile(source, False), context)
    except _FAILURES as exc:
        raise _error("template", source, exc) from None


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Render the templates in strings, lists and mappings (keys are left as they are)."""
    if isinstance(value, str):
        return _render_text(value, context) if is_template(value) else value
    if isinstance(value, Mapping):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    return value


def template_strings(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every template string in a value, with its path (keys and indexes) inside the value."""
    if isinstance(value, str):
        if is_template(value):
            yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from template_strings(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from template_strings(item, path + (index,))


def references(value: Any) -> set[str]:
    """The variable names a value's templates need (checking their syntax on the way).

    A name only given a `default` or tested with `is defined` is not needed.
    """
    found: set[str] = set()
    for _path, source in template_strings(value):
        try:
            found |= _compile(source, False).needs
        except _FAILURES as exc:
            raise _error("template", source, exc) from None
    return found


# --- when: ------------------------------------------------------------------------------------

_WHOLE_TEMPLATE_RE = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.S)


def _condition_source(expression: str) -> str:
    """A `when:` is a bare expression. `{{ expr }}` on its own is taken as `expr` (Ansible warns about it);
    templates inside a larger expression are refused."""
    whole = _WHOLE_TEMPLATE_RE.fullmatch(expression)
    if whole and "{{" not in whole.group(1) and "}}" not in whole.group(1):
        return whole.group(1)
    if "{{" in expression or "{%" in expression:
        raise _Why("when: is an expression already; write it without {{ }} (e.g. `x > 0`, not `{{ x }} > 0`)")
    return expression


def _conditions(expression: Any) -> list[str | bool]:
    if isinstance(expression, (str, bool)):
        return [expression]
    if isinstance(expression, list) and all(isinstance(e, (str, bool)) for e in expression):
        return list(expression)
    raise TemplateError("when: is a condition (a string), true/false, or a list of them")


def condition_names(expression: str | bool | list[str | bool]) -> set[str]:
    """The variable names a `when:` needs (checking its syntax on the way)."""
    found: set[str] = set()
    for each in _conditions(expression):
        if isinstance(each, str):
            try:
                found |= _compile(_condition_source(each), True).needs
            except _FAILURES as exc:
                raise _error("condition", each, exc) from None
    return found


def _truth(value: Any) -> bool:
    """A condition's value as true/false. A string that reads as a boolean ('false', 'no', '0' from
    `-e` or a var file) means that boolean, not "a non-empty string": `when: restart` with
    restart="false" does not restart."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in BOOLEANS_TRUE or word in BOOLEANS_FALSE:
            return word in BOOLEANS_TRUE
    return bool(value)


def evaluate(expression: str | bool | list[str | bool], context: Mapping[str, Any]) -> bool:
    """Evaluate a `when:`: an expression, true/false, or a list of them that must all hold (in order,
    stopping at the first false one)."""
    for each in _conditions(expression):
        if isinstance(each, bool):
            holds = each
        else:
            try:
                holds = _truth(_run(_compile(_condition_source(each), True), context))
            except _FAILURES as exc:
                raise _error("condition", each, exc) from None
        if not holds:
            return False
    return True


def describe(expression: str | bool | list[str | bool] | None) -> str:
    """A `when:` as one line for messages: a list reads as its conditions joined with `and`."""
    if isinstance(expression, list):
        return " and ".join(f"({_text(e)})" if isinstance(e, str) and len(expression) > 1 else _text(e)
                            for e in expression)
    return _text(expression)
