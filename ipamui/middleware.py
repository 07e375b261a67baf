"""Login for every page, as Django's ``LoginRequiredMiddleware`` does it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.urls import reverse


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Django's, except that the admin's pages send to the admin's own login page."""

    def get_login_url(self, view_func: Any) -> str:
        # The admin marks the views it wraps with their site or model admin.
        if hasattr(view_func, "admin_site") or hasattr(view_func, "model_admin"):
            return reverse("admin:login")
        return super().get_login_url(view_func)
