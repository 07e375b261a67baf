"""The forms of pool operations, each checked by AWS's rules before AWS is called.

A form turns its fields into the request it would send (:meth:`PoolForm.request`), and
:mod:`pools.preflight` judges that request by :mod:`awsipam.rules` over facts from the mirror,
never an AWS call, so the forms can run on every keystroke. :func:`add_violations` is the one
place where a broken rule becomes a form error, next to the field of the member it concerns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import QueryDict
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from awsipam import addressing, constants, rules
from awsipam.catalog import Violation
from awsipam.choices import ScopeType
from pools import ledger, preflight, selectors
from pools.models import AddressFamily, AwsService, IpamPool, IpamScope, PublicIpSource
from pools.services import FirstCidr, PoolSpec, new_client_token

# CreateIpamPool member -> the form field that shows its errors.
POOL_FIELDS = {
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
    "ClientToken": "client_token",
}
# The first CIDR's ProvisionIpamPoolCidr member -> the creation form's field.
FIRST_CIDR_FIELDS = {"Cidr": "first_cidr", "NetmaskLength": "first_netmask_length"}
PROVISION_FIELDS = {"Cidr": "cidr", "NetmaskLength": "netmask_length"}
TAG_FIELDS = {"Key": "key", "Value": "value"}

AWS_ID = re.compile(constants.AWS_ID_PATTERN)
ADVERTISABLE_REASON = "Only for IPv6 pools with BYOIP addresses in the public scope."
# Up to this many candidates the source pool is a select; beyond, a search box with
# suggestions: a select of 10,000 pools is a megabyte of HTML and a second to render.
SOURCE_SELECT_LIMIT = 300


def add_violations(
    form: forms.Form, violations: Iterable[Violation], fields: Mapping[str, str]
) -> None:
    """Each violation as an error of the field of its request member (``fields`` maps members
    to fields; others go above the form); one message per field is enough."""
    for found in violations:
        field = fields.get(found.field or "")
        if field not in form.fields:
            field = None
        if field is not None and field in form.errors:
            continue
        form.add_error(field, ValidationError(found.message, code=found.code))


def netmask_field(label: str, help_text: str) -> forms.IntegerField:
    """A netmask length; its range is a rule of :mod:`awsipam.rules`, checked in ``clean``."""
    return forms.IntegerField(
        required=False,
        label=label,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"min": 0, "inputmode": "numeric"}),
    )


def limit_netmask_widgets(form: forms.Form, address_family: str) -> None:
    """Give the netmask inputs the family's range (the browser's own hint; the rules decide)."""
    limit = rules.netmask_limit(address_family)
    for field in form.fields.values():
        if isinstance(field, forms.IntegerField) and "inputmode" in field.widget.attrs:
            field.widget.attrs["max"] = limit


def source_pool_label(pool: IpamPool) -> str:
    return " · ".join([str(pool), f"depth {pool.depth}", pool.locale or "no locale"])


def is_aws_id(value: Any) -> bool:
    return isinstance(value, str) and AWS_ID.fullmatch(value) is not None


class AwsIdChoiceField(forms.ModelChoiceField):
    """A choice of an AWS object by its id; a value no id could be is no choice, and is not
    looked up (a NUL byte would make PostgreSQL fail the query)."""

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values or isinstance(value, self.queryset.model):
            return super().to_python(value)
        if not is_aws_id(value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class PoolChoiceField(AwsIdChoiceField):
    def label_from_instance(self, obj: IpamPool) -> str:
        return source_pool_label(obj)


class TagForm(forms.Form):
    """One tag; its limits are AWS's (the inputs carry them as ``maxlength`` hints)."""

    key = forms.CharField(
        required=False,
        label="Key",
        strip=False,
        widget=forms.TextInput(attrs={"maxlength": constants.MAX_TAG_KEY_LENGTH}),
    )
    value = forms.CharField(
        required=False,
        label="Value",
        strip=False,
        widget=forms.TextInput(attrs={"maxlength": constants.MAX_TAG_VALUE_LENGTH}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        key, value = data.get("key", ""), data.get("value", "")
        if key or value:
            add_violations(self, rules.check_text({"Key": key, "Value": value}), TAG_FIELDS)
            for found in rules.check_tags([(key, value)], field="tag"):
                field = "value" if found.code == "tag_value_too_long" else "key"
                if field not in self.errors:
                    self.add_error(field, ValidationError(found.message, code=found.code))
        return data


class BaseTagFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        for found in rules.check_tags(self.pairs(), field="tags"):
            if found.code in ("too_many_tags", "tag_key_duplicate"):
                raise ValidationError(found.message, code=found.code)

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
    max_num=constants.MAX_TAGS,
    absolute_max=constants.MAX_TAGS + 10,
)
TAG_PREFIXES = ("tag", "arts")  # the pool's tags, its allocation resource tags


def with_extra_tag_row(data: QueryDict, prefix: str) -> QueryDict:
    """A copy of ``data`` with one more (empty) row in the tag formset ``prefix``, up to the
    most AWS allows; a count that is no number counts as none."""
    management = forms.formsets.ManagementForm(data, prefix=prefix)
    rows = management.cleaned_data["TOTAL_FORMS"] if management.is_valid() else 0
    data = data.copy()
    data[f"{prefix}-TOTAL_FORMS"] = str(min(rows + 1, constants.MAX_TAGS))
    return data


class PoolForm(forms.Form):
    scope = AwsIdChoiceField(
        queryset=selectors.live_scopes(),
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
    client_token = forms.CharField(
        widget=forms.HiddenInput, max_length=constants.MAX_CLIENT_TOKEN_LENGTH
    )

    advertisable_reason = ADVERTISABLE_REASON

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self._chosen_rows: dict[tuple[str, Any], Any] = {}
        self.next_client_token = ""  # set when the next submission must be a new request
        if not self.is_bound and not self.initial.get("client_token"):
            self.initial["client_token"] = new_client_token()
        self.tags = TagFormSet(self.data or None, prefix="tag", form_kwargs={"label_suffix": ""})
        self.allocation_tags = TagFormSet(
            self.data or None, prefix="arts", form_kwargs={"label_suffix": ""}
        )
        scope = self._chosen("scope")
        choices = selectors.source_pool_choices(scope, self.chosen_family)
        self.fields["source_pool"].queryset = choices
        # Counted no further than the limit, unordered: a select or a search box.
        self.source_pool_search = scope is not None and selectors.has_more_than(
            choices.order_by(), SOURCE_SELECT_LIMIT
        )
        if self.source_pool_search:
            self._search_source_pool()
        self.fields["publicly_advertisable"].disabled = not self.advertisable_applies
        limit_netmask_widgets(self, self.chosen_family)
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

    def raw(self, name: str) -> Any:
        if self.is_bound:
            return self.data.get(self.add_prefix(name))
        return self.initial.get(name)

    def _chosen(self, name: str) -> Any:
        value = self.raw(name)
        if isinstance(value, IpamScope | IpamPool) or not value:
            return value or None
        if not is_aws_id(value):
            return None
        key = (name, value)
        if key not in self._chosen_rows:  # asked for many times per render: one query each
            field = self.fields[name]
            rows = selectors.with_space(field.queryset) if name == "source_pool" else field.queryset
            try:
                self._chosen_rows[key] = rows.get(**{field.to_field_name: value})
            except (field.queryset.model.DoesNotExist, ValueError):
                self._chosen_rows[key] = None
        return self._chosen_rows[key]

    @property
    def chosen_family(self) -> str:
        value = self.raw("address_family")
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
        return scope is not None and scope.scope_type == ScopeType.PUBLIC

    @property
    def advertisable_applies(self) -> bool:
        return rules.publicly_advertisable_allowed(
            scope_type=ScopeType.PUBLIC if self.is_public_scope else ScopeType.PRIVATE,
            address_family=self.chosen_family,
            public_ip_source=self.raw("public_ip_source") or None,
        )

    @property
    def client_token_value(self) -> str:
        """The token the next submission carries: a new one after AWS saw this one."""
        return self.next_client_token or self["client_token"].value() or ""

    # --- validation ---------------------------------------------------------------------

    def is_valid(self) -> bool:
        form_valid = super().is_valid()
        tags_valid = self.tags.is_valid()
        allocation_tags_valid = self.allocation_tags.is_valid()
        return form_valid and tags_valid and allocation_tags_valid

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        scope: IpamScope | None = data.get("scope")
        if scope is None:
            return data
        # the same row as the chosen one, which comes with its space
        source = self.chosen_source if data.get("source_pool") else None
        first = self.first_cidr_request(data)
        created, provisioned = preflight.create_pool(
            self.spec(data).request(),
            scope=scope,
            source=source,
            first_cidr=first.request("(new pool)") if first else None,
        )
        add_violations(self, created, POOL_FIELDS)
        add_violations(self, provisioned, FIRST_CIDR_FIELDS)
        if first and not any(f in self.errors for f in FIRST_CIDR_FIELDS.values()):
            add_violations(
                self,
                preflight.ledger_check(
                    first.request("(new pool)"),
                    address_family=self.chosen_family,
                    reserved=self.reserved,
                    source=source,
                ),
                FIRST_CIDR_FIELDS,
            )
        return data

    @cached_property
    def reserved(self) -> list[ledger.Reserved]:
        """The reservation ledger of the chosen scope's IPAM and family (one query, once)."""
        scope = self.chosen_scope
        return ledger.held(scope.ipam_id, self.chosen_family) if scope is not None else []

    def _typed(self, name: str) -> Any:
        """A field's value as typed, cleaned by the field alone (None if it does not clean)."""
        try:
            return self.fields[name].clean(self.raw(name))
        except ValidationError:
            return None

    def plan_inputs(self) -> dict[str, Any]:
        """What the plan panel is worked out from: the values chosen and typed so far (valid
        or not), or those of the link that opened the form."""
        wanted = self._typed("first_netmask_length")
        parsed = addressing.parse_cidr(self._typed("first_cidr") or "", self.chosen_family)
        if parsed.network is not None:
            wanted = parsed.network.prefixlen
        return {
            "scope": self.chosen_scope,
            "family": self.chosen_family,
            "source": self.chosen_source,
            "min_netmask": self._typed("allocation_min_netmask_length"),
            "max_netmask": self._typed("allocation_max_netmask_length"),
            "wanted_length": wanted,
            "reserved": SimpleLazyObject(lambda: self.reserved),
        }

    # --- results ------------------------------------------------------------------------

    def spec(self, data: Mapping[str, Any] | None = None) -> PoolSpec:
        """The CreateIpamPool call the input asks for (of the valid fields so far)."""
        data = self.cleaned_data if data is None else data
        public = data["scope"].scope_type == ScopeType.PUBLIC
        return PoolSpec(
            scope=data["scope"],
            address_family=data.get("address_family") or self.chosen_family,
            source_pool=data.get("source_pool"),
            locale=(data.get("locale") or "").strip(),
            description=data.get("description", ""),
            auto_import=data.get("auto_import", False),
            allocation_min_netmask_length=data.get("allocation_min_netmask_length"),
            allocation_max_netmask_length=data.get("allocation_max_netmask_length"),
            allocation_default_netmask_length=data.get("allocation_default_netmask_length"),
            allocation_resource_tags=dict(self.allocation_tags.pairs()),
            tags=dict(self.tags.pairs()),
            # hidden outside the public scope: whatever was posted does not apply
            public_ip_source=data.get("public_ip_source", "") if public else "",
            aws_service=data.get("aws_service", "") if public else "",
            publicly_advertisable=data.get("publicly_advertisable"),
            source_resource=self._source_resource(data),
        )

    @staticmethod
    def _source_resource(data: Mapping[str, Any]) -> dict[str, str] | None:
        if not data.get("source_resource_id"):
            return None
        resource = {"ResourceId": data["source_resource_id"], "ResourceType": "vpc"}
        if data.get("source_resource_region"):
            resource["ResourceRegion"] = data["source_resource_region"]
        if data.get("source_resource_owner"):
            resource["ResourceOwner"] = data["source_resource_owner"]
        return resource

    def first_cidr_request(self, data: Mapping[str, Any] | None = None) -> FirstCidr:
        data = self.cleaned_data if data is None else data
        return FirstCidr(
            cidr=(data.get("first_cidr") or "").strip(),
            netmask_length=data.get("first_netmask_length"),
        )

    def add_aws_error(self, member: str | None, message: str, code: str) -> None:
        add_violations(self, [_aws_violation(member, message, code)], POOL_FIELDS)

    def minimal_spec(self) -> PoolSpec | None:
        """The least CreateIpamPool request the input allows (to DryRun an unfinished form)."""
        scope = self.chosen_scope
        return PoolSpec(scope=scope, address_family=self.chosen_family) if scope else None

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


def _aws_violation(member: str | None, message: str, code: str) -> Violation:
    """AWS's own refusal, shaped as a violation so it lands on a field the same way."""
    return Violation(code, member, message)


def live_form(data: QueryDict, trigger: str) -> PoolForm:
    """The form of a live validation, with what a change of ``trigger`` implies: a source
    pool the chosen scope and family no longer offer is forgotten, and an empty locale takes
    the chosen source pool's, which a child must share. (Decided before validation, on a
    copy of the input.)"""
    form = PoolForm(data)
    source, changed = form.chosen_source, data.copy()
    if trigger in ("scope", "address_family") and form.raw("source_pool") and source is None:
        changed["source_pool"] = ""
    elif (
        trigger == "source_pool" and source is not None and source.locale and not form.raw("locale")
    ):
        changed["locale"] = source.locale
    return form if changed == data else PoolForm(changed)


class ProvisionCidrForm(forms.Form):
    """Provision a CIDR into an existing pool: a CIDR, or a block of a netmask length from its
    source pool, checked by the same rules as the creation form before AWS is asked."""

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
    client_token = forms.CharField(
        widget=forms.HiddenInput, max_length=constants.MAX_CLIENT_TOKEN_LENGTH
    )

    def __init__(self, *args: Any, pool: IpamPool, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("prefix", "provision")
        super().__init__(*args, **kwargs)
        self.pool = pool
        self.next_client_token = ""
        if not self.is_bound:
            self.initial["client_token"] = new_client_token()
        if (
            pool.source_pool_id is None
            and rules.amazon_provided_space(selectors.pool_facts(pool, with_space=False)) is None
        ):
            del self.fields["netmask_length"]  # a top-level pool's space is given, not taken
        limit_netmask_widgets(self, pool.address_family)

    @property
    def client_token_value(self) -> str:
        return self.next_client_token or self["client_token"].value() or ""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        request = self.space().request(self.pool.pool_id)
        add_violations(self, preflight.provision(request, pool=self.pool), PROVISION_FIELDS)
        if not self.errors:
            pool = self.pool
            source = pool.source_pool if request.get("NetmaskLength") is not None else None
            if source is not None:  # with its space, which the block is taken from
                source = selectors.pool_with_space().filter(pk=source.pk).first()
            add_violations(
                self,
                preflight.ledger_check(
                    request,
                    address_family=pool.address_family,
                    reserved=ledger.held(pool.ipam_id, pool.address_family),
                    source=source,
                ),
                PROVISION_FIELDS,
            )
        if not self.errors and data.get("cidr"):
            data["cidr"] = str(addressing.parse_cidr(data["cidr"]).network)
        return data

    def space(self) -> FirstCidr:
        data = self.cleaned_data
        return FirstCidr(
            cidr=(data.get("cidr") or "").strip(), netmask_length=data.get("netmask_length")
        )

    def add_aws_error(self, member: str | None, message: str) -> None:
        """AWS's refusal on the field it concerns; the next submission is a new request."""
        add_violations(self, [_aws_violation(member, message, "aws")], PROVISION_FIELDS)
        self.next_client_token = new_client_token()
