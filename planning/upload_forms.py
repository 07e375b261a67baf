"""The forms that read a plan document: a new plan from an upload, or an upload into a plan.

The document comes as a file or pasted text, in the plan's own YAML or JSON or as a CSV. Each
problem :mod:`planning.formats` finds becomes an error of the text field, with its line or path;
a file's text is put in the text field, so it can be mended in place and sent again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from netaddr import IPNetwork

from awsipam import addressing
from awsipam.constants import MAX_TAG_VALUE_LENGTH
from awsipam.rules import XML_UNSAFE
from planning import formats
from planning.models import Plan
from planning.spec import NodeSpec, Tree
from pools import selectors as pool_selectors
from pools.forms import AwsIdChoiceField
from pools.models import AddressFamily, IpamPool, IpamScope

# A file's text goes back into the text field up to this size (a browser's text area takes a
# few hundred kilobytes well); a larger file is read, but has to be chosen again.
MAX_ECHOED_CHARS = 512 * 1024
PREVIEW_ROWS = 40
FORMAT_CHOICES = [
    ("", "Detect"),
    ("yaml", "YAML (the plan's own)"),
    ("json", "JSON (the plan's own)"),
    ("csv", "CSV: name, parent, cidr"),
]


@dataclass(frozen=True)
class Preview:
    name: str
    address_family: str
    node_count: int
    pinned: int
    bound: int
    rows: list[tuple[int, NodeSpec]]  # (depth, node), parents first

    @property
    def more(self) -> int:
        return self.node_count - len(self.rows)


class DocumentForm(forms.Form):
    """A plan document, as a file or as text, read by :mod:`planning.formats`."""

    file = forms.FileField(
        required=False,
        label="File",
        help_text="A plan exported as YAML or JSON, or a CSV.",
        widget=forms.ClearableFileInput(attrs={"accept": ".yaml,.yml,.json,.csv,text/*"}),
    )
    text = forms.CharField(
        required=False,
        label="…or paste it",
        strip=False,
        max_length=formats.MAX_DOCUMENT_BYTES,
        widget=forms.Textarea(
            attrs={"rows": 16, "spellcheck": "false", "autocomplete": "off", "class": "mono"}
        ),
    )
    format = forms.ChoiceField(choices=FORMAT_CHOICES, required=False, label="Format")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.meta: formats.PlanMeta | None = None
        self.nodes: list[NodeSpec] = []
        self.format_used = ""

    def csv_family(self) -> str | None:
        """The family a CSV's rows are read in (None: the CIDRs tell)."""
        return None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if any(name in self.errors for name in ("file", "text", "format")):
            return data
        upload, text = data.get("file"), data.get("text") or ""
        if upload:
            if upload.size > formats.MAX_DOCUMENT_BYTES:
                self.add_error("file", self._error(formats.too_large("")))
                return data
            try:
                text = formats.decode(upload.read())
            except formats.FormatError as err:
                self.add_error("file", self._error(err))
                return data
            self._echo(text)
        if not text.strip():
            self.add_error(
                "text", ValidationError("Choose a file or paste a plan.", code="required")
            )
            return data
        fmt = data.get("format") or formats.detect_format(text, upload.name if upload else "")
        self.format_used = fmt
        try:
            self.meta, self.nodes = formats.loads(text, fmt, address_family=self.csv_family())
        except formats.FormatError as err:
            self.add_format_error(err)
        return data

    def _echo(self, text: str) -> None:
        """The file's text into the text field, where a problem can be mended."""
        if len(text) <= MAX_ECHOED_CHARS:
            self.data = self.data.copy()
            self.data[self.add_prefix("text")] = text

    @staticmethod
    def _error(err: formats.FormatError) -> ValidationError:
        problem = err.problems[0]
        return ValidationError(str(problem), code=problem.code)

    def add_format_error(self, err: formats.FormatError) -> None:
        """Each problem next to its field: the family's at the family, the rest at the text."""
        for problem in err.problems:
            field = "address_family" if problem.path == "address_family" else "text"
            if field not in self.fields:
                field = "text"
            self.add_error(field, ValidationError(str(problem), code=problem.code))
        if err.more:
            self.add_error(
                "text", ValidationError(f"…and {err.more} more problems.", code="more_problems")
            )

    def preview(self) -> Preview | None:
        if self.meta is None or not self.is_valid():
            return None
        tree = Tree.of(self.nodes)
        rows = [(tree.depth(n.key), n) for n in list(tree.walk())[:PREVIEW_ROWS]]
        return Preview(
            name=self.plan_name(),
            address_family=self.family() or "",
            node_count=len(self.nodes),
            pinned=sum(1 for n in self.nodes if n.pinned),
            bound=sum(1 for n in self.nodes if n.bound),
            rows=rows,
        )

    def plan_name(self) -> str:
        return self.meta.name if self.meta else ""

    def family(self) -> str | None:
        return self.meta.address_family if self.meta else None


