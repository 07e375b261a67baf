"""The pool creation form: every CreateIpamPool member, checked by the rules of AWS.

Checks come from :mod:`pools.rules` and :mod:`pools.addressing` (the same code the local
endpoint runs) over facts read from the database, never from an AWS call, so the form can run
on every keystroke. The same checks run again on submit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Q
from django.urls import reverse
from netaddr import IPNetwork

from pools import addressing, rules
from pools.models import (
    DELETING_STATES,
    AddressFamily,
    AwsService,
    CidrState,
    IpamPool,
    IpamScope,
    PublicIpSource,
)
from pools.services import FirstCidr, PoolSpec, new_client_token

# CreateIpamPool member -> the form field that shows its errors.
FIELD_FOR_MEMBER = {
    "IpamScopeId": "scope",
    "SourceIpamPoolId": "source_pool",
    "AddressFamily": "address_family",
    "Locale": "locale",
    "Description": "description",
    "AutoImport": "auto_import",
    "AllocationMinNetmaskLength": "allocation_min_netmask_length",
    "AllocationMaxNetmaskLength": "allocation_max_netmask_length",
    "AllocationDefaultNetmaskLength": "allocation_default_netmask_length",
    "PubliclyAdvertisable": "publicly_advertisable",
    "PublicIpSource": "public_ip_source",
    "AwsService": "aws_service",
    "SourceResource": "source_resource_id",
    "Cidr": "first_cidr",
    "NetmaskLength": "first_netmask_length",
}

PUBLIC_ONLY_REASON = "Only for pools in the public scope."
ADVERTISABLE_REASON = "Only for IPv6 pools with BYOIP addresses in the public scope."
# Up to this many candidates the source pool is a select; beyond, a search box with
# suggestions: a select of 10,000 pools is a megabyte of HTML and a second to render.
SOURCE_SELECT_LIMIT = 300
SOURCE_SUGGESTIONS = 20


def field_for(member: str | None) -> str | None:
    return FIELD_FOR_MEMBER.get(member or "")


def netmask_field(label: str, help_text: str) -> forms.IntegerField:
    """A netmask length; its range is a rule of :mod:`pools.rules`, checked in ``clean``."""
    return forms.IntegerField(
        required=False,
        label=label,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"min": 0, "max": 128, "inputmode": "numeric"}),
    )


def source_pool_label(pool: IpamPool) -> str:
    return " · ".join([str(pool), f"depth {pool.depth}", pool.locale or "no locale"])


class PoolChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: IpamPool) -> str:
        return source_pool_label(obj)


class TagForm(forms.Form):
    key = forms.CharField(required=False, max_length=200, label="Key")
    value = forms.CharField(required=False, max_length=400, label="Value")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        key, value = data.get("key", ""), data.get("value", "")
        if key or value:
            for violation in rules.check_tags([(key, value)]):
                field = "value" if violation.code == "tag_value_too_long" else "key"
                self.add_error(field, ValidationError(violation.message, code=violation.code))
        return data


class BaseTagFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        pairs = self.pairs()
        for violation in rules.check_tags(pairs):
            if violation.code in ("too_many_tags", "tag_key_duplicate"):
                raise ValidationError(violation.message, code=violation.code)

    def pairs(self) -> list[tuple[str, str]]:
        out = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if data.get("key") and not data.get("DELETE"):
                out.append((data["key"], data.get("value", "")))
        return out


TagFormSet = forms.formset_factory(
    TagForm,
    formset=BaseTagFormSet,
    extra=0,
    can_delete=True,
    max_num=rules.MAX_TAGS,
    absolute_max=rules.MAX_TAGS + 10,
)


@dataclass(frozen=True)
class Plan:
    """What the form has worked out about the pool it would create."""

    depth: int | None = None
    operating_regions: tuple[str, ...] = ()
    netmask_range: tuple[int, int] | None = None
    next_free_cidr: str = ""
    next_free_length: int | None = None
    free_blocks: tuple[str, ...] = ()
    scope_type: str = ""
    source_locale: str = ""


class PoolForm(forms.Form):
    scope = forms.ModelChoiceField(
        queryset=IpamScope.objects.filter(missing_since__isnull=True).select_related("ipam"),
        to_field_name="scope_id",
        empty_label="Choose a scope",
        help_text="Pools are created in the IPAM's home Region.",
    )
    address_family = forms.ChoiceField(
        choices=AddressFamily.choices, initial=AddressFamily.IPV4, widget=forms.RadioSelect
    )
    source_pool = PoolChoiceField(
        queryset=IpamPool.objects.none(),
        to_field_name="pool_id",
        required=False,
        empty_label="None: a top-level pool",
        help_text="The pool this one takes its space from.",
    )
    locale = forms.CharField(
        required=False,
        max_length=64,
        help_text="The Region where the pool's space may be used. Leave empty for no locale.",
        widget=forms.TextInput(
            attrs={"list": "locale-options", "autocomplete": "off", "placeholder": "e.g. us-east-1"}
        ),
    )
    description = forms.CharField(
        required=False, max_length=1000, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    auto_import = forms.BooleanField(
        required=False,
        label="Auto-import",
        help_text="Import resources whose CIDRs fall in this pool (needs a locale to do anything).",
    )
    allocation_min_netmask_length = netmask_field(
        "Minimum netmask length", "The largest allocation allowed (shortest prefix)."
    )
    allocation_default_netmask_length = netmask_field(
        "Default netmask length", "Used when an allocation asks for no size."
    )
    allocation_max_netmask_length = netmask_field(
        "Maximum netmask length", "The smallest allocation allowed (longest prefix)."
    )
    public_ip_source = forms.ChoiceField(
        required=False,
        label="Public IP source",
        choices=[("", "Default (BYOIP)"), *PublicIpSource.choices],
    )
    aws_service = forms.ChoiceField(
        required=False,
        label="AWS service",
        choices=[("", "Not set"), *AwsService.choices],
    )
    publicly_advertisable = forms.NullBooleanField(
        required=False,
        label="Publicly advertisable",
        widget=forms.Select(choices=[("unknown", "Not set"), ("true", "Yes"), ("false", "No")]),
    )
    source_resource_id = forms.CharField(
        required=False,
        label="VPC ID",
        max_length=128,
        help_text="Plan space for an existing VPC (SourceResource).",
        widget=forms.TextInput(attrs={"placeholder": "vpc-0abc…", "autocomplete": "off"}),
    )
    source_resource_region = forms.CharField(required=False, label="VPC Region", max_length=32)
    source_resource_owner = forms.CharField(
        required=False, label="VPC owner account", max_length=32
    )
    first_cidr = forms.CharField(
        required=False,
        label="CIDR to provision",
        max_length=64,
        help_text="Provisioned as soon as the pool is created.",
        widget=forms.TextInput(
            attrs={"placeholder": "e.g. 10.0.0.0/16", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    first_netmask_length = netmask_field(
        "…or a netmask length", "AWS picks the lowest free block of this size in the source pool."
    )
    client_token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self._chosen_rows: dict[tuple[str, Any], Any] = {}
        if not self.is_bound and not self.initial.get("client_token"):
            self.initial["client_token"] = new_client_token()
        self.tags = TagFormSet(self.data or None, prefix="tag", form_kwargs={"label_suffix": ""})
        self.allocation_tags = TagFormSet(
            self.data or None, prefix="arts", form_kwargs={"label_suffix": ""}
        )
        self.plan = Plan()
        scope = self._chosen("scope")
        choices = source_pool_choices(scope, self._chosen_family())
        self.fields["source_pool"].queryset = choices
        self.source_pool_search = scope is not None and choices.count() > SOURCE_SELECT_LIMIT
        if self.source_pool_search:
            self._search_source_pool()
        self.fields["publicly_advertisable"].disabled = not self.advertisable_applies
        if not self.is_bound:
            self._plan_from_initial()
        for form in (self, *self.tags, *self.allocation_tags):
            for name, field in form.fields.items():
                field.widget.attrs.setdefault(
                    "aria-describedby",
                    f"{form[name].auto_id}_helptext {form[name].auto_id}_error",
                )

    def _search_source_pool(self) -> None:
        """A search box with suggestions in place of a select of thousands of pools."""
        field = self.fields["source_pool"]
        field.error_messages["invalid_choice"] = (
            "No pool of this scope and address family has this ID: choose one of the suggestions."
        )
        field.help_text = (
            "Type part of a pool's name or ID and choose from the suggestions. "
            "Leave empty for a top-level pool."
        )
        field.widget = forms.TextInput(
            attrs={
                "list": "source-pool-options",
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": "Name or ID of the source pool",
                "hx-get": reverse("pool_source_search"),
                "hx-trigger": "input changed delay:200ms, focus once",
                "hx-include": "[name='scope'], [name='address_family']",
                "hx-target": "#source-pool-options",
                "hx-swap": "innerHTML",
                "hx-sync": "this:replace",
            }
        )

    # --- what the user has chosen so far (also before the form is valid) -------------------

    def _raw(self, name: str) -> Any:
        if self.is_bound:
            return self.data.get(self.add_prefix(name))
        return self.initial.get(name)

    def _chosen(self, name: str) -> Any:
        value = self._raw(name)
        if isinstance(value, IpamScope | IpamPool) or not value:
            return value or None
        key = (name, value)
        if key not in self._chosen_rows:  # asked for many times per render: one query each
            field = self.fields[name]
            try:
                self._chosen_rows[key] = field.queryset.get(**{field.to_field_name: value})
            except (field.queryset.model.DoesNotExist, ValueError):
                self._chosen_rows[key] = None
        return self._chosen_rows[key]

    def _chosen_family(self) -> str:
        value = self._raw("address_family")
        return value if value in AddressFamily.values else AddressFamily.IPV4

    @property
    def chosen_scope(self) -> IpamScope | None:
        return self._chosen("scope")

    @property
    def chosen_source(self) -> IpamPool | None:
        return self._chosen("source_pool")

    @property
    def formsets(self) -> tuple[BaseTagFormSet, BaseTagFormSet]:
        return self.tags, self.allocation_tags

    advertisable_reason = ADVERTISABLE_REASON

    @property
    def problem_count(self) -> int:
        """How many fields (tag fields included) have an error, for the plan's summary."""
        count = sum(1 for name in self.errors if name != NON_FIELD_ERRORS)
        for formset in self.formsets:
            count += sum(len(form.errors) for form in formset.forms)
            count += bool(formset.non_form_errors())
        return count

    def shown_fields(self) -> list[forms.BoundField]:
        """The fields the page shows for the current choices (others don't apply)."""
        hidden = set()
        if not self.is_public_scope:
            hidden |= {"public_ip_source", "aws_service", "publicly_advertisable"}
        if self.chosen_source is None:
            hidden.add("first_netmask_length")
        return [f for f in self if not f.is_hidden and f.name not in hidden]

    @property
    def locale_options(self) -> list[str]:
        """The Regions a locale may name: the IPAM's operating Regions."""
        scope = self.chosen_scope
        return list(scope.ipam.operating_regions) if scope else []

    @property
    def is_public_scope(self) -> bool:
        scope = self.chosen_scope
        return scope is not None and scope.scope_type == "public"

    @property
    def advertisable_applies(self) -> bool:
        return rules.publicly_advertisable_allowed(
            scope_type="public" if self.is_public_scope else "private",
            address_family=self._chosen_family(),
            public_ip_source=self._raw("public_ip_source") or None,
        )

    # --- validation ---------------------------------------------------------------------

    def is_valid(self) -> bool:
        form_valid = super().is_valid()
        tags_valid = self.tags.is_valid()
        allocation_tags_valid = self.allocation_tags.is_valid()
        return form_valid and tags_valid and allocation_tags_valid

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        scope: IpamScope | None = data.get("scope")
        family = data.get("address_family") or self._chosen_family()
        source: IpamPool | None = data.get("source_pool")
        if scope is None:
            return data
        regions = tuple(scope.ipam.operating_regions)
        source_facts = pool_facts(source) if source else None
        self.plan = base_plan(
            scope,
            family,
            source,
            data.get("allocation_min_netmask_length"),
            data.get("allocation_max_netmask_length"),
        )
        if not self.is_public_scope:  # hidden there: whatever was posted does not apply
            for name in ("public_ip_source", "aws_service"):
                data[name] = ""
        violations = rules.check_create_pool(
            scope_id=scope.scope_id,
            scope_type=scope.scope_type,
            operating_regions=regions,
            address_family=family,
            locale=rules.normalise_locale(data.get("locale", "").strip()),
            source=source_facts,
            min_netmask=data.get("allocation_min_netmask_length"),
            max_netmask=data.get("allocation_max_netmask_length"),
            default_netmask=data.get("allocation_default_netmask_length"),
            publicly_advertisable=data.get("publicly_advertisable"),
            public_ip_source=data.get("public_ip_source") or None,
            aws_service=data.get("aws_service") or None,
            source_resource=self._source_resource(data),
        )
        for violation in violations:
            self._add_violation(violation)
        self._check_first_cidr(data, family, source, scope)
        return data

    def _add_violation(self, violation: rules.Violation) -> None:
        field = field_for(violation.field)
        if field is not None and field in self.errors:
            return  # one message per field is enough
        self.add_error(field, ValidationError(violation.message, code=violation.code))

    def _source_resource(self, data: dict[str, Any]) -> dict[str, str] | None:
        if not data.get("source_resource_id"):
            return None
        resource = {"ResourceId": data["source_resource_id"], "ResourceType": "vpc"}
        if data.get("source_resource_region"):
            resource["ResourceRegion"] = data["source_resource_region"]
        if data.get("source_resource_owner"):
            resource["ResourceOwner"] = data["source_resource_owner"]
        return resource

    def _check_first_cidr(
        self,
        data: dict[str, Any],
        family: str,
        source: IpamPool | None,
        scope: IpamScope,
    ) -> None:
        text = (data.get("first_cidr") or "").strip()
        length = data.get("first_netmask_length")
        if error := cidr_or_netmask_error(text, length, family):
            self.add_error("first_netmask_length", error)
            return
        if length is not None and source is None:
            self.add_error(
                "first_netmask_length",
                ValidationError(
                    "A netmask length needs a source pool to take the space from; give a CIDR.",
                    code="netmask_without_source",
                ),
            )
            return
        network = None
        if text:
            parsed = addressing.parse_cidr(text, family, field="Cidr")
            if parsed.violation:
                self._add_violation(parsed.violation)
                return
            network = parsed.network
        if source is not None:
            self._check_in_source(network, length, source)
        elif network is not None:
            clash = top_level_overlap(scope, network)
            if clash:
                self.add_error(
                    "first_cidr",
                    ValidationError(
                        f"{network} overlaps {clash[1]}, provisioned to {clash[0]} in this scope.",
                        code="cidr_overlaps_top_level",
                    ),
                )

    def _plan_from_initial(self) -> None:
        """The plan for the form as a link opened it (a scope, a source pool, a free block)."""
        scope = self.chosen_scope
        if scope is None:
            return
        family = self._chosen_family()
        source = self.chosen_source
        self.plan = base_plan(scope, family, source, None, None)
        if source is not None:
            parsed = addressing.parse_cidr(str(self.initial.get("first_cidr") or ""), family)
            self._offer_free_block(source, parsed.network.prefixlen if parsed.network else None)

    def _offer_free_block(
        self, source: IpamPool, wanted: int | None
    ) -> tuple[list[IPNetwork], list[IPNetwork], IPNetwork | None]:
        """Put the source pool's free space and its lowest free ``/wanted`` block in the plan."""
        space, used = source_space(source)
        low, high = source.allocation_min_netmask_length, source.allocation_max_netmask_length
        if wanted is None:  # nothing typed yet: suggest the source's default size
            natural = space[0].prefixlen + 1 if space else low
            default = source.allocation_default_netmask_length
            wanted = default if default is not None else min(high, max(low, natural))
        suggestion = None
        if low <= wanted <= high:
            suggestion = addressing.lowest_free_block(space, used, wanted)
        self.plan = replace(
            self.plan,
            next_free_cidr=str(suggestion) if suggestion else "",
            next_free_length=wanted,
            free_blocks=tuple(str(b) for b in addressing.free_blocks(space, used)[:8]),
        )
        return space, used, suggestion

    def _check_in_source(
        self, network: IPNetwork | None, length: int | None, source: IpamPool
    ) -> None:
        low, high = source.allocation_min_netmask_length, source.allocation_max_netmask_length
        wanted = network.prefixlen if network is not None else length
        space, used, suggestion = self._offer_free_block(source, wanted)
        if not space:
            target = "first_cidr" if network is not None else "first_netmask_length"
            if network is not None or length is not None:
                self.add_error(
                    target,
                    ValidationError(
                        f"The source pool {source.pool_id} has no provisioned CIDR yet.",
                        code="source_pool_has_no_space",
                    ),
                )
            return
        if network is not None:
            violation = addressing.check_in_free_space(
                network,
                space=space,
                used=used,
                min_netmask=low,
                max_netmask=high,
                field="Cidr",
                pool_label=f"the source pool {source.pool_id}",
            )
            if violation:
                self._add_violation(violation)
        elif length is not None:
            if not low <= length <= high:
                self.add_error(
                    "first_netmask_length",
                    ValidationError(
                        f"The source pool allows netmask lengths /{low} to /{high}.",
                        code="cidr_netmask_outside_pool_rules",
                    ),
                )
            elif suggestion is None:
                self.add_error(
                    "first_netmask_length",
                    ValidationError(
                        f"The source pool has no free /{length} left.", code="cidr_not_available"
                    ),
                )

    # --- results ------------------------------------------------------------------------

    def spec(self) -> PoolSpec:
        data = self.cleaned_data
        return PoolSpec(
            scope=data["scope"],
            address_family=data["address_family"],
            source_pool=data.get("source_pool"),
            locale=(data.get("locale") or "").strip(),
            description=data.get("description", ""),
            auto_import=data.get("auto_import", False),
            allocation_min_netmask_length=data.get("allocation_min_netmask_length"),
            allocation_max_netmask_length=data.get("allocation_max_netmask_length"),
            allocation_default_netmask_length=data.get("allocation_default_netmask_length"),
            allocation_resource_tags=dict(self.allocation_tags.pairs()),
            tags=dict(self.tags.pairs()),
            public_ip_source=data.get("public_ip_source", ""),
            aws_service=data.get("aws_service", ""),
            publicly_advertisable=data.get("publicly_advertisable"),
            source_resource=self._source_resource(data),
        )

    def first_cidr_request(self) -> FirstCidr:
        return FirstCidr(
            cidr=(self.cleaned_data.get("first_cidr") or "").strip(),
            netmask_length=self.cleaned_data.get("first_netmask_length"),
        )

    def add_aws_error(self, member: str | None, message: str, code: str) -> None:
        self.add_error(field_for(member), ValidationError(message, code=code))

    def minimal_spec(self) -> PoolSpec | None:
        """The least CreateIpamPool request the input allows (to DryRun an unfinished form)."""
        scope = self.chosen_scope
        return PoolSpec(scope=scope, address_family=self._chosen_family()) if scope else None

    def renew_client_token(self) -> None:
        """A fresh token, for a submission AWS must treat as new."""
        self.data = self.data.copy()
        self.data[self.add_prefix("client_token")] = new_client_token()

    def drop_premature_errors(self, typing_in: str = "") -> None:
        """While the user types, an empty field is not yet an error, nor is a search box's
        half-typed text (``typing_in``: the field being typed in)."""
        for name in list(self.errors):
            search = name == typing_in == "source_pool" and self.source_pool_search
            codes = ("required", "invalid_choice") if search else ("required",)
            kept = [e for e in self.errors[name].as_data() if e.code not in codes]
            if kept:
                self.errors[name] = self.error_class(kept, renderer=self.renderer)
            else:
                del self.errors[name]

    def drop_unoffered_source(self) -> bool:
        """Forget a source pool the chosen scope and family no longer offer. True if done."""
        if not self._raw("source_pool") or self.chosen_source is not None:
            return False
        self.data = self.data.copy()
        self.data[self.add_prefix("source_pool")] = ""
        return True

    def adopt_source_locale(self) -> bool:
        """Fill an empty locale with the source pool's, which a child must share. True if done."""
        source = self._chosen("source_pool")
        if source is None or not source.locale or self._raw("locale"):
            return False
        self.data = self.data.copy()
        self.data[self.add_prefix("locale")] = source.locale
        return True


