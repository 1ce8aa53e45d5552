"""Jinja2 templates: a lone `{{ expr }}` keeps its value's type, templates in text are substituted."""

from __future__ import annotations

import pytest

from ops.templating import TemplateError, references, render


def test_lone_template_keeps_the_type_and_text_templates_are_substituted() -> None:
    context = {"days": 2, "logs": {"files": [3, 4]}, "dry": False}
    assert render("{{ days }}", context) == 2
    assert render({"reltime": {"days": "{{days}}"}}, context) == {"reltime": {"days": 2}}
    assert render(["x-{{ logs.files.1 }}", " {{ days }}"], context) == ["x-4", " 2"]
    assert render("{{ dry }}", context) is False and render("dry={{ dry }}", context) == "dry=false"


def test_adjacent_templates_are_two_templates() -> None:
    assert render("{{ a }}{{ b }}", {"a": 1, "b": 2}) == "12"
    assert references("{{ a }}{{ b.c }}") == {"a", "b"}


def test_undefined_and_malformed_templates_say_which() -> None:
    with pytest.raises(TemplateError, match="undefined variable 'nope'"):
        render("{{ nope }}", {})
    with pytest.raises(TemplateError, match=r"^template 'show \{\{ 1 \+ \}\}': syntax error: "):
        references("show {{ 1 + }}")
    assert render("{{ 1 + 2 }}", {}) == 3  # an expression, not only a name, since Jinja2
