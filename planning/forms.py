"""The plan page's forms: a node (add, edit), moving one, and the plan's own settings.

Each field is checked by AWS's rules (:mod:`awsipam.rules`, :mod:`awsipam.addressing`) as
the user types; what the edit does to the whole plan is a dry run of the view's
(:func:`planning.page.dry_run`). A form never writes: the views call the services.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from awsipam import addressing, constants, rules
from awsipam.catalog import Violation
from awsipam.constants import NO_LOCALE
from planning.checks import FIELD_OF_MEMBER
from planning.models import Plan
from planning.page import is_key
from planning.spec import (
    MAX_GROWTH_PERCENT,
    MAX_HOSTS,
    MAX_NEED_COUNT,
    Intent,
    Need,
    NodeSpec,
    PlanSpec,
    Tree,
    length_for,
    new_key,
)
from pools.forms import TagFormSet, add_violations, netmask_field

MAX_SPARE_SLOTS = 256  # the planner's own bound: spare blocks kept free under one node
MAX_DESCRIPTION_LENGTH = 1000  # as the pool forms
MAX_SPACE_CIDRS = 50  # CIDRs of a plan's space (as many as a pool may have provisioned)
INHERIT = ""
NAME_TAG = "Name"
# The fields each intent reads (the others are hidden, and ignored).
INTENT_FIELDS = {
    Intent.CIDR: {"cidr"},
    Intent.LENGTH: {"prefix_length"},
    Intent.NEED: {"need_count", "need_length", "need_hosts", "need_growth"},
}

# The parts of a node a form changes, each compared whole: a form posted against an older
# version of the plan applies only the parts the user changed in it.
PARTS = {
    "name": ("name",),
    "intent": ("intent", "prefix_length", "need", "cidr"),
    "locale": ("locale",),
    "spare_slots": ("spare_slots",),
    "rules": ("min_netmask", "max_netmask", "default_netmask"),
    "description": ("description",),
    "tags": ("tags",),
    "allocation_resource_tags": ("allocation_resource_tags",),
}


def number_field(label: str, help_text: str = "", **attrs: Any) -> forms.IntegerField:
    """A whole number; its range is checked in ``clean`` with the rule's own code."""
    return forms.IntegerField(
        required=False,
        label=label,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", **attrs}),
    )


def small_int(text: Any, *, default: int | None = None) -> int | None:
    """A small decimal number from the URL or a hidden field (not ``²``, not 5,000 digits)."""
    if isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    return default


def facets(node: NodeSpec) -> dict[str, Any]:
    """A node's parts as JSON values, for comparing what a form showed with what it posts."""
    need = node.need
    return {
        "name": node.name,
        "intent": [
            node.intent,
            node.prefix_length if node.intent == Intent.LENGTH else None,
            [need.count, need.length, need.hosts, need.growth]
            if need and node.intent == Intent.NEED
            else None,
            str(node.cidr) if node.intent == Intent.CIDR and node.cidr is not None else None,
        ],
        "locale": node.locale,
        "spare_slots": node.spare_slots,
        "rules": [node.min_netmask, node.max_netmask, node.default_netmask],
        "description": node.description,
        "tags": [list(t) for t in node.tags],
        "allocation_resource_tags": [list(t) for t in node.allocation_resource_tags],
    }


def parent_choices(
    spec: PlanSpec, *, leave_out: Iterable[str] = (), top: str = "(the top level)"
) -> list[tuple[str, str]]:
    """The plan's nodes as a select's options, in tree order, indented by depth."""
    tree = Tree.of(spec.nodes)
    left_out = set(leave_out)
    choices = [(INHERIT, top)]
    depth: dict[str, int] = {}
    for node in tree.walk():
        parent = node.parent if node.parent in tree.nodes else None
        depth[node.key] = depth[parent] + 1 if parent else 0
        if node.key in left_out:
            continue
        cidr = f" ({node.cidr})" if node.cidr is not None else ""
        choices.append(
            (node.key, "\N{EM DASH} " * depth[node.key] + (node.name or node.key) + cidr)
        )
    return choices


