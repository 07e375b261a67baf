"""The admin site: a working console for a network team, read-only where AWS owns the data.

Nothing is added here: a pool exists in the database only once AWS has it, so "add" is left to
the app's creation form (which goes through the service layer).
"""

from __future__ import annotations

from typing import Any

from auditlog.admin import LogEntryAdmin
from auditlog.filters import ResourceTypeFilter
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from awsipam import addressing
from awsipam.choices import LIVE_CIDR_STATES
from awsipam.constants import MAX_POOL_DEPTH
from pools import ledger, tasks, tree
from pools.models import (
    AwsCall,
    Change,
    Ipam,
    IpamPool,
    IpamPoolAllocation,
    IpamPoolCidr,
    IpamScope,
    PoolCreation,
    Reservation,
    by_address,
)
from pools.selectors import pool_ancestors


def tags_html(tags: dict[str, str]) -> str:
    if not tags:
        return "—"
    return format_html(
        '<ul class="tag-list">{}</ul>',
        format_html_join("", "<li><code>{}</code> = {}</li>", sorted(tags.items())),
    )


def admin_link(obj: Any) -> str:
    if obj is None:
        return "—"
    url = reverse(f"admin:pools_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj)


class InAwsFilter(admin.SimpleListFilter):
    title = "in AWS"
    parameter_name = "in_aws"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No longer")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.live()
        if self.value() == "no":
            return queryset.filter(missing_since__isnull=False)
        return queryset


class MirrorAdmin(admin.ModelAdmin):
    """AWS owns every field: shown, never edited here."""

    actions = ["sync_from_aws"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        """Every field, read-only, except those ``exclude`` replaces with a readable form."""
        hidden = set(self.exclude or ())
        fields = [f.name for f in self.model._meta.fields if f.name not in hidden]
        return fields + list(self.readonly_fields)

    @admin.action(description="Sync everything from AWS", permissions=["sync"])
    def sync_from_aws(self, request: HttpRequest, queryset: QuerySet) -> None:
        result = tasks.sync_region.enqueue()
        self.message_user(
            request,
            f"The sync runs on the task worker (task {result.id}); its report is in the task "
            "results.",
            messages.SUCCESS,
        )

    def has_sync_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("pools.sync_ipam")

    @admin.display(description="in AWS", boolean=True)
    def in_aws(self, obj: Any) -> bool:
        return obj.in_aws


@admin.register(Ipam)
class IpamAdmin(MirrorAdmin):
    list_display = ["ipam_id", "description", "region", "regions", "tier", "state", "in_aws"]
    list_filter = ["region", "state", "tier", InAwsFilter]
    search_fields = ["ipam_id", "description", "arn"]
    readonly_fields = ["tags_readable"]
    exclude = ["tags"]

    @admin.display(description="operating Regions")
    def regions(self, obj: Ipam) -> str:
        return ", ".join(obj.operating_regions)

    @admin.display(description="tags")
    def tags_readable(self, obj: Ipam) -> str:
        return tags_html(obj.tags)


@admin.register(IpamScope)
class IpamScopeAdmin(MirrorAdmin):
    list_display = [
        "scope_id",
        "description",
        "ipam",
        "scope_type",
        "is_default",
        "pool_count",
        "state",
        "in_aws",
    ]
    list_filter = ["scope_type", "is_default", "state", InAwsFilter]
    search_fields = ["scope_id", "description", "ipam__ipam_id"]
    list_select_related = ["ipam"]
    readonly_fields = ["tags_readable"]
    exclude = ["tags"]

    @admin.display(description="tags")
    def tags_readable(self, obj: IpamScope) -> str:
        return tags_html(obj.tags)


class CidrInline(admin.TabularInline):
    model = IpamPoolCidr
    fields = ["cidr", "netmask_length", "state", "failure_code", "failure_message", "missing_since"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AllocationInline(admin.TabularInline):
    model = IpamPoolAllocation
    fields = ["cidr", "resource_type", "resource_id", "description", "missing_since"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DepthFilter(admin.SimpleListFilter):
    title = "pool depth"
    parameter_name = "depth"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(d), str(d)) for d in range(1, MAX_POOL_DEPTH + 1)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        if value not in {str(depth) for depth in range(1, MAX_POOL_DEPTH + 1)}:
            raise IncorrectLookupParameters(
                f"Pool depth {value!r} is not one of 1 to {MAX_POOL_DEPTH}."
            )
        return queryset.filter(depth=int(value))


class LocaleFilter(admin.SimpleListFilter):
    title = "locale"
    parameter_name = "locale"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        locales = IpamPool.objects.order_by("locale").values_list("locale", flat=True).distinct()
        return [(locale or "-", locale or "None") for locale in locales]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        return queryset.filter(locale="" if self.value() == "-" else self.value())


@admin.register(IpamPool)
class IpamPoolAdmin(MirrorAdmin):
    list_display = [
        "pool_id",
        "label",
        "scope",
        "address_family",
        "locale_shown",
        "depth",
        "state",
        "cidr_list",
        "child_count",
        "in_aws",
    ]
    list_filter = ["scope", "address_family", LocaleFilter, "state", DepthFilter, InAwsFilter]
    search_fields = [
        "pool_id",
        "name",
        "description",
        "tag_rows__value",
        "tag_rows__key",
        "cidrs__cidr",
    ]
    list_select_related = ["scope"]
    readonly_fields = [
        "tree_link",
        "parent_link",
        "children_links",
        "tags_readable",
        "allocation_resource_tags_readable",
    ]
    exclude = ["tags", "allocation_resource_tags", "source_pool"]
    inlines = [CidrInline, AllocationInline]
    actions = ["refresh_from_aws", "sync_from_aws"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(child_total=Count("children", distinct=True))
            .prefetch_related("cidrs")
        )

    @admin.display(description="name / description")
    def label(self, obj: IpamPool) -> str:
        return obj.name or obj.description

    @admin.display(description="locale", ordering="locale")
    def locale_shown(self, obj: IpamPool) -> str:
        return obj.locale or "None"

    @admin.display(description="CIDRs")
    def cidr_list(self, obj: IpamPool) -> str:
        live = [c for c in obj.cidrs.all() if c.cidr and c.state in LIVE_CIDR_STATES]
        return ", ".join(str(c.cidr) for c in by_address(live)) or "—"

    @admin.display(description="children", ordering="child_total")
    def child_count(self, obj: IpamPool) -> int:
        return obj.child_total

    @admin.display(description="in the tree")
    def tree_link(self, obj: IpamPool) -> str:
        url = reverse("scope_detail", args=[obj.scope.scope_id])
        return format_html(
            '<a href="{}{}#node-{}">Show {} in its scope\'s tree</a>',
            url,
            tree.tree_url(a if isinstance(a, str) else a.pool_id for a in pool_ancestors(obj)),
            obj.pool_id,
            obj.pool_id,
        )

    @admin.display(description="source pool")
    def parent_link(self, obj: IpamPool) -> str:
        if obj.source_pool is None and obj.source_pool_aws_id:
            return f"{obj.source_pool_aws_id} (not in the database yet)"
        return admin_link(obj.source_pool)

    @admin.display(description="child pools")
    def children_links(self, obj: IpamPool) -> str:
        children = list(obj.children.all()[:100])
        if not children:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li>{}</li>", ((admin_link(child),) for child in children)),
        )

    @admin.display(description="tags")
    def tags_readable(self, obj: IpamPool) -> str:
        return tags_html(obj.tags)

    @admin.display(description="allocation resource tags")
    def allocation_resource_tags_readable(self, obj: IpamPool) -> str:
        return tags_html(obj.allocation_resource_tags)

    @admin.action(description="Refresh the selected pools from AWS", permissions=["sync"])
    def refresh_from_aws(self, request: HttpRequest, queryset: QuerySet) -> None:
        pools = list(queryset[:100])
        for pool in pools:
            tasks.follow(pool)
        self.message_user(
            request, f"Reading {len(pools)} pool(s) from AWS on the task worker.", messages.SUCCESS
        )


@admin.register(IpamPoolCidr)
class IpamPoolCidrAdmin(MirrorAdmin):
    list_display = ["cidr", "pool", "netmask_length", "state", "failure_code", "in_aws"]
    list_filter = ["state", InAwsFilter]
    search_fields = ["cidr", "cidr_id", "pool__pool_id", "pool__name"]
    list_select_related = ["pool"]


@admin.register(IpamPoolAllocation)
class IpamPoolAllocationAdmin(MirrorAdmin):
    list_display = ["cidr", "pool", "resource_type", "resource_id", "description", "in_aws"]
    list_filter = ["resource_type", InAwsFilter]
    search_fields = ["cidr", "allocation_id", "resource_id", "description", "pool__pool_id"]
    list_select_related = ["pool"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record of what happened: nothing is added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PoolCreation)
class PoolCreationAdmin(ReadOnlyAdmin):
    """Kept as it is: a client token kept is what makes a retried submission safe."""

    list_display = ["client_token", "status", "pool", "error_code", "created_by", "created_at"]
    list_filter = ["status"]
    search_fields = ["client_token", "pool__pool_id", "error_code"]
    list_select_related = ["pool", "created_by"]


@admin.register(AwsCall)
class AwsCallAdmin(ReadOnlyAdmin):
    date_hierarchy = "at"
    list_display = ["at", "action", "pool_aws_id", "outcome", "error_code", "user", "origin"]
    list_filter = ["outcome", "origin", "action", "ipam"]
    search_fields = ["pool_aws_id", "request_id", "error_code", "user__username"]
    list_select_related = ["user"]
    show_full_result_count = False  # no COUNT over the whole log for each page


admin.site.unregister(Change)  # django-auditlog's admin, with the columns of this model


@admin.register(Change)
class ChangeAdmin(LogEntryAdmin):
    list_display = ["created", "resource_url", "action", "msg_short", "user_url", "origin"]
    list_filter = ["action", "origin", ResourceTypeFilter, "ipam"]
    search_fields = ["pool_aws_id", "object_repr", "actor__username"]
    show_full_result_count = False


class ReservationForm(forms.ModelForm):
    """A block of the ledger added or changed by hand: parsed as AWS parses a CIDR, and
    refused if it overlaps another block (a plan's included), as on the ledger's page."""

    class Meta:
        model = Reservation
        fields = ["ipam", "address_family", "cidr", "kind", "name", "note"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        family, cidr = data.get("address_family"), self.data.get("cidr", "")
        if not family or "cidr" in self.errors or data.get("ipam") is None:
            return data
        parsed = addressing.parse_cidr(str(cidr), family)
        if parsed.network is None:
            assert parsed.violation is not None
            self.add_error(
                "cidr", forms.ValidationError(parsed.violation.message, parsed.violation.code)
            )
            return data
        data["cidr"] = parsed.network
        clash = ledger.holder_clash(
            data["ipam"].pk, parsed.network, family, exclude=self.instance.pk
        )
        if clash is not None:
            self.add_error("cidr", clash)
        return data


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    """The reservation ledger. A plan's rows are the planner's: shown, never edited here."""

    form = ReservationForm
    list_display = [
        "cidr",
        "kind",
        "name",
        "ipam",
        "address_family",
        "plan_id",
        "created_by",
        "created_at",
    ]
    list_filter = ["kind", "ipam", "address_family"]
    search_fields = ["cidr", "name", "note"]
    list_select_related = ["ipam", "created_by"]
    readonly_fields = ["plan_id", "created_by", "created_at"]
    ordering = ["ipam", "address_family", "cidr"]

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "kind":  # a plan's rows come from the planner only
            kwargs["choices"] = [
                c for c in Reservation.Kind.choices if c[0] != Reservation.Kind.PLAN
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def _planner_owns(self, obj: Any) -> bool:
        return obj is not None and obj.kind == Reservation.Kind.PLAN

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._planner_owns(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._planner_owns(obj) and super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would take a plan's rows along
        return actions

    def save_model(self, request: HttpRequest, obj: Reservation, form: Any, change: bool) -> None:
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
