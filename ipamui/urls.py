from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("api.urls")),
    path("profile/", include("api.token_views")),
    path("", include("pools.urls")),
    path("", include("planning.urls")),
]

handler404 = "api.views.errors.not_found"
