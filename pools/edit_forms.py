"""The forms that change a pool as it is: ModifyIpamPool (its description, auto-import and
allocation rules) and its tags (CreateTags / DeleteTags).

Each form starts from the mirror and turns what the user changed, and only that, into the
request it sends; :mod:`pools.preflight` judges the request by :mod:`awsipam.rules` before AWS
is asked, as the creation form does.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from awsipam import constants, rules
from awsipam.catalog import Violation
from pools import preflight
from pools.aws import AwsError, AwsRefused
from pools.forms import (
    BaseTagFormSet,
    TagFormSet,
    add_violations,
    limit_netmask_widgets,
    netmask_field,
)
from pools.models import IpamPool
from pools.services import tag_list

# ModifyIpamPool member -> the edit form's field (the tag members: the rows' own errors).
EDIT_FIELDS = {
    "Description": "description",
    "AutoImport": "auto_import",
    "AllocationMinNetmaskLength": "allocation_min_netmask_length",
    "AllocationMaxNetmaskLength": "allocation_max_netmask_length",
    "AllocationDefaultNetmaskLength": "allocation_default_netmask_length",
    "ClearAllocationDefaultNetmaskLength": "clear_default_netmask_length",
}
TAG_MEMBERS = ("AddAllocationResourceTags", "RemoveAllocationResourceTags", "Tags", "Resources")


def _tag_rows(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in tags.items()]


class _PoolForm(forms.Form):
    """What both forms share: the pool, one formset of tag rows, and errors put where the
    member they concern is shown."""

    tag_prefix = ""
    errors_id = ""  # the id of the region of the form's own errors
    max_tags = constants.MAX_TAGS

    def __init__(self, *args: Any, pool: IpamPool, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.pool = pool
        self.unchanged = False  # valid, and nothing to send
        self.rows = TagFormSet(
            self.data or None,
            prefix=self.tag_prefix,
            initial=_tag_rows(self.current_tags),
            form_kwargs={"label_suffix": ""},
        )
        for form in (self, *self.rows):
            for name, field in form.fields.items():
                field.widget.attrs.setdefault(
                    "aria-describedby",
                    f"{form[name].auto_id}_helptext {form[name].auto_id}_error",
                )

    @property
    def current_tags(self) -> dict[str, str]:
        raise NotImplementedError

    @property
    def formsets(self) -> tuple[BaseTagFormSet]:
        return (self.rows,)

    def is_valid(self) -> bool:
        form_valid = super().is_valid()
        return self.rows.is_valid() and form_valid

    def tags(self) -> dict[str, str]:
        """The tags of the rows as they are now (rows marked for removal left out)."""
        return dict(self.rows.pairs())

    def add_rules(self, violations: list[Violation], fields: dict[str, str]) -> None:
        """Violations of the tag members above the rows, the others next to their field."""
        for found in violations:
            if found.field in TAG_MEMBERS:
                errors = self.rows.non_form_errors()
                if not errors:  # one message above the rows is enough
                    errors.append(ValidationError(found.message, code=found.code))
            else:
                add_violations(self, [found], fields)

    def add_aws_error(self, err: AwsError) -> None:
        """AWS's answer next to the field of the member it names (above the form if none)."""
        message = f"AWS refused: {err.message}" if isinstance(err, AwsRefused) else err.message
        self.add_rules([Violation(err.code or "aws", err.member, message)], EDIT_FIELDS)

    @property
    def problem_count(self) -> int:
        count = sum(1 for name in self.errors if name != NON_FIELD_ERRORS)
        count += sum(len(form.errors) for form in self.rows.forms)
        return count + bool(self.rows.non_form_errors())