def base_plan(
    scope: IpamScope,
    family: str,
    source: IpamPool | None,
    min_netmask: int | None,
    max_netmask: int | None,
) -> Plan:
    return Plan(
        depth=rules.child_depth(pool_facts(source) if source else None),
        operating_regions=tuple(scope.ipam.operating_regions),
        scope_type=scope.scope_type,
        source_locale=source.locale if source else "",
        netmask_range=rules.effective_netmask_range(family, min_netmask, max_netmask),
    )


def source_pool_suggestions(
    scope: IpamScope | None, family: str, text: str
) -> list[tuple[str, str]]:
    """(pool ID, label) of the first possible source pools whose ID, name or description has
    ``text``."""
    choices = source_pool_choices(scope, family)
    if text := text.strip():
        choices = choices.filter(
            Q(pool_id__icontains=text) | Q(name__icontains=text) | Q(description__icontains=text)
        )
    return [(pool.pool_id, source_pool_label(pool)) for pool in choices[:SOURCE_SUGGESTIONS]]


def source_pool_choices(scope: IpamScope | None, family: str):
    if scope is None:
        return IpamPool.objects.none()
    return (
        IpamPool.objects.filter(scope=scope, address_family=family, missing_since__isnull=True)
        .select_related("scope")
        .exclude(state__in=DELETING_STATES)
        .order_by("depth", "name", "pool_id")
    )


