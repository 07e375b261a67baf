"""Describe-style listing: EC2 filters with wildcards, and MaxResults/NextToken pagination."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from ipamsim.errors import ApiError

Getter = Callable[[dict[str, Any]], Iterable[str]]


def member(name: str) -> Getter:
    """A filter on one scalar member; booleans and integers compare as EC2 writes them."""

    def get(obj: dict[str, Any]) -> Iterable[str]:
        value = obj.get(name)
        if value is None:
            return ()
        if isinstance(value, bool):
            return ("true" if value else "false",)
        return (str(value),)

    return get


def tag_getters(obj: dict[str, Any], name: str) -> Iterable[str] | None:
    """``tag:<key>`` (values of that key) and ``tag-key`` (all keys)."""
    tags = obj.get("Tags") or []
    if name == "tag-key":
        return [tag["Key"] for tag in tags]
    if name.startswith("tag:"):
        key = name[4:]
        return [tag.get("Value", "") for tag in tags if tag["Key"] == key]
    return None


@cache
def _pattern(value: str) -> re.Pattern[str]:
    """EC2 filter values: ``*`` matches any run of characters, ``?`` any one character."""
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in value)
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def matches(obj: dict[str, Any], filters: list[tuple[Getter, list[re.Pattern[str]]]]) -> bool:
    """Filters are AND-ed; the values within one filter are OR-ed."""
    for getter, patterns in filters:
        values = list(getter(obj))
        if not any(p.match(v) for p in patterns for v in values):
            return False
    return True


def compile_filters(
    filters: list[dict[str, Any]] | None, getters: dict[str, Getter]
) -> list[tuple[Getter, list[re.Pattern[str]]]]:
    compiled = []
    for entry in filters or []:
        name = entry.get("Name", "")
        getter = getters.get(name)
        if getter is None and (name == "tag-key" or name.startswith("tag:")):
            getter = lambda obj, name=name: tag_getters(obj, name)  # noqa: E731
        if getter is None:
            raise ApiError("InvalidParameterValue", f"The filter '{name}' is invalid")
        compiled.append((getter, [_pattern(v) for v in entry.get("Values", [])]))
    return compiled


def encode_token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"after:{seq}".encode()).decode()


def decode_token(token: str) -> int:
    try:
        kind, seq = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        if kind != "after":
            raise ValueError(kind)
        return int(seq)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("InvalidParameterValue", f"The token '{token}' is invalid.") from None


def start(next_token: str | None) -> int:
    """The ``_seq`` after which the page that ``next_token`` asks for starts (0: the first)."""
    return decode_token(next_token) if next_token else 0


def by_ids(objects: Iterable[dict[str, Any]], after: int) -> list[dict[str, Any]]:
    """Objects asked for by id, in creation order, from ``after`` on (duplicates once)."""
    unique = {id(obj): obj for obj in objects}.values()
    return sorted((o for o in unique if o["_seq"] > after), key=lambda o: o["_seq"])


def page(
    items: Iterable[dict[str, Any]],
    max_results: int | None,
    next_token: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``items`` (in creation order) and the token of the next, if any."""
    after = start(next_token)
    chosen = []
    for obj in items:
        if obj["_seq"] <= after:
            continue
        if max_results is not None and len(chosen) == max_results:
            return chosen, encode_token(chosen[-1]["_seq"])
        chosen.append(obj)
    return chosen, None
