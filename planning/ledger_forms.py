"""The reservation ledger's form: an external network or an excluded range added by hand.

The CIDR is parsed as AWS parses one (:func:`awsipam.addressing.parse_cidr`, for the chosen
family). A block that overlaps another reservation, or a plan's block, is refused next to the
CIDR with its holder named; one that overlaps a live pool is accepted with a warning, since an
external network often sits inside a top-level pool (on-premises space kept out of AWS).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from netaddr import IPNetwork

from awsipam import addressing
from awsipam.constants import MAX_TAG_VALUE_LENGTH
from pools import ledger
from pools.models import AddressFamily, Ipam, IpamPoolCidr, Reservation

MAX_NOTE_LENGTH = 2000  # an input bound, not AWS's
LIVE_POOLS_NAMED = 3  # pools named in the warning about live pools


def live_pools_over(ipam: Ipam, network: IPNetwork, family: str) -> list[tuple[str, str, str]]:
    """(pool id, name, CIDR) of the live pools whose space ``network`` overlaps, deepest
    first (one query: the IPAM's live CIDRs of the family)."""
    rows = (
        IpamPoolCidr.objects.holding_space()
        .filter(pool__ipam=ipam, pool__address_family=family, pool__missing_since=None)
        .values_list("pool__pool_id", "pool__name", "pool__depth", "cidr")
    )
    found = [
        (depth, pool_id, name, cidr)
        for pool_id, name, depth, cidr in rows
        if cidr is not None and addressing.overlapping(network, [cidr])
    ]
    found.sort(key=lambda row: (-row[0], row[1]))
    return [(pool_id, name, str(cidr)) for _, pool_id, name, cidr in found]


class ReservationForm(forms.Form):
    address_family = forms.ChoiceField(
        choices=AddressFamily.choices, initial=AddressFamily.IPV4, widget=forms.RadioSelect
    )
    cidr = forms.CharField(
        label="CIDR",
        max_length=64,
        widget=forms.TextInput(
            attrs={
                "placeholder": "e.g. 10.200.0.0/16",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
    )
    kind = forms.ChoiceField(
        choices=[
            (Reservation.Kind.EXTERNAL, "External network (on-premises, another cloud)"),
            (Reservation.Kind.EXCLUDED, "Excluded: never to be used"),
        ],
        initial=Reservation.Kind.EXTERNAL,
    )
    name = forms.CharField(
        max_length=MAX_TAG_VALUE_LENGTH,
        help_text="Who or what holds it: a data centre, an office, a partner's network.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    note = forms.CharField(
        required=False, max_length=MAX_NOTE_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, ipam: Ipam, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.ipam = ipam
        self.warnings: list[str] = []  # accepted, but worth knowing
        for name, field in self.fields.items():
            field.widget.attrs.setdefault(
                "aria-describedby", f"{self[name].auto_id}_helptext {self[name].auto_id}_error"
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        family, text = data.get("address_family"), data.get("cidr")
        if not family or not text or "cidr" in self.errors:
            return data
        parsed = addressing.parse_cidr(text, family)
        if parsed.network is None:
            assert parsed.violation is not None
            self.add_error("cidr", ValidationError(parsed.violation.message, parsed.violation.code))
            return data
        data["cidr"] = network = parsed.network
        clash = ledger.holder_clash(self.ipam.pk, network, family)
        if clash is not None:
            self.add_error("cidr", clash)
            return data
        pools = live_pools_over(self.ipam, network, family)
        if pools:
            shown = pools[:LIVE_POOLS_NAMED]
            named = ", ".join(f"{name or pool_id} ({cidr})" for pool_id, name, cidr in shown)
            more = f" and {len(pools) - len(shown)} more" if len(pools) > len(shown) else ""
            self.warnings.append(
                f"{network} lies in the space of live pools: {named}{more}. New pools, CIDRs "
                "and allocations will keep clear of it."
            )
        return data

    @transaction.atomic
    def save(self, user: Any = None) -> Reservation:
        """The reservation, judged again under the IPAM's lock (which the planner takes too),
        so two people, or a person and a plan, cannot claim one block at once."""
        Ipam.objects.select_for_update().filter(pk=self.ipam.pk).first()
        data = self.cleaned_data
        clash = ledger.holder_clash(self.ipam.pk, data["cidr"], data["address_family"])
        if clash is not None:
            self.add_error("cidr", clash)
            raise ValidationError(clash)
        return Reservation.objects.create(
            ipam=self.ipam,
            address_family=data["address_family"],
            cidr=data["cidr"],
            kind=data["kind"],
            name=data["name"],
            note=data.get("note", ""),
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
