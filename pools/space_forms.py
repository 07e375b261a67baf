"""The forms of a pool's space: allocate a block, release an allocation, deprovision a CIDR.

As the creation form does, each turns its fields into the request it would send and asks
:mod:`pools.preflight` (AWS's rules over the mirror) before AWS is called; violations land
next to their fields through :func:`pools.forms.add_violations`.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms

from awsipam import addressing, constants
from awsipam.catalog import Violation
from pools import ledger, preflight
from pools.forms import AwsIdChoiceField, add_violations, limit_netmask_widgets, netmask_field
from pools.models import IpamPool, IpamPoolAllocation
from pools.services import AllocationSpec, new_client_token

# AllocateIpamPoolCidr member -> the form field that shows its errors.
ALLOCATE_FIELDS = {
    "Cidr": "cidr",
    "NetmaskLength": "netmask_length",
    "AllowedCidrs": "allowed_cidrs",
    "DisallowedCidrs": "disallowed_cidrs",
    "Description": "description",
    "ClientToken": None,  # a hidden field: shown above the form
}
RELEASE_FIELDS = {"IpamPoolAllocationId": "allocation", "Cidr": "allocation"}
DEPROVISION_FIELDS = {"Cidr": "cidr"}
# Errors that only say "nothing typed yet": not shown while the user types.
PREMATURE_CODES = frozenset({"required", "cidr_or_netmask_missing", "allocation_size_missing"})
# What to do about a CIDR AWS would not deprovision (C7: it would end failed-deprovision).
HOLDING_HINT = "Release its allocations and deprovision its child pools' CIDRs first."
MAX_CIDR_LIST_TEXT = 4000  # characters of a list of CIDRs (an input bound, not AWS's)


def drop_premature_errors(form: forms.Form) -> None:
    """While the user types, an empty form is not yet wrong (live validation only)."""
    for name in list(form.errors):
        kept = [e for e in form.errors[name].as_data() if e.code not in PREMATURE_CODES]
        if kept:
            form.errors[name] = form.error_class(kept, renderer=form.renderer)
        else:
            del form.errors[name]


class CidrListField(forms.CharField):
    """CIDRs, one per line (commas and spaces separate them too); each is judged by the
    rules, as AWS would, with the request."""

    widget = forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "autocomplete": "off"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", MAX_CIDR_LIST_TEXT)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> tuple[str, ...]:
        text = super().clean(value)
        return tuple(part for part in re.split(r"[\s,]+", text) if part)


class AllocateForm(forms.Form):
    """AllocateIpamPoolCidr: a CIDR, or a netmask length with the blocks it may (allowed) and
    may not (disallowed) come from, or neither when the pool has a default netmask length."""

    cidr = forms.CharField(
        required=False,
        label="CIDR to allocate",
        max_length=64,
        widget=forms.TextInput(
            attrs={"placeholder": "e.g. 10.0.1.0/24", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    netmask_length = netmask_field(
        "…or a block of netmask length", "AWS allocates the lowest free block of this size."
    )
    allowed_cidrs = CidrListField(
        label="Allowed CIDRs", help_text="Only from these (with a netmask length). One a line."
    )
    disallowed_cidrs = CidrListField(
        label="Disallowed CIDRs", help_text="Never from these (with a netmask length)."
    )
    description = forms.CharField(
        required=False, max_length=1000, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    client_token = forms.CharField(
        widget=forms.HiddenInput, max_length=constants.MAX_CLIENT_TOKEN_LENGTH
    )

    def __init__(self, *args: Any, pool: IpamPool, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("prefix", "allocate")
        super().__init__(*args, **kwargs)
        self.pool = pool
        self.next_client_token = ""
        if not self.is_bound:
            self.initial["client_token"] = new_client_token()
        if pool.allocation_default_netmask_length is not None:
            self.fields["netmask_length"].help_text = (
                "Empty: the pool's default, "
                f"/{pool.allocation_default_netmask_length}. AWS allocates the lowest free block."
            )
        limit_netmask_widgets(self, pool.address_family)
        for name, field in self.fields.items():
            field.widget.attrs.setdefault(
                "aria-describedby", f"{self[name].auto_id}_helptext {self[name].auto_id}_error"
            )

    @property
    def client_token_value(self) -> str:
        """The token the next submission carries: a new one after AWS saw this one."""
        return self.next_client_token or self["client_token"].value() or ""

    @property
    def top_errors(self) -> Any:
        """Errors above the form: the form's own, and the hidden client token's."""
        errors = self.non_field_errors().copy()
        errors.extend(self["client_token"].errors)
        return errors

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        request = self.spec(data).request(self.pool.pool_id)
        request["ClientToken"] = data["client_token"]
        add_violations(self, preflight.allocate(request, pool=self.pool), ALLOCATE_FIELDS)
        if not self.errors:
            pool = self.pool
            add_violations(
                self,
                preflight.ledger_check(
                    request,
                    address_family=pool.address_family,
                    reserved=ledger.held(pool.ipam_id, pool.address_family),
                    source=pool,
                    allocation=True,
                ),
                ALLOCATE_FIELDS,
            )
        if not self.errors and data.get("cidr"):
            data["cidr"] = str(addressing.parse_cidr(data["cidr"]).network)
        return data

    def spec(self, data: dict[str, Any] | None = None) -> AllocationSpec:
        data = self.cleaned_data if data is None else data
        return AllocationSpec(
            cidr=(data.get("cidr") or "").strip(),
            netmask_length=data.get("netmask_length"),
            allowed_cidrs=data.get("allowed_cidrs") or (),
            disallowed_cidrs=data.get("disallowed_cidrs") or (),
            description=data.get("description") or "",
        )

    def add_aws_error(self, member: str | None, message: str, *, new_token: bool = True) -> None:
        """AWS's refusal on the field it concerns; the next submission is a new request."""
        add_violations(self, [Violation("aws", member, message)], ALLOCATE_FIELDS)
        if new_token:
            self.next_client_token = new_client_token()