class PoolEditForm(_PoolForm):
    """ModifyIpamPool: the fields start as the pool is; :meth:`changes` is what differs."""

    tag_prefix = "arts"
    errors_id = "pool-edit-errors"

    description = forms.CharField(
        required=False, max_length=1000, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    auto_import = forms.BooleanField(
        required=False,
        label="Auto-import",
        help_text="Import resources whose CIDRs fall in this pool (needs a locale to do anything).",
    )
    allocation_min_netmask_length = netmask_field(
        "Minimum netmask length", "The largest allocation allowed. Empty: 0."
    )
    allocation_default_netmask_length = netmask_field(
        "Default netmask length", "Used when an allocation asks for no size. Empty: none."
    )
    allocation_max_netmask_length = netmask_field(
        "Maximum netmask length", "The smallest allocation allowed. Empty: the family's longest."
    )
    clear_default_netmask_length = forms.BooleanField(
        required=False,
        label="Clear the default netmask length",
        help_text="Allocations must then ask for a size.",
    )

    def __init__(self, *args: Any, pool: IpamPool, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "edit")
        kwargs.setdefault(
            "initial",
            {
                "description": pool.description,
                "auto_import": pool.auto_import,
                "allocation_min_netmask_length": pool.allocation_min_netmask_length,
                "allocation_default_netmask_length": pool.allocation_default_netmask_length,
                "allocation_max_netmask_length": pool.allocation_max_netmask_length,
            },
        )
        super().__init__(*args, pool=pool, **kwargs)
        limit_netmask_widgets(self, pool.address_family)
        if pool.allocation_default_netmask_length is None:
            del self.fields["clear_default_netmask_length"]  # nothing to clear

    @property
    def current_tags(self) -> dict[str, str]:
        return dict(self.pool.allocation_resource_tags or {})

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        if not self.rows.is_valid():
            return data
        changes = self.changes(data)
        if not changes:
            self.unchanged = True
            return data
        request = {"IpamPoolId": self.pool.pool_id, **changes}
        self.add_rules(preflight.modify(request, pool=self.pool), EDIT_FIELDS)
        return data

    def changes(self, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ModifyIpamPool members whose value the user changed (as boto3 takes them)."""
        data = self.cleaned_data if data is None else data
        pool = self.pool
        limit = rules.netmask_limit(pool.address_family)
        out: dict[str, Any] = {}
        if data["description"] != pool.description:
            out["Description"] = data["description"]
        if data["auto_import"] != pool.auto_import:
            out["AutoImport"] = data["auto_import"]
        low = data["allocation_min_netmask_length"]
        high = data["allocation_max_netmask_length"]
        if (0 if low is None else low) != pool.allocation_min_netmask_length:
            out["AllocationMinNetmaskLength"] = 0 if low is None else low
        if (limit if high is None else high) != pool.allocation_max_netmask_length:
            out["AllocationMaxNetmaskLength"] = limit if high is None else high
        default = data["allocation_default_netmask_length"]
        current = pool.allocation_default_netmask_length
        if default is not None and default != current:
            out["AllocationDefaultNetmaskLength"] = default
        if current is not None and (data.get("clear_default_netmask_length") or default is None):
            out["ClearAllocationDefaultNetmaskLength"] = True
        before, after = self.current_tags, self.tags()
        removed = {k: v for k, v in before.items() if after.get(k) != v}
        added = {k: v for k, v in after.items() if before.get(k) != v}
        if removed:
            out["RemoveAllocationResourceTags"] = tag_list(removed)
        if added:
            out["AddAllocationResourceTags"] = tag_list(added)
        return out


class PoolTagsForm(_PoolForm):
    """The pool's tags as rows; the Name tag is the pool's name in the app."""

    tag_prefix = "tag"
    errors_id = "pool-tags-errors"

    @property
    def current_tags(self) -> dict[str, str]:
        return dict(self.pool.tags or {})

    def requests(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The CreateTags and the DeleteTags the rows ask for (None: not needed)."""
        before, after = self.current_tags, self.tags()
        added = {k: v for k, v in after.items() if before.get(k) != v}
        removed = [k for k in before if k not in after]
        resources = [self.pool.pool_id]
        create = {"Resources": resources, "Tags": tag_list(added)} if added else None
        delete = None
        if removed:
            delete = {"Resources": resources, "Tags": [{"Key": k} for k in removed]}
        return create, delete

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.rows.is_valid():
            return data
        create, delete = self.requests()
        if create is None and delete is None:
            self.unchanged = True
            return data
        violations = preflight.create_tags(create) if create else []
        violations += preflight.delete_tags(delete) if delete else []
        self.add_rules(violations, {})
        return data
