"""Plans in the admin site: listed, searched and opened; changed only through the planner,
whose every change packs the plan, judges it again and raises its version."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from planning.models import Plan, PlanNode


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
