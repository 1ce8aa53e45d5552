"""`{{ var }}` templates in playbook values and `when:` conditions.

Deliberately small: a template names a variable or a dotted path into one
(`{{ logs.files_received }}`); a value that is a template and nothing else keeps the variable's
type, so `reltime: {days: "{{ days }}"}` gives an int. Conditions are Python-like expressions
over variables (`logs.files_received > 0 and not dry`), evaluated without `eval`.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Mapping
from typing import Any

TEMPLATE_RE = re.compile(r"\{\{\s*(.*?)\s*\}\}")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_0-9]+)*$")


class TemplateError(ValueError):
    """A template or condition that cannot be read or refers to an undefined variable."""


def references(value: Any) -> set[str]:
    """The top-level variable names a value's templates use."""
    found: set[str] = set()
    if isinstance(value, str):
        for expr in TEMPLATE_RE.findall(value):
            if not NAME_RE.match(expr):
                raise TemplateError(f"template {{{{ {expr} }}}} is not a variable name or dotted path")
            found.add(expr.split(".", 1)[0])
    elif isinstance(value, Mapping):
        for item in value.values():
            found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def lookup(path: str, context: Mapping[str, Any]) -> Any:
    head, *rest = path.split(".")
    if head not in context:
        raise TemplateError(f"undefined variable {head!r}")
    value = context[head]
    for part in rest:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise TemplateError(f"{path!r}: no {part!r} in {head!r}")
    return value


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Substitute templates in strings, lists and mappings."""
    if isinstance(value, str):
        first = TEMPLATE_RE.match(value)
        if first and first.end() == len(value):  # one template and nothing else: keep its type
            return lookup(first.group(1), context)
        return TEMPLATE_RE.sub(lambda m: _text(lookup(m.group(1), context)), value)
    if isinstance(value, Mapping):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
            ast.NotIn: lambda a, b: a not in b}


def condition_names(expression: str) -> set[str]:
    """Top-level names a `when:` expression uses (also checks its syntax)."""
    tree = _parse(expression)
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)
            and node.id not in {"true", "false", "none"}}


MAX_CONDITION = 1000  # characters of a `when:` condition


def _parse(expression: str) -> ast.Expression:
    text = TEMPLATE_RE.sub(lambda m: m.group(1), expression)
    if len(text) > MAX_CONDITION:
        raise TemplateError(f"condition is {len(text)} characters; the limit is {MAX_CONDITION}")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise TemplateError(f"cannot read condition {expression[:80]!r}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise TemplateError(f"condition {expression[:80]!r}... is nested too deeply") from None
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not,
                                 ast.Compare, ast.Name, ast.Load, ast.Attribute, ast.Constant,
                                 ast.Subscript, ast.List, ast.Tuple, *_COMPARE)):
            raise TemplateError(f"condition {expression!r} uses {type(node).__name__}, which is not allowed")
    return tree


def evaluate(expression: str | bool, context: Mapping[str, Any]) -> bool:
    """Evaluate a `when:` condition."""
    if isinstance(expression, bool):
        return expression
    try:
        return bool(_eval(_parse(expression).body, context))
    except RecursionError:
        raise TemplateError(f"condition {expression[:80]!r}... is nested too deeply") from None


def _eval(node: ast.AST, context: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        constants = {"true": True, "false": False, "none": None}
        return constants[node.id] if node.id in constants else lookup(node.id, context)
    if isinstance(node, ast.Attribute):
        base = _eval(node.value, context)
        if isinstance(base, Mapping) and node.attr in base:
            return base[node.attr]
        raise TemplateError(f"no {node.attr!r} in {ast.unparse(node.value)!r}")
    if isinstance(node, ast.Subscript):
        base = _eval(node.value, context)
        try:
            return base[_eval(node.slice, context)]
        except (KeyError, IndexError, TypeError):
            raise TemplateError(f"cannot index {ast.unparse(node)!r}") from None
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, context) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp):
        return not _eval(node.operand, context)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(e, context) for e in node.elts]
    if isinstance(node, ast.Compare):
        left = _eval(node.left, context)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _eval(comparator, context)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError:
                raise TemplateError(f"cannot compare {left!r} with {right!r}") from None
            left = right
        return True
    raise TemplateError(f"unsupported expression {ast.unparse(node)!r}")
