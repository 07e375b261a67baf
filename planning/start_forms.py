"""The forms that start a plan: where it lives (IPAM, scope, family, space or a parent pool),
the template wizard's dimensions and levels, and the live pools a clone is made of.

Every value is hostile until cleaned: ids are looked up only when they could be ids, numbers
are bounded before they are used, and each refusal lands on the field it concerns with a
stable code, the input kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import QueryDict
from netaddr import IPNetwork

from awsipam import addressing, rules
from awsipam.constants import MAX_POOL_DEPTH, MAX_TAG_VALUE_LENGTH, NETMASK_LIMITS
from planning import clone, wizard
from planning.models import Plan
from planning.spec import MAX_GROWTH_PERCENT, MAX_HOSTS, MAX_NEED_COUNT
from pools import selectors
from pools.forms import AwsIdChoiceField, PoolChoiceField, is_aws_id
from pools.models import AddressFamily, Ipam, IpamPool, IpamPoolCidr, IpamScope, Reservation

# Up to this many candidates a pool is chosen from a select; beyond, its ID is typed.
POOL_SELECT_LIMIT = 300
MAX_SPACE_CIDRS = 50
_SEPARATORS = re.compile(r"[\s,;]+")


def _split(text: str) -> list[str]:
    return [part for part in _SEPARATORS.split(text.strip()) if part]


def _values(text: str) -> tuple[str, ...]:
    """A comma-separated list of names (business units, environments)."""
    return tuple(v.strip() for v in text.split(",") if v.strip())


class ScopeChoiceField(AwsIdChoiceField):
    def label_from_instance(self, obj: IpamScope) -> str:
        return f"{obj.ipam} · {obj}"


def _pool_widget(field: forms.ModelChoiceField, many: bool, placeholder: str) -> None:
    """A select of the candidates, or a box for a pool's ID when they are too many to list."""
    if many:
        field.widget = forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": placeholder}
        )
        field.help_text += " Type the pool's ID (this scope has too many pools to list)."


def _described(form: forms.Form) -> None:
    for name, item in form.fields.items():
        item.widget.attrs.setdefault(
            "aria-describedby", f"{form[name].auto_id}_helptext {form[name].auto_id}_error"
        )


def drop_premature_errors(form: forms.Form) -> None:
    """While the user types, an empty required field is not yet an error."""
    for name in list(form.errors):
        kept = [e for e in form.errors[name].as_data() if e.code != "required"]
        if kept:
            form.errors[name] = form.error_class(kept, renderer=form.renderer)
        else:
            del form.errors[name]


class _Chosen:
    """What the user has chosen so far (also before the form is valid), each looked up once."""

    fields: dict[str, forms.Field]
    data: Any
    initial: dict[str, Any]
    is_bound: bool

    def raw(self, name: str) -> Any:
        if self.is_bound:
            return self.data.get(self.add_prefix(name))  # type: ignore[attr-defined]
        return self.initial.get(name)

    def chosen(self, name: str) -> Any:
        value = self.raw(name)
        if isinstance(value, Ipam | IpamScope | IpamPool):
            return value
        if not is_aws_id(value):
            return None
        cache = self.__dict__.setdefault("_chosen_rows", {})
        if (name, value) not in cache:
            field = self.fields[name]
            cache[(name, value)] = field.queryset.filter(**{field.to_field_name: value}).first()
        return cache[(name, value)]

    @property
    def chosen_family(self) -> str:
        value = self.raw("address_family")
        return value if value in AddressFamily.values else AddressFamily.IPV4


