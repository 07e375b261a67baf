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


def form_data(values: Mapping[str, Any], tag_rows: Mapping[str, str] = {}) -> QueryDict:
    """``values`` as posted form data; ``tag_rows`` maps a body field holding tags (an
    object) to the prefix of the formset of its rows."""
    data = QueryDict(mutable=True)
    for name, value in values.items():
        if name in tag_rows:
            continue
        if isinstance(value, list | tuple):
            data.setlist(name, [_text(v) for v in value])
        else:
            data[name] = _text(value)
    for name, prefix in tag_rows.items():
        tags = values.get(name) or {}
        data[f"{prefix}-TOTAL_FORMS"] = str(len(tags))
        data[f"{prefix}-INITIAL_FORMS"] = "0"
        for index, (key, value) in enumerate(tags.items()):
            data[f"{prefix}-{index}-key"] = key
            data[f"{prefix}-{index}-value"] = value
    return data


def rule_violation(
    form: Any, values: Mapping[str, Any], tag_rows: Mapping[str, str] = {}
) -> problems.Problem:
    """The form's errors as a 422 problem, a tag row's on ``<field>.<the tag's key>``."""
    problem = problems.rule_violation(form, {prefix: name for name, prefix in tag_rows.items()})
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
