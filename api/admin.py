"""API tokens in the admin: the team's tokens, searched and filtered; revoking is deleting.

A token made here is shown once, on the page that answers the save (not in a message: messages
are stored in the session or a cookie until shown); the database keeps only its digest.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from api.models import ApiToken


class ExpiredFilter(admin.SimpleListFilter):
    title = "expired"
    parameter_name = "expired"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Expired"), ("no", "Usable"), ("never", "Never expires")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(expires_at__lte=now)
        if self.value() == "no":
            return queryset.exclude(expires_at__lte=now)
        if self.value() == "never":
            return queryset.filter(expires_at__isnull=True)
        return None


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "starts_with", "created_at", "expires_at", "expired")
    list_select_related = ("user",)
    search_fields = ("name", "shown", "user__username")
    list_filter = (ExpiredFilter, "created_at", "expires_at", "user__is_active")
    date_hierarchy = "created_at"
    readonly_fields = ("starts_with", "created_at")
    raw_id_fields = ("user",)

    @admin.display(description="starts with", ordering="shown")
    def starts_with(self, obj: ApiToken) -> str:
        return f"{obj.shown}…" if obj.shown else "—"

    @admin.display(boolean=True)
    def expired(self, obj: ApiToken) -> bool:
        return obj.is_expired

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        if obj is None:
            return ["user", "name", "expires_at"]
        return ["user", "name", "starts_with", "created_at", "expires_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> Any:
        if obj is None:
            return ()
        return ("user", "starts_with", "created_at")  # a token is not handed to someone else

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        row, token = ApiToken.issue(user=obj.user, name=obj.name, expires_at=obj.expires_at)
        for field in obj._meta.concrete_fields:
            setattr(obj, field.attname, getattr(row, field.attname))
        obj._state.adding, obj._state.db = False, row._state.db
        obj.issued_token = token  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        """The new token, shown this once, instead of the redirect."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"New API token “{obj.name}”",
            "row": obj,
            "token": obj.issued_token,  # type: ignore[attr-defined]
            "list_url": reverse("admin:api_apitoken_changelist"),
            "change_url": reverse("admin:api_apitoken_change", args=[obj.pk]),
        }
        response = TemplateResponse(request, "api/admin_token_issued.html", context)
        add_never_cache_headers(response)
        return response