class PlanPlaceForm(_Chosen, forms.Form):
    """Where a plan lives: an IPAM, a scope of it, an address family, and either a space of
    its own or a live pool it grows under."""

    ipam = AwsIdChoiceField(
        queryset=Ipam.objects.live(),
        to_field_name="ipam_id",
        label="IPAM",
        empty_label="Choose an IPAM",
    )
    scope = ScopeChoiceField(
        queryset=selectors.live_scopes(),
        to_field_name="scope_id",
        empty_label="Choose a scope",
        help_text="The plan's pools are created in this scope.",
    )
    address_family = forms.ChoiceField(
        choices=AddressFamily.choices, initial=AddressFamily.IPV4, widget=forms.RadioSelect
    )
    name = forms.CharField(
        max_length=MAX_TAG_VALUE_LENGTH,
        help_text="Unique among the IPAM's plans.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    space = forms.CharField(
        required=False,
        max_length=2000,
        help_text="CIDRs the top-level nodes are placed in, such as 10.0.0.0/8 (several: "
        "separate them with commas). Leave it empty when the plan grows under a parent pool.",
        widget=forms.TextInput(
            attrs={"placeholder": "e.g. 10.0.0.0/8", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    parent_pool = PoolChoiceField(
        queryset=IpamPool.objects.none(),
        to_field_name="pool_id",
        required=False,
        empty_label="None: the plan has a space of its own",
        help_text="A live pool the plan's top-level nodes take their space from.",
    )
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        scope = self.chosen_scope
        candidates = selectors.source_pool_choices(scope, self.chosen_family)
        self.fields["parent_pool"].queryset = candidates
        self.many_pools = scope is not None and selectors.has_more_than(
            candidates.order_by(), POOL_SELECT_LIMIT
        )
        _pool_widget(self.fields["parent_pool"], self.many_pools, "ipam-pool-…")
        _described(self)

    @property
    def chosen_ipam(self) -> Ipam | None:
        ipam = self.chosen("ipam")
        scope = self.chosen("scope")
        return ipam or (scope.ipam if scope is not None else None)

    @property
    def chosen_scope(self) -> IpamScope | None:
        return self.chosen("scope")

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        ipam: Ipam | None = data.get("ipam")
        scope: IpamScope | None = data.get("scope")
        family = data.get("address_family") or self.chosen_family
        if ipam is not None and scope is not None and scope.ipam_id != ipam.pk:
            self.add_error(
                "scope",
                ValidationError(
                    f"{scope} belongs to another IPAM ({scope.ipam}); choose a scope of {ipam}.",
                    code="scope_other_ipam",
                ),
            )
        if ipam is not None and data.get("name") and _taken(ipam, data["name"]):
            self.add_error("name", name_taken(data["name"]))
        parent: IpamPool | None = data.get("parent_pool")
        if parent is not None:
            facts = selectors.pool_facts(parent, with_space=False)
            found = rules.check_usable(facts) or rules.check_depth(parent.depth + 1)
            if found:
                self.add_error("parent_pool", ValidationError(found[0].message, code=found[0].code))
        self._clean_space(data, family, parent)
        return data

    def _clean_space(self, data: dict[str, Any], family: str, parent: IpamPool | None) -> None:
        if "space" not in data:
            return
        texts = _split(data["space"])
        data["space"] = []
        if not texts:
            if parent is None and "parent_pool" in data:
                self.add_error(
                    "space",
                    ValidationError(
                        "Give the plan a space (such as 10.0.0.0/8) or choose a parent pool.",
                        code="space_required",
                    ),
                )
            return
        if parent is not None:
            self.add_error(
                "space",
                ValidationError(
                    "Leave the space empty: the plan grows inside the parent pool's CIDRs.",
                    code="space_with_parent_pool",
                ),
            )
            return
        if len(texts) > MAX_SPACE_CIDRS:
            self.add_error(
                "space",
                ValidationError(f"At most {MAX_SPACE_CIDRS} CIDRs.", code="space_too_many"),
            )
            return
        networks: list[IPNetwork] = []
        for text in texts:
            parsed = addressing.parse_cidr(text, family, field="space")
            if parsed.violation is not None:
                found = parsed.violation
                self.add_error("space", ValidationError(found.message, code=found.code))
                return
            clash = addressing.overlapping(parsed.network, networks)
            if clash:
                self.add_error(
                    "space",
                    ValidationError(
                        f"{parsed.network} overlaps {clash[0]}: give each block once.",
                        code="space_overlaps",
                    ),
                )
                return
            networks.append(parsed.network)
        data["space"] = networks

    def place(self) -> dict[str, Any]:
        """plan_create's arguments (of a valid form)."""
        data = self.cleaned_data
        return {
            "ipam": data["ipam"],
            "scope": data["scope"],
            "address_family": data["address_family"],
            "name": data["name"],
            "space": data["space"],
            "parent_pool": data.get("parent_pool"),
            "description": data.get("description", ""),
        }

    def add_name_taken(self) -> None:
        """The name was taken between the check and the insert (another submit got there)."""
        self.add_error("name", name_taken(self.cleaned_data.get("name", "")))


def _taken(ipam: Ipam, name: str) -> bool:
    return Plan.objects.filter(ipam=ipam, name=name).exists()


def name_taken(name: str) -> ValidationError:
    return ValidationError(
        f"This IPAM already has a plan named {name!r}; choose another name.",
        code="plan_name_taken",
    )


def place_initial(query: Mapping[str, str]) -> dict[str, Any]:
    """Prefill from the link that opened the form (``?scope=``, ``?pool=``, ``?family=``),
    else the only IPAM's private default scope."""
    initial: dict[str, Any] = {}
    pool = (
        IpamPool.objects.not_deleted()
        .select_related("scope__ipam")
        .filter(pool_id=query.get("pool", ""))
        .first()
        if is_aws_id(query.get("pool"))
        else None
    )
    scope = pool.scope if pool is not None else None
    if scope is None and is_aws_id(query.get("scope")):
        scope = selectors.live_scopes().filter(scope_id=query["scope"]).first()
    if scope is None:
        ipams = list(Ipam.objects.live()[:2])
        if len(ipams) == 1:
            scope = (
                selectors.live_scopes()
                .filter(ipam=ipams[0], scope_type="private")
                .order_by("-is_default", "scope_id")
                .first()
            )
    if scope is not None:
        initial.update(ipam=scope.ipam, scope=scope)
    if pool is not None:
        initial.update(parent_pool=pool, address_family=pool.address_family, pool=pool)
    if query.get("family") in AddressFamily.values:
        initial["address_family"] = query["family"]
    return initial


# --- the template wizard ---------------------------------------------------------------------


class LevelForm(forms.Form):
    """One level of the template: what it repeats, its names, its size, its spare slots."""

    dimension = forms.ChoiceField(choices=wizard.DIMENSIONS, label="Repeats")
    count = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=wizard.MAX_VALUES,
        label="How many",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    pattern = forms.CharField(
        max_length=MAX_TAG_VALUE_LENGTH,
        label="Name pattern",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    size = forms.ChoiceField(choices=wizard.SIZE_KINDS, label="Size")
    length = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=max(NETMASK_LIMITS.values()),
        label="Prefix length",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    block_count = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_NEED_COUNT,
        label="Blocks",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    hosts = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_HOSTS,
        label="Addresses",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    growth = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_GROWTH_PERCENT,
        label="Growth %",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    spare_slots = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=wizard.MAX_SPARE_SLOTS,
        label="Spare slots",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.computed_length: int | None = None  # what the preview works out for the level
        _described(self)

    # The numbers each choice uses; the others are hidden on the page and not judged.
    SIZE_NUMBERS = {
        wizard.FIT: (),
        wizard.LENGTH: ("length",),
        wizard.BLOCKS: ("length", "block_count", "growth"),
        wizard.HOSTS: ("hosts", "growth"),
    }
    NUMBERS = ("count", "length", "block_count", "hosts", "growth")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        used = set(self.SIZE_NUMBERS.get(data.get("size") or "", self.NUMBERS))
        if data.get("dimension") == wizard.NUMBER:
            used.add("count")
        for name in self.NUMBERS:
            if name in used:
                if data.get(name) is None and name not in self.errors and name != "growth":
                    self.add_error(name, ValidationError("Give a number.", code="required"))
            else:
                self.errors.pop(name, None)
                data[name] = None
        return data

    def level(self) -> wizard.Level:
        data = self.cleaned_data
        return wizard.Level(
            pattern=data["pattern"],
            dimension=data["dimension"],
            count=data.get("count") or 1,
            size=wizard.Size(
                kind=data["size"],
                length=data.get("length"),
                count=data.get("block_count") or 1,
                hosts=data.get("hosts"),
                growth=data.get("growth") or 0,
            ),
            spare_slots=data.get("spare_slots") or 0,
        )


LevelFormSet = forms.formset_factory(
    LevelForm,
    extra=0,
    can_delete=True,
    max_num=MAX_POOL_DEPTH,
    validate_max=True,
    absolute_max=MAX_POOL_DEPTH,
)
LEVEL_PREFIX = "level"


def level_initial(level: wizard.Level) -> dict[str, Any]:
    size = level.size
    return {
        "dimension": level.dimension,
        "count": level.count if level.dimension == wizard.NUMBER else None,
        "pattern": level.pattern,
        "size": size.kind,
        "length": size.length,
        "block_count": size.count if size.kind == wizard.BLOCKS else None,
        "hosts": size.hosts,
        "growth": size.growth or None,
        "spare_slots": level.spare_slots or None,
    }


# Spaces offered to a new plan, in order, when the preset's is taken (RFC 1918, RFC 4193).
SPARE_SPACES = {
    "ipv4": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"),
    "ipv6": ("fd00:10::/32", "fd00:20::/32", "fd00:30::/32"),
}


def suggest_space(scope: IpamScope | None, family: str, preferred: str) -> str:
    """The preferred space, or the first of :data:`SPARE_SPACES` that no live top-level pool
    of the scope and no block of the IPAM's ledger overlaps (two queries)."""
    if scope is None:
        return preferred
    taken = list(
        IpamPoolCidr.objects.holding_space()
        .filter(pool__scope=scope, pool__source_pool_aws_id="", pool__missing_since=None)
        .values_list("cidr", flat=True)
    )
    taken += list(
        Reservation.objects.filter(ipam_id=scope.ipam_id, address_family=family).values_list(
            "cidr", flat=True
        )
    )
    for text in (preferred, *SPARE_SPACES.get(family, ())):
        if text and not addressing.overlapping(IPNetwork(text), taken):
            return text
    return preferred


def wizard_data(preset: wizard.Preset, initial: Mapping[str, Any]) -> QueryDict:
    """The wizard's input for a preset, as if posted (so the first page shows its preview)."""
    template = preset.template
    data = QueryDict(mutable=True)
    ipam, scope = initial.get("ipam"), initial.get("scope")
    data["ipam"] = ipam.ipam_id if ipam else ""
    data["scope"] = scope.scope_id if scope else ""
    data["address_family"] = template.family
    data["name"] = ""
    data["space"] = suggest_space(scope, template.family, preset.space)
    data["description"] = ""
    if ipam is not None:
        data.setlist("regions", list(ipam.operating_regions))
    data["units"] = ", ".join(template.units)
    data["environments"] = ", ".join(template.environments)
    data[f"{LEVEL_PREFIX}-TOTAL_FORMS"] = str(len(template.levels))
    data[f"{LEVEL_PREFIX}-INITIAL_FORMS"] = "0"
    for index, level in enumerate(template.levels):
        for name, value in level_initial(level).items():
            data[f"{LEVEL_PREFIX}-{index}-{name}"] = "" if value is None else str(value)
    return data


def with_extra_level(data: QueryDict) -> QueryDict:
    """A copy of ``data`` with one more level under the last (while fewer than AWS allows):
    repeating a dimension no level above repeats, named after the last level's pattern."""
    management = forms.formsets.ManagementForm(data, prefix=LEVEL_PREFIX)
    rows = management.cleaned_data["TOTAL_FORMS"] if management.is_valid() else 0
    rows = max(0, min(rows, MAX_POOL_DEPTH))
    data = data.copy()
    if rows >= MAX_POOL_DEPTH:
        return data
    used = {data.get(f"{LEVEL_PREFIX}-{i}-dimension") for i in range(rows)}
    dimension = next(
        (d for d in (wizard.NUMBER, wizard.ENV, wizard.UNIT, wizard.REGION) if d not in used),
        wizard.ONE,
    )
    last = data.get(f"{LEVEL_PREFIX}-{rows - 1}-pattern", "") if rows else ""
    suffix = {wizard.NUMBER: "-{n}", wizard.ONE: "-sub"}.get(
        dimension, f"-{{{wizard.PLACEHOLDER.get(dimension, '')}}}"
    )
    row = {
        "dimension": dimension,
        "count": "2" if dimension == wizard.NUMBER else "",
        "pattern": (last + suffix)[:MAX_TAG_VALUE_LENGTH] if last else suffix.lstrip("-"),
        "size": wizard.LENGTH,
        "length": "",
    }
    for name, value in row.items():
        data[f"{LEVEL_PREFIX}-{rows}-{name}"] = value
    data[f"{LEVEL_PREFIX}-TOTAL_FORMS"] = str(rows + 1)
    return data


# Problems of the template itself, and the wizard form's fields they land on.
TEMPLATE_FIELDS = {"regions": "regions", "units": "units", "environments": "environments"}


class WizardForm(PlanPlaceForm):
    regions = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Regions",
        help_text="The IPAM's operating Regions: a Regional level makes one node in each, "
        "with that Region as its locale.",
    )
    units = forms.CharField(
        required=False,
        max_length=2000,
        label="Business units",
        help_text="Separated by commas, such as retail, payments.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    environments = forms.CharField(
        required=False,
        max_length=2000,
        help_text="Separated by commas, such as prod, staging, dev.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ipam = self.chosen_ipam
        regions = list(ipam.operating_regions) if ipam is not None else []
        self.fields["regions"].choices = [(r, r) for r in regions]
        self.levels = LevelFormSet(self.data or None, prefix=LEVEL_PREFIX)
        self._template: wizard.Template | None = None
        self._level_forms: list[LevelForm] = []

    def is_valid(self) -> bool:
        form_valid = super().is_valid()
        return self.levels.is_valid() and form_valid and not self.template_errors

    @property
    def template_errors(self) -> list[ValidationError]:
        self.errors  # noqa: B018 (cleans the form, which judges the template)
        return self.__dict__.get("_template_errors", [])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self.__dict__["_template_errors"] = []
        if not self.levels.is_valid():
            return data
        forms_ = [
            f for f in self.levels.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        template = wizard.Template(
            levels=tuple(f.level() for f in forms_),
            family=data.get("address_family") or self.chosen_family,
            regions=tuple(data.get("regions") or ()),
            units=_values(data.get("units", "")),
            environments=_values(data.get("environments", "")),
        )
        problems = wizard.check(template)
        for problem in problems:
            error = ValidationError(problem.message, code=problem.code)
            if problem.level is not None:
                level_form = forms_[problem.level]
                if problem.field in level_form.fields and problem.field not in level_form.errors:
                    level_form.add_error(problem.field, error)
            elif problem.field in TEMPLATE_FIELDS and problem.field not in self.errors:
                self.add_error(TEMPLATE_FIELDS[problem.field], error)
            else:
                self.__dict__["_template_errors"].append(error)
        if not problems:
            self._template = template
        self._level_forms = forms_
        return data

    def show_lengths(self, lengths: Sequence[int | None]) -> None:
        """Give each level's row the prefix length its nodes get (deleted rows: none)."""
        for level_form, length in zip(self._level_forms, lengths, strict=False):
            level_form.computed_length = length

    def template(self) -> wizard.Template | None:
        """The template the input describes, when it has no problem."""
        self.errors  # noqa: B018
        return self._template

    @property
    def can_add_level(self) -> bool:
        return self.levels.total_form_count() < MAX_POOL_DEPTH

    @property
    def problem_count(self) -> int:
        count = sum(1 for name in self.errors if name != NON_FIELD_ERRORS)
        count += sum(len(f.errors) for f in self.levels.forms)
        return count + len(self.template_errors) + bool(self.levels.non_form_errors())


# --- cloning live pools ------------------------------------------------------------------------


class CloneForm(_Chosen, forms.Form):
    """A scope (every pool of one address family) or one pool of it (its subtree)."""

    scope = ScopeChoiceField(
        queryset=selectors.live_scopes(), to_field_name="scope_id", empty_label="Choose a scope"
    )
    pool = PoolChoiceField(
        queryset=IpamPool.objects.none(),
        to_field_name="pool_id",
        required=False,
        label="Pool",
        empty_label="The whole scope",
        help_text="Clone this pool and every pool below it; leave it to clone the whole scope.",
    )
    address_family = forms.ChoiceField(
        required=False,  # a pool's subtree has the pool's; a scope's is IPv4 unless chosen
        choices=AddressFamily.choices,
        initial=AddressFamily.IPV4,
        widget=forms.RadioSelect,
        help_text="A plan holds one address family: the scope's pools of this one are cloned "
        "(a pool's subtree has its own).",
    )
    name = PlanPlaceForm.base_fields["name"]
    description = PlanPlaceForm.base_fields["description"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        scope = self.chosen("scope")
        candidates = (
            IpamPool.objects.not_deleted()
            .filter(scope=scope)
            .select_related("scope__ipam")
            .order_by("address_family", "depth", "name", "pool_id")
            if scope is not None
            else IpamPool.objects.none()
        )
        self.fields["pool"].queryset = candidates
        self.many_pools = scope is not None and selectors.has_more_than(
            candidates.order_by(), POOL_SELECT_LIMIT
        )
        _pool_widget(self.fields["pool"], self.many_pools, "ipam-pool-…")
        self._clone: clone.Clone | None = None
        _described(self)

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        scope: IpamScope | None = data.get("scope")
        if scope is not None and data.get("name") and _taken(scope.ipam, data["name"]):
            self.add_error("name", name_taken(data["name"]))
        if scope is not None and "pool" in data:
            found = self.source()
            if found is not None and not found.nodes:
                self.add_error(
                    "pool" if data["pool"] else "scope",
                    ValidationError(
                        f"There is no live {self.family} pool here to clone.",
                        code="nothing_to_clone",
                    ),
                )
        return data

    @property
    def chosen_pool(self) -> IpamPool | None:
        return self.chosen("pool")

    @property
    def family(self) -> str:
        pool = self.chosen_pool
        return pool.address_family if pool is not None else self.chosen_family

    def source(self) -> clone.Clone | None:
        """What would be cloned, from the scope and pool chosen so far (valid or not)."""
        if self._clone is None:
            scope = self.chosen("scope")
            pool = self.chosen("pool")
            if pool is not None and scope is not None and pool.scope_id == scope.pk:
                self._clone = clone.clone_subtree(pool)
            elif scope is not None and not self.raw("pool"):
                self._clone = clone.clone_scope(scope, self.family)
        return self._clone

    def add_name_taken(self) -> None:
        self.add_error("name", name_taken(self.cleaned_data.get("name", "")))