class _Described(forms.Form):
    """Every input names its help and its error region (live validation swaps the latter)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def describe_inputs(self, *forms_: forms.Form) -> None:
        for form in (self, *forms_):
            for name, field in form.fields.items():
                field.widget.attrs.setdefault(
                    "aria-describedby",
                    f"{form[name].auto_id}_helptext {form[name].auto_id}_error",
                )

    def put_error(self, field: str | None, message: str, code: str) -> None:
        """An error next to ``field`` (above the form if it has no such field), once."""
        if field not in self.fields:
            field = None
        if field is not None and field in self.errors:
            return
        self.add_error(field, ValidationError(message, code=code))


class NodeForm(_Described):
    """A node: its name, what it asks for (a pinned CIDR, a prefix length or a need), its
    locale, spare slots, allocation rules, description and tags. ``node`` is the node edited
    (None: a new one, under ``parent``)."""

    key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    version = forms.CharField(widget=forms.HiddenInput, required=False, max_length=16)
    seen = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100_000)
    name = forms.CharField(
        max_length=constants.MAX_TAG_VALUE_LENGTH,
        help_text="It becomes the pool's Name tag.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    parent = forms.ChoiceField(required=False, help_text="The node it takes its space from.")
    intent = forms.ChoiceField(
        choices=Intent.CHOICES,
        initial=Intent.LENGTH,
        widget=forms.RadioSelect,
        label="Size",
        help_text="A pinned CIDR never moves; a length or a need is placed by the planner.",
    )
    cidr = forms.CharField(
        required=False,
        label="Pinned CIDR",
        max_length=64,
        widget=forms.TextInput(
            attrs={"placeholder": "e.g. 10.0.0.0/16", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    prefix_length = number_field("Prefix length", "The block's size: /16, /20...", min=0)
    need_count = number_field("Blocks", "How many blocks of the length below.", min=1)
    need_length = number_field("of length", "Each block's prefix length.", min=0)
    need_hosts = number_field("…or addresses", "A number of addresses instead.", min=1)
    need_growth = number_field("Growth %", "Room to grow, in percent.", min=0)
    locale = forms.ChoiceField(
        required=False, help_text="Where the pool's space may be used (an operating Region)."
    )
    spare_slots = number_field(
        "Spare slots", "Blocks the size of its largest child kept free for later.", min=0
    )
    min_netmask = netmask_field("Minimum netmask", "The largest allocation allowed.")
    default_netmask = netmask_field("Default netmask", "When an allocation asks for no size.")
    max_netmask = netmask_field("Maximum netmask", "The smallest allocation allowed.")
    description = forms.CharField(
        required=False,
        max_length=MAX_DESCRIPTION_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        spec: PlanSpec,
        regions: Iterable[str],
        scope_type: str,
        node: NodeSpec | None = None,
        parent: str | None = None,
        version: int = 0,
    ) -> None:
        self.spec, self.node, self.scope_type = spec, node, scope_type
        self.family = spec.address_family
        self.regions = list(regions)
        initial: dict[str, Any] = {"version": str(version)}
        if node is None:
            initial.update(key=new_key(), parent=parent or INHERIT, intent=Intent.LENGTH)
        else:
            initial.update(_initial(node), seen=json.dumps(facets(node)))
        super().__init__(data, initial=initial)
        if node is None:
            self.fields["parent"].choices = parent_choices(spec)
        else:
            del self.fields["parent"], self.fields["key"]  # a move is its own form
        self.fields["locale"].choices = self._locale_choices()
        limit = rules.netmask_limit(self.family)
        for name in (
            "prefix_length",
            "need_length",
            "min_netmask",
            "default_netmask",
            "max_netmask",
        ):
            self.fields[name].widget.attrs["max"] = limit
        self.fields["spare_slots"].widget.attrs["max"] = MAX_SPARE_SLOTS
        self.fields["need_growth"].widget.attrs["max"] = MAX_GROWTH_PERCENT
        tag_rows = [{"key": k, "value": v} for k, v in (node.tags if node else ())]
        art_rows = [
            {"key": k, "value": v} for k, v in (node.allocation_resource_tags if node else ())
        ]
        # A post without a formset's rows (not from this form) leaves those tags as they are.
        self.posted = {p: bool(data) and f"{p}-TOTAL_FORMS" in data for p in ("tag", "arts")}
        self.tags = TagFormSet(
            data if self.posted["tag"] else None,
            prefix="tag",
            initial=tag_rows,
            form_kwargs={"label_suffix": ""},
        )
        self.allocation_tags = TagFormSet(
            data if self.posted["arts"] else None,
            prefix="arts",
            initial=art_rows,
            form_kwargs={"label_suffix": ""},
        )
        self.describe_inputs(*self.tags, *self.allocation_tags)

    def _locale_choices(self) -> list[tuple[str, str]]:
        parent = self.node.parent if self.node else self.raw("parent") or None
        tree = Tree.of(self.spec.nodes)
        inherited = tree.locale(parent) if parent in tree.nodes else None
        choices = [
            (INHERIT, f"the parent's ({inherited or 'no locale'})"),
            (NO_LOCALE, "no locale"),
            *((r, r) for r in self.regions),
        ]
        current = self.node.locale if self.node else None
        if current and current not in dict(choices):
            choices.append((current, f"{current} (not an operating Region)"))
        return choices

    def raw(self, name: str) -> Any:
        return self.data.get(name) if self.is_bound else self.initial.get(name)

    @property
    def formsets(self) -> tuple[Any, Any]:
        return self.tags, self.allocation_tags

    @property
    def version_seen(self) -> int | None:
        return small_int(self.raw("version"))

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for formset in self.formsets:
            if formset.is_bound:
                valid = formset.is_valid() and valid
        return valid

    def _pairs(self, formset: Any, current: tuple[tuple[str, str], ...]) -> tuple:
        return tuple(sorted(formset.pairs())) if formset.is_bound else current

    # --- checks -------------------------------------------------------------------------

    def clean_key(self) -> str:
        key = self.cleaned_data.get("key", "")
        if self.node is None and not is_key(key):
            raise ValidationError("This form is out of date: open it again.", code="key_invalid")
        return key

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        self._check_text("name", name)
        return name

    def clean_description(self) -> str:
        text = self.cleaned_data.get("description", "")
        self._check_text("description", text)
        return text

    def _check_text(self, field: str, text: str) -> None:
        for found in rules.check_text({"Text": text}):
            raise ValidationError(found.message.replace("Text", field, 1), code=found.code)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self._clean_intent(data)
        self._clean_rules(data)
        self._clean_locale(data)
        spare = data.get("spare_slots")
        if spare is not None and not 0 <= spare <= MAX_SPARE_SLOTS:
            self.put_error(
                "spare_slots",
                f"Keep between 0 and {MAX_SPARE_SLOTS} spare slots.",
                "spare_slots_out_of_range",
            )
        for formset in self.formsets:
            if not formset.is_bound or not formset.is_valid():
                continue
            for row in formset.forms:
                if (getattr(row, "cleaned_data", None) or {}).get("key") == NAME_TAG:
                    row.add_error(
                        "key",
                        ValidationError(
                            "The node's name is its Name tag: change the name instead.",
                            code="tag_name_is_the_name",
                        ),
                    )
        return data

    def _clean_intent(self, data: dict[str, Any]) -> None:
        intent = data.get("intent")
        for name in set().union(*INTENT_FIELDS.values()) - INTENT_FIELDS.get(intent, set()):
            self._errors.pop(name, None)  # hidden for this intent: what they hold is ignored
        if intent == Intent.CIDR:
            text = (data.get("cidr") or "").strip()
            if not text:
                self.put_error("cidr", "Write the CIDR to pin.", "required")
                return
            parsed = addressing.parse_cidr(text, self.family, field="cidr")
            if parsed.violation is not None:
                self.put_error("cidr", parsed.violation.message, parsed.violation.code)
            else:
                data["cidr_network"] = parsed.network
        elif intent == Intent.LENGTH:
            length = data.get("prefix_length")
            if length is None:
                self.put_error("prefix_length", "Give a prefix length.", "required")
            else:
                self._add(rules.check_netmask_length(length, self.family, "prefix_length"))
        elif intent == Intent.NEED:
            count, length = data.get("need_count"), data.get("need_length")
            hosts, growth = data.get("need_hosts"), data.get("need_growth")
            if hosts is not None and length is not None:
                self.put_error(
                    "need_hosts",
                    "Give blocks of a length, or a number of addresses, not both.",
                    "need_both",
                )
                return
            if hosts is None and length is None:
                self.put_error(
                    "need_length", "Give a block length or a number of addresses.", "required"
                )
                return
            if count is not None and not 1 <= count <= MAX_NEED_COUNT:
                self.put_error(
                    "need_count",
                    f"Between 1 and {MAX_NEED_COUNT:,} blocks.",
                    "need_count_out_of_range",
                )
            if length is not None:
                self._add(rules.check_netmask_length(length, self.family, "need_length"))
            if hosts is not None and not 1 <= hosts <= MAX_HOSTS:
                self.put_error(
                    "need_hosts",
                    f"Between 1 and {MAX_HOSTS:,} addresses.",
                    "need_hosts_out_of_range",
                )
            if growth is not None and not 0 <= growth <= MAX_GROWTH_PERCENT:
                self.put_error(
                    "need_growth",
                    f"Growth is between 0 and {MAX_GROWTH_PERCENT}%.",
                    "need_growth_out_of_range",
                )
            if any(
                f in self.errors for f in ("need_count", "need_length", "need_hosts", "need_growth")
            ):
                return
            need = Need(count=count or 1, length=length, hosts=hosts, growth=growth or 0)
            if length_for(need.addresses(self.family), self.family) is None:
                field = "need_hosts" if hosts is not None else "need_count"
                self.put_error(
                    field,
                    f"That is more addresses than {self.family} has.",
                    "need_too_large",
                )
            else:
                data["need_value"] = need

    def _clean_rules(self, data: dict[str, Any]) -> None:
        low, high = data.get("min_netmask"), data.get("max_netmask")
        default = data.get("default_netmask")
        if any(name in self.errors for name in ("min_netmask", "max_netmask", "default_netmask")):
            return
        self._add(rules.check_netmask_lengths(self.family, low, high, default))

    def _clean_locale(self, data: dict[str, Any]) -> None:
        locale = data.get("locale")
        if not locale or locale == NO_LOCALE:
            return
        if self.node is not None and locale == self.node.locale:
            return  # as it was: its findings say what is wrong with it
        self._add(
            rules.check_locale(
                locale,
                operating_regions=self.regions,
                address_family=self.family,
                scope_type=self.scope_type,
            )
        )

    def _add(self, violations: Iterable[Violation]) -> None:
        fields = {**FIELD_OF_MEMBER, "prefix_length": "prefix_length", "need_length": "need_length"}
        add_violations(self, violations, fields)

    # --- results ------------------------------------------------------------------------

    def spec_node(self) -> NodeSpec:
        """The node the valid form describes (for an edit: the edited node with every part
        as posted)."""
        data = self.cleaned_data
        intent = data["intent"]
        base = self.node or NodeSpec(key=data["key"], name="", parent=data.get("parent") or None)
        locale = data.get("locale") or None
        cidr = base.cidr
        if intent == Intent.CIDR:
            cidr = data["cidr_network"]
        elif base.intent == Intent.CIDR and self.node is not None:
            cidr = base.cidr  # unpinned: it stays where it is, now free to grow in place
        return replace(
            base,
            name=data["name"],
            intent=intent,
            prefix_length=data.get("prefix_length") if intent == Intent.LENGTH else None,
            need=data.get("need_value") if intent == Intent.NEED else None,
            cidr=cidr if self.node is not None or intent == Intent.CIDR else None,
            locale=locale,
            spare_slots=data.get("spare_slots") or 0,
            min_netmask=data.get("min_netmask"),
            max_netmask=data.get("max_netmask"),
            default_netmask=data.get("default_netmask"),
            description=data.get("description", ""),
            tags=self._pairs(self.tags, base.tags),
            allocation_resource_tags=self._pairs(
                self.allocation_tags, base.allocation_resource_tags
            ),
        )

    def changes(self, current: NodeSpec) -> dict[str, Any]:
        """What the edit changes in ``current`` (the node as it is now): the parts the user
        changed in the form since it was shown, so an edit made meanwhile by someone else to
        another part is kept."""
        posted = self.spec_node()
        seen = _loads(self.raw("seen"))
        now, wanted = facets(current), facets(posted)
        out: dict[str, Any] = {}
        for part, attributes in PARTS.items():
            before = seen.get(part, now[part]) if isinstance(seen, dict) else now[part]
            if wanted[part] != before and wanted[part] != now[part]:
                for attribute in attributes:
                    value = getattr(posted, attribute)
                    if attribute == "cidr" and posted.intent != Intent.CIDR:
                        value = current.cidr
                    out[attribute] = value
        return out


def _initial(node: NodeSpec) -> dict[str, Any]:
    need = node.need if node.intent == Intent.NEED else None
    return {
        "name": node.name,
        "intent": node.intent,
        "cidr": str(node.cidr) if node.cidr is not None and node.intent == Intent.CIDR else "",
        "prefix_length": node.prefix_length,
        "need_count": need.count if need else None,
        "need_length": need.length if need else None,
        "need_hosts": need.hosts if need else None,
        "need_growth": need.growth if need else None,
        "locale": node.locale or INHERIT,
        "spare_slots": node.spare_slots,
        "min_netmask": node.min_netmask,
        "default_netmask": node.default_netmask,
        "max_netmask": node.max_netmask,
        "description": node.description,
    }


def _loads(text: Any) -> Any:
    if not isinstance(text, str) or not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


class MoveForm(_Described):
    """A new parent for a node (and its subtree): any node outside its own subtree."""

    version = forms.CharField(widget=forms.HiddenInput, required=False, max_length=16)
    parent = forms.ChoiceField(
        required=False,
        label="New parent",
        help_text="Its CIDR stays if it fits there; otherwise it is placed anew, with its subtree.",
    )

    def __init__(
        self, data: Mapping[str, Any] | None = None, *, spec: PlanSpec, node: NodeSpec, version: int
    ) -> None:
        super().__init__(data, initial={"version": str(version), "parent": node.parent or INHERIT})
        self.spec, self.node = spec, node
        inside = {node.key, *(n.key for n in Tree.of(spec.nodes).walk(node.key))}
        self.fields["parent"].choices = parent_choices(spec, leave_out=inside)
        self.describe_inputs()

    @property
    def version_seen(self) -> int | None:
        return small_int(self.data.get("version") if self.is_bound else None)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.node.bound:
            self.put_error(
                "parent",
                "This node's pool exists in AWS, which cannot move a pool to another source.",
                "bound_cannot_move",
            )
        return data

    @property
    def parent_key(self) -> str | None:
        return self.cleaned_data.get("parent") or None


class PlanSettingsForm(_Described):
    """The plan's name, description and space (where its top-level nodes go)."""

    name = forms.CharField(
        max_length=constants.MAX_TAG_VALUE_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    description = forms.CharField(
        required=False,
        max_length=MAX_DESCRIPTION_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    space = forms.CharField(
        required=False,
        max_length=64 * MAX_SPACE_CIDRS,
        help_text="CIDRs its top-level nodes are placed in, one a line (or with commas).",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )

    def __init__(self, data: Mapping[str, Any] | None = None, *, plan: Plan) -> None:
        super().__init__(
            data,
            initial={
                "name": plan.name,
                "description": plan.description,
                "space": "\n".join(plan.space or ()),
            },
        )
        self.plan = plan
        if plan.parent_pool_id:
            del self.fields["space"]  # the parent pool's CIDRs are the space
        self.describe_inputs()

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        for found in rules.check_text({"Name": name}):
            raise ValidationError(found.message, code=found.code)
        if (
            Plan.objects.filter(ipam_id=self.plan.ipam_id, name=name)
            .exclude(pk=self.plan.pk)
            .exists()
        ):
            raise ValidationError("Another plan of this IPAM has this name.", code="name_taken")
        return name

    def clean_description(self) -> str:
        text = self.cleaned_data.get("description", "")
        for found in rules.check_text({"Description": text}):
            raise ValidationError(found.message, code=found.code)
        return text

    def clean_space(self) -> list:
        text = self.cleaned_data.get("space", "")
        pieces = [p for p in text.replace(",", " ").split() if p]
        if len(pieces) > MAX_SPACE_CIDRS:
            raise ValidationError(f"At most {MAX_SPACE_CIDRS} CIDRs.", code="space_too_many")
        networks = []
        for piece in pieces:
            parsed = addressing.parse_cidr(piece, self.plan.address_family, field="space")
            if parsed.violation is not None:
                raise ValidationError(parsed.violation.message, code=parsed.violation.code)
            networks.append(parsed.network)
        for index, network in enumerate(networks):
            clash = addressing.overlapping(network, networks[:index])
            if clash:
                raise ValidationError(
                    f"{network} overlaps {clash[0]}: give each block once.", code="space_overlaps"
                )
        return networks

    def changes(self) -> dict[str, Any]:
        data, plan = self.cleaned_data, self.plan
        out: dict[str, Any] = {}
        if data["name"] != plan.name:
            out["name"] = data["name"]
        if data.get("description", "") != plan.description:
            out["description"] = data.get("description", "")
        if "space" in self.fields and [str(n) for n in data["space"]] != list(plan.space or ()):
            out["space"] = data["space"]
        return out