def pool_facts(pool: IpamPool) -> rules.SourcePoolFacts:
    return rules.SourcePoolFacts(
        pool_id=pool.pool_id,
        scope_id=pool.scope.scope_id,
        address_family=pool.address_family,
        state=pool.state,
        pool_depth=pool.depth,
        locale=pool.locale or None,
    )


def source_space(pool: IpamPool) -> tuple[list[IPNetwork], list[IPNetwork]]:
    """A pool's provisioned CIDRs and what is allocated in it, as the mirror knows them."""
    space = [
        IPNetwork(c)
        for c in pool.cidrs.filter(
            state=CidrState.PROVISIONED, missing_since__isnull=True
        ).values_list("cidr", flat=True)
    ]
    used = [
        IPNetwork(c)
        for c in pool.allocations.filter(missing_since__isnull=True).values_list("cidr", flat=True)
    ]
    return space, used


def top_level_overlap(scope: IpamScope, network: IPNetwork) -> tuple[str, str] | None:
    """The first top-level pool CIDR in ``scope`` that overlaps ``network``."""
    rows = (
        IpamPool.objects.filter(scope=scope, source_pool_aws_id="", missing_since__isnull=True)
        .filter(Q(cidrs__state=CidrState.PROVISIONED) | Q(cidrs__state=CidrState.PENDING_PROVISION))
        .values_list("pool_id", "cidrs__cidr")
    )
    for pool_id, cidr in rows:
        if cidr and addressing.overlapping(network, [IPNetwork(cidr)]):
            return pool_id, cidr
    return None