class PlanUploadForm(DocumentForm):
    """A new plan: where it goes comes from the form, else from the document."""

    name = forms.CharField(
        required=False,
        max_length=MAX_TAG_VALUE_LENGTH,
        help_text="Leave empty to take the document's (a CSV has none).",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    scope = AwsIdChoiceField(
        queryset=pool_selectors.live_scopes(),
        to_field_name="scope_id",
        required=False,
        empty_label="The document's",
        help_text="The IPAM and scope the plan's pools go in.",
    )
    address_family = forms.ChoiceField(
        choices=[("", "The document's"), *AddressFamily.choices],
        required=False,
        label="Address family",
        help_text="A CSV's family is its CIDRs' unless chosen here.",
    )
    space = forms.CharField(
        required=False,
        max_length=10_000,
        label="Space",
        help_text="CIDRs the top-level nodes are placed in (replaces the document's).",
        widget=forms.TextInput(
            attrs={"placeholder": "e.g. 10.0.0.0/8", "autocomplete": "off", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chosen_scope: IpamScope | None = None
        self.parent_pool: IpamPool | None = None
        self.space_cidrs: tuple[IPNetwork, ...] = ()

    def csv_family(self) -> str | None:
        return self.cleaned_data.get("address_family") or None

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        found = XML_UNSAFE.search(name)
        if found is not None:
            raise ValidationError(
                f"The name contains a character AWS cannot carry (U+{ord(found[0]):04X}).",
                code="text_not_xml_safe",
            )
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.meta is None:
            return data
        meta = self.meta
        family = data.get("address_family") or meta.address_family
        if meta.address_family and family != meta.address_family:
            self.add_error(
                "address_family",
                ValidationError(
                    f"The document is an {meta.address_family} plan; its CIDRs are of that family.",
                    code="family_differs",
                ),
            )
            return data
        self._where(data.get("scope"), meta)
        self._space(data.get("space", ""), family, meta)
        name = self.plan_name()
        if not name:
            self.add_error(
                "name", ValidationError("Give the plan a name (a CSV has none).", code="required")
            )
        elif self.chosen_scope is not None and (
            Plan.objects.filter(ipam=self.chosen_scope.ipam, name=name).exists()
        ):
            self.add_error(
                "name",
                ValidationError(
                    f"This IPAM already has a plan named {name!r}; give this one another name.",
                    code="plan_name_taken",
                ),
            )
        return data

    def _where(self, scope: IpamScope | None, meta: formats.PlanMeta) -> None:
        """The scope (the form's, else the document's) and the document's parent pool in it."""
        if scope is None and meta.scope_id:
            scope = pool_selectors.live_scopes().filter(scope_id=meta.scope_id).first()
            if scope is None:
                self.add_error(
                    "scope",
                    ValidationError(
                        f"The document's scope {meta.scope_id} is not known here; choose one.",
                        code="scope_unknown",
                    ),
                )
                return
            if meta.ipam_id and scope.ipam.ipam_id != meta.ipam_id:
                self.add_error(
                    "scope",
                    ValidationError(
                        f"The document's scope {meta.scope_id} is not in its IPAM "
                        f"{meta.ipam_id}; choose a scope.",
                        code="scope_not_in_ipam",
                    ),
                )
                return
        if scope is None:
            self.add_error(
                "scope",
                ValidationError("Choose the scope the plan's pools go in.", code="required"),
            )
            return
        self.chosen_scope = scope
        if meta.parent_pool_id:
            pool = (
                IpamPool.objects.not_deleted()
                .filter(pool_id=meta.parent_pool_id, scope=scope)
                .first()
            )
            if pool is None or pool.address_family != (self.family() or pool.address_family):
                self.add_error(
                    "text",
                    ValidationError(
                        f"parent_pool_id: {meta.parent_pool_id} is no live "
                        f"{self.family()} pool of the scope {scope.scope_id}.",
                        code="parent_pool_unknown",
                    ),
                )
            self.parent_pool = pool

    def _space(self, text: str, family: str | None, meta: formats.PlanMeta) -> None:
        if not text.strip():
            self.space_cidrs = meta.space
            return
        found, cidrs = XML_UNSAFE.search(text), []
        if found is not None:
            self.add_error(
                "space",
                ValidationError(
                    f"Space contains a character no CIDR has (U+{ord(found[0]):04X}).",
                    code="text_not_xml_safe",
                ),
            )
            return
        for part in re.split(r"[\s,]+", text.strip())[: formats.MAX_SPACE_CIDRS + 1]:
            parsed = addressing.parse_cidr(part, family, field="space")
            if parsed.violation is not None:
                self.add_error(
                    "space", ValidationError(parsed.violation.message, code=parsed.violation.code)
                )
                return
            cidrs.append(parsed.network)
        if len(cidrs) > formats.MAX_SPACE_CIDRS:
            self.add_error(
                "space",
                ValidationError(
                    f"A plan's space has at most {formats.MAX_SPACE_CIDRS} CIDRs.",
                    code="too_many_cidrs",
                ),
            )
            return
        self.space_cidrs = tuple(cidrs)

    def plan_name(self) -> str:
        return (getattr(self, "cleaned_data", {}) or {}).get("name") or super().plan_name()

    def family(self) -> str | None:
        return (getattr(self, "cleaned_data", {}) or {}).get("address_family") or super().family()

    def create_kwargs(self) -> dict[str, Any]:
        """What :func:`planning.services.plan_create` takes (the form is valid)."""
        assert self.meta is not None
        assert self.chosen_scope is not None
        return {
            "ipam": self.chosen_scope.ipam,
            "scope": self.chosen_scope,
            "address_family": self.family(),
            "name": self.plan_name(),
            "description": self.meta.description,
            "space": self.space_cidrs,
            "parent_pool": self.parent_pool,
            "nodes": self.nodes,
        }


class PlanImportForm(DocumentForm):
    """An upload into a plan: its nodes become the document's (kept ids update in place).

    Only the nodes are taken; the plan keeps its name, scope and space."""

    def __init__(self, *args: Any, plan: Plan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plan = plan

    def csv_family(self) -> str | None:
        return self.plan.address_family

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.plan.status == Plan.Status.APPLYING:
            raise ValidationError(
                "The plan is being applied; upload into it when that is done.",
                code="plan_applying",
            )
        if self.meta is not None and self.meta.address_family not in (
            None,
            self.plan.address_family,
        ):
            self.add_error(
                "text",
                ValidationError(
                    f"The document is an {self.meta.address_family} plan; this plan is "
                    f"{self.plan.address_family}.",
                    code="family_differs",
                ),
            )
        return data

    def plan_name(self) -> str:
        return self.plan.name

    def family(self) -> str | None:
        return self.plan.address_family
