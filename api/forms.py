"""The API's bodies as the pages' forms take them, so every rule is judged by the same forms.

A form is given what a browser would post: text for each field, ``true``/``false`` for
choices of yes and no, and tags as rows of a formset (``tag-0-key``…). Its errors come back as
problem details with the request's own field names: a tag's error on ``tags.<key>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import QueryDict

from api import problems


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def form_data(
    values: Mapping[str, Any], tag_rows: Mapping[str, str] = {}, prefix: str = ""
) -> QueryDict:
    """``values`` as posted form data; ``tag_rows`` maps a body field holding tags (an
    object) to the prefix of the formset of its rows; ``prefix`` is the form's own.

    Every row counts as an initial one: a form whose rows start as the pool's tags (the tag
    editor) would otherwise skip a row left as it was, and so drop its tag."""
    data = QueryDict(mutable=True)
    for name, value in values.items():
        if name in tag_rows:
            continue
        key = f"{prefix}-{name}" if prefix else name
        if isinstance(value, list | tuple):
            data.setlist(key, [_text(v) for v in value])
        else:
            data[key] = _text(value)
    for name, rows in tag_rows.items():
        tags = values.get(name) or {}
        data[f"{rows}-TOTAL_FORMS"] = str(len(tags))
        data[f"{rows}-INITIAL_FORMS"] = str(len(tags))
        for index, (key, value) in enumerate(tags.items()):
            data[f"{rows}-{index}-key"] = key
            data[f"{rows}-{index}-value"] = value
    return data


def rule_violation(
    form: Any,
    values: Mapping[str, Any],
    tag_rows: Mapping[str, str] = {},
    names: Mapping[str, str] = {},
) -> problems.Problem:
    """The form's errors as a 422 problem, a tag row's on ``<field>.<the tag's key>``;
    ``names`` maps a form field to the body's field where they differ."""
    renamed = {**names, **{prefix: name for name, prefix in tag_rows.items()}}
    problem = problems.rule_violation(form, renamed)
    keys = {name: list((values.get(name) or {}).keys()) for name in tag_rows}
    for item in problem.errors:
        field = item["field"] or ""
        name, _, rest = field.partition(".")
        if name in keys and rest:
            index = rest.partition(".")[0]
            if index.isdigit() and int(index) < len(keys[name]):
                item["field"] = f"{name}.{keys[name][int(index)]}"
    problem.detail = problem.errors[0]["detail"]
    return problem
