"""Plans in the admin site: listed, searched and opened; changed only through the planner,
whose every change packs the plan, judges it again and raises its version."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from planning.models import ApplyRun, ApplyStep, Plan, PlanNode


class PlanNodeInline(admin.TabularInline):
    model = PlanNode
    fields = ("key", "name", "parent", "intent", "cidr", "locale", "pool_aws_id")
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0
    show_change_link = False
    ordering = ("name",)

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("parent")


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("name", "ipam", "scope", "address_family", "status", "version", "open_plan")
    list_filter = ("status", "address_family", "ipam")
    search_fields = ("name", "description")
    list_select_related = ("ipam", "scope")
    readonly_fields = (
        "ipam",
        "scope",
        "address_family",
        "version",
        "space",
        "parent_pool",
        "based_on_sync",
        "validated_version",
        "findings",
        "created_by",
        "created_at",
        "updated_at",
    )
    fields = ("name", "description", "status", *readonly_fields)
    inlines = [PlanNodeInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # plans start in the planner (empty, wizard, clone or upload)

    @admin.display(description="plan page")
    def open_plan(self, plan: Plan) -> str:
        return format_html('<a href="{}">open</a>', reverse("plan_detail", args=[plan.pk]))


class ApplyStepInline(admin.TabularInline):
    model = ApplyStep
    fields = (
        *("order", "step_id", "action", "status", "tries", "pool_aws_id", "aws_state"),
        *("request_id", "error_code", "error_message", "finished_at"),
    )
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0
    ordering = ("order",)


@admin.register(ApplyRun)
class ApplyRunAdmin(admin.ModelAdmin):
    """Runs are read here; they are started, paused and cancelled from the plan's pages."""

    list_display = ("pk", "plan", "kind", "version", "attempt", "status", "created_at", "journal")
    list_filter = ("status", "kind")
    search_fields = ("plan__name",)
    list_select_related = ("plan",)
    readonly_fields = (
        *("plan", "kind", "version", "attempt", "status", "cascade", "message", "world"),
        *("created_by", "created_at", "started_at", "finished_at", "heartbeat_at"),
    )
    inlines = [ApplyStepInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="journal")
    def journal(self, run: ApplyRun) -> str:
        url = reverse("plan_run", args=[run.plan_id, run.pk])
        return format_html('<a href="{}">open</a>', url)
