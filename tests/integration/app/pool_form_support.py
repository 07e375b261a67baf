"""Helpers for the pool form's view tests: form data as a browser posts it, and reading the
out-of-band parts and error codes of an htmx answer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from django.contrib.auth.models import Permission
from django.test import Client

from pools.models import IpamPool, IpamScope

HX = {"HTTP_HX_REQUEST": "true"}

# What a browser sends for the empty form (an unchecked checkbox sends nothing).
EMPTY_FORM = {
    "scope": "",
    "address_family": "ipv4",
    "source_pool": "",
    "locale": "",
    "description": "",
    "allocation_min_netmask_length": "",
    "allocation_default_netmask_length": "",
    "allocation_max_netmask_length": "",
    "source_resource_id": "",
    "source_resource_region": "",
    "source_resource_owner": "",
    "first_cidr": "",
    "first_netmask_length": "",
    "tag-TOTAL_FORMS": "0",
    "tag-INITIAL_FORMS": "0",
    "tag-MIN_NUM_FORMS": "0",
    "tag-MAX_NUM_FORMS": "50",
    "arts-TOTAL_FORMS": "0",
    "arts-INITIAL_FORMS": "0",
    "arts-MIN_NUM_FORMS": "0",
    "arts-MAX_NUM_FORMS": "50",
}

DEPENDENT_PART_IDS = frozenset(
    {
        "crumbs",
        "source-pool-part",
        "locale-part",
        "public-part",
        "advertisable-part",
        "first-cidr-part",
    }
)


def form_data(
    scope: IpamScope | None = None,
    *,
    source: IpamPool | None = None,
    tags: dict[str, str] | None = None,
    **values: Any,
) -> dict[str, str]:
    """The pool form as a browser would post it, with a fresh ClientToken.

    ``tags`` fill the tag rows; other keyword arguments are posted as given (None as empty).
    """
    data = dict(EMPTY_FORM, client_token=str(uuid.uuid4()))
    if source is not None:
        scope = scope or source.scope
        data["source_pool"] = source.pool_id
        data["address_family"] = source.address_family
        data["locale"] = source.locale  # as choosing the source pool fills it in
    if scope is not None:
        data["scope"] = scope.scope_id
    for index, (key, value) in enumerate((tags or {}).items()):
        data[f"tag-{index}-key"] = key
        data[f"tag-{index}-value"] = value
    data["tag-TOTAL_FORMS"] = str(len(tags or {}))
    data.update({name: "" if value is None else str(value) for name, value in values.items()})
    return data


def live(client: Client, data: dict[str, str], trigger: str, **extra: Any) -> Answer:
    """Post the form as htmx's live validation does after ``trigger`` changed."""
    response = client.post("/pools/new/validate/", {**data, "_live": trigger}, **HX, **extra)
    assert response.status_code == 200, response.content[:500]
    return Answer.of(response.content.decode())


def grant_add_pool(user: Any) -> Any:
    user.user_permissions.add(Permission.objects.get(codename="add_ipampool"))
    return user


# --- reading an answer ----------------------------------------------------------------------

VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    depth: int
    text: str = ""
    children: list[Element] = field(default_factory=list)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[Element] = []
        self.elements: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, len(self.stack))
        self.elements.append(element)
        for parent in self.stack:
            parent.children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element.text += data


@dataclass
class Answer:
    """An HTML answer, read: its elements, the parts swapped out of band, the error codes."""

    html: str
    elements: list[Element]

    @classmethod
    def of(cls, html: str) -> Answer:
        collector = _Collector()
        collector.feed(html)
        collector.close()
        return cls(html, collector.elements)

    def by_id(self, element_id: str) -> Element | None:
        return next((e for e in self.elements if e.attrs.get("id") == element_id), None)

    def __getitem__(self, element_id: str) -> Element:
        element = self.by_id(element_id)
        assert element is not None, f"no #{element_id} in the answer"
        return element

    def named(self, name: str) -> list[Element]:
        return [e for e in self.elements if e.attrs.get("name") == name]

    @property
    def oob_ids(self) -> set[str]:
        """Ids of the top-level elements htmx swaps out of band."""
        return {
            e.attrs["id"]
            for e in self.elements
            if e.depth == 0 and e.attrs.get("hx-swap-oob") and "id" in e.attrs
        }

    @property
    def parts(self) -> set[str]:
        """The dependent parts of the form this answer re-renders."""
        return self.oob_ids & DEPENDENT_PART_IDS

    def error_regions(self) -> Iterator[Element]:
        return (e for e in self.elements if "field-errors" in e.attrs.get("class", "").split())

    def codes(self, region_id: str) -> list[str]:
        """The error codes shown in one error region (``id_<field>_error`` or ``form-errors``)."""
        return [c.attrs.get("data-code", "") for c in self[region_id].children if c.tag == "p"]

    def field_codes(self, name: str) -> list[str]:
        return self.codes(f"id_{name}_error")

    @property
    def all_codes(self) -> dict[str, list[str]]:
        """Every non-empty error region, with its codes, form-level errors under ``form-errors``."""
        found = {
            region.attrs["id"]: [c.attrs.get("data-code", "") for c in region.children]
            for region in self.error_regions()
        }
        if self.by_id("form-errors") is not None:
            found["form-errors"] = self.codes("form-errors")
        return {key: codes for key, codes in found.items() if codes}

    def selected(self, element_id: str) -> list[str]:
        """The values of a select's chosen options (an empty choice left out)."""
        return [
            option.attrs["value"]
            for option in self[element_id].children
            if option.tag == "option" and "selected" in option.attrs and option.attrs["value"]
        ]

    def plan_note(self) -> str:
        """The class of the plan's summary note: ``ok-note``, ``warn-note`` or empty."""
        notes = [
            e.attrs["class"]
            for e in self["pool-plan"].children
            if e.attrs.get("class") in ("ok-note", "warn-note")
        ]
        return notes[0] if notes else ""

    def text(self, element_id: str) -> str:
        return " ".join(self[element_id].text.split())
