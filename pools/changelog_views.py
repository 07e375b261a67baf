"""The change log of an IPAM: what the app asked of AWS and what changed in the mirror."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from pools import changelog
from pools.forms import is_aws_id
from pools.models import Change, Ipam, Origin, ScheduledSync

VIEW = "pools.view_ipampool"


class ChangeLogFilter(forms.Form):
    """The list's filters, from the query string: each refused next to its field, never a 5xx."""

    origin = forms.ChoiceField(
        required=False, choices=[("", "Anyone"), *Origin.choices], label="Made by"
    )
    kind = forms.ChoiceField(
        required=False, choices=[("", "Everything"), *changelog.KINDS.items()], label="What"
    )
    pool = forms.CharField(required=False, max_length=64, label="Pool ID")
    user = forms.CharField(required=False, max_length=150, label="User")
    before = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def clean_pool(self) -> str:
        pool = self.cleaned_data["pool"].strip()
        if pool and not (is_aws_id(pool) and pool.startswith("ipam-pool-")):
            raise forms.ValidationError(
                "Enter a pool ID, such as ipam-pool-0123456789abcdef0.", code="invalid"
            )
        return pool

    def clean_user(self) -> Any:
        name = self.cleaned_data["user"].strip()
        if not name:
            return None
        user = get_user_model().objects.filter(username=name).first()
        if user is None:
            raise forms.ValidationError(f"No user is called {name}.", code="unknown")
        return user

    def clean_before(self) -> changelog.Cursor | None:
        text = self.cleaned_data["before"]
        cursor = changelog.Cursor.parse(text) if text else None
        if text and cursor is None:
            raise forms.ValidationError("This page link is broken: start again.", code="cursor")
        return cursor

    def query(self) -> dict[str, Any]:
        """The filters that were valid (an invalid one filters nothing, and says so)."""
        data = {
            name: self.cleaned_data.get(name) for name in self.fields if name not in self.errors
        }
        user = data.get("user")
        return {
            "origin": data.get("origin") or "",
            "kind": data.get("kind") or "",
            "pool_aws_id": data.get("pool") or "",
            "user_pk": user.pk if user else None,
            "cursor": data.get("before"),
        }


@permission_required(VIEW, raise_exception=True)
@require_GET
def ipam_changes(request: HttpRequest, ipam_id: str) -> HttpResponse:
    ipam = get_object_or_404(Ipam, ipam_id=ipam_id)
    form = ChangeLogFilter(request.GET)
    form.is_valid()
    entries, following = changelog.entries(ipam_pk=ipam.pk, **form.query())
    next_query = None
    if following is not None:
        query = request.GET.copy()
        query["before"] = str(following)
        next_query = query.urlencode()
    syncs = ScheduledSync.objects.filter(region=ipam.region)
    return render(
        request,
        "pools/change_log.html",
        {
            "ipam": ipam,
            "form": form,
            "entries": entries,
            "next_query": next_query,
            "last_sync": syncs.filter(finished_at__isnull=False).order_by("-finished_at").first(),
            "next_sync": syncs.filter(started_at__isnull=True).first(),
        },
    )


NEWS_CAP = 100  # changes counted for the "changed since" notice, at most


@permission_required(VIEW, raise_exception=True)
@require_GET
def ipam_changed_since(request: HttpRequest, ipam_id: str) -> HttpResponse:
    """How many rows of the IPAM changed since ``after`` (the time a page was made): polled by
    pages that show the mirror, so a change found by the worker or a sync is announced there
    without a reload. A time that cannot be read counts from now."""
    ipam = get_object_or_404(Ipam, ipam_id=ipam_id)
    after = changelog.parse_time(request.GET.get("after", "")) or timezone.now()
    news = Change.objects.filter(ipam=ipam, timestamp__gt=after)[:NEWS_CAP].count()
    return render(
        request,
        "pools/_changed_since.html",
        {"ipam": ipam, "after": after, "news": news, "cap": NEWS_CAP},
    )