class ReleaseForm(forms.Form):
    """ReleaseIpamPoolAllocation of one of the pool's custom allocations."""

    allocation = AwsIdChoiceField(
        queryset=IpamPoolAllocation.objects.none(),
        to_field_name="allocation_id",
        error_messages={"invalid_choice": "This pool has no such allocation."},
    )

    def __init__(self, *args: Any, pool: IpamPool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool = pool
        self.fields["allocation"].queryset = IpamPoolAllocation.objects.filter(pool=pool)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        allocation: IpamPoolAllocation | None = data.get("allocation")
        if allocation is None or not allocation.in_aws:
            return data  # one already released is the view's to answer
        request = {
            "IpamPoolId": self.pool.pool_id,
            "IpamPoolAllocationId": allocation.allocation_id,
            "Cidr": str(allocation.cidr),
        }
        add_violations(self, preflight.release(request, pool=self.pool), RELEASE_FIELDS)
        return data


class DeprovisionForm(forms.Form):
    """DeprovisionIpamPoolCidr of one of the pool's CIDRs."""

    cidr = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, pool: IpamPool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool = pool

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        request = {"IpamPoolId": self.pool.pool_id, "Cidr": data["cidr"]}
        violations = [
            Violation(v.code, v.field, f"{v.message} {HOLDING_HINT}")
            if v.code == "cidr_has_allocations"
            else v
            for v in preflight.deprovision(request, pool=self.pool)
        ]
        add_violations(self, violations, DEPROVISION_FIELDS)
        if not self.errors:
            data["cidr"] = str(addressing.parse_cidr(data["cidr"]).network)
        return data


def first_error(form: forms.Form) -> str:
    """The form's first message, for a row that has room for one."""
    for errors in form.errors.values():
        for message in errors:
            return message
    return ""