def cidr_or_netmask_error(text: str, length: int | None, family: str) -> ValidationError | None:
    """What is wrong with space asked as a CIDR or a netmask length, before any address maths:
    both given, or a netmask length out of the family's range (the netmask field's error)."""
    limit = rules.netmask_limit(family)
    if text and length is not None:
        return ValidationError(
            "Give a CIDR or a netmask length, not both.", code="cidr_and_netmask"
        )
    if length is not None and not 0 <= length <= limit:
        return ValidationError(
            f"A netmask length for {family} is between 0 and {limit}.", code="netmask_out_of_range"
        )
    return None


class ProvisionCidrForm(forms.Form):
    """Provision a CIDR into an existing pool: a CIDR, or a block of a netmask length from its
    source pool. Overlaps and free space are AWS's to judge; its refusal lands on the field."""

    cidr = forms.CharField(
        required=False,
        label="CIDR",
        max_length=64,
        widget=forms.TextInput(
            attrs={"placeholder": "e.g. 10.0.0.0/16", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    netmask_length = netmask_field(
        "…or a netmask length", "AWS takes the lowest free block of this size from the source pool."
    )
    client_token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    members = {"Cidr": "cidr", "NetmaskLength": "netmask_length"}

    def __init__(self, *args: Any, pool: IpamPool, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("prefix", "provision")
        super().__init__(*args, **kwargs)
        self.pool = pool
        if not self.is_bound:
            self.initial["client_token"] = new_client_token()
        if pool.source_pool_id is None:
            del self.fields["netmask_length"]  # a top-level pool's space is given, not taken

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        text = (data.get("cidr") or "").strip()
        length = data.get("netmask_length")
        if error := cidr_or_netmask_error(text, length, self.pool.address_family):
            self.add_error("netmask_length", error)
        elif not text and length is None:
            field = "cidr" if "netmask_length" not in self.fields else None
            self.add_error(field, "Give a CIDR, or a netmask length to take from the source pool.")
        elif text:
            parsed = addressing.parse_cidr(text, self.pool.address_family, field="Cidr")
            if parsed.violation:
                self.add_error(
                    "cidr", ValidationError(parsed.violation.message, code=parsed.violation.code)
                )
            else:
                data["cidr"] = str(parsed.network)
        return data

    def add_aws_error(self, member: str | None, message: str) -> None:
        """AWS's refusal on the field it concerns; the next submission is a new request."""
        field = self.members.get(member or "")
        self.add_error(field if field in self.fields else None, message)
        self.data = self.data.copy()
        self.data[self.add_prefix("client_token")] = new_client_token()
