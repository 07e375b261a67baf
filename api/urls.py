"""The API's addresses, under ``/api/``: each view module brings its own."""

from __future__ import annotations

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib.auth.decorators import login_not_required, login_required
from django.urls import URLPattern, URLResolver, path
from django.views.decorators.http import conditional_page
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from api.views import mirror, plans, pool_actions, pools
from api.views.root import ApiRoot

app_name = "api"

# Swagger UI sets inline styles and draws its icons as data: images; its script is a file.
# It is a page, so an anonymous visitor is sent to log in.
DOCS = login_required(
    csp_update({"style-src": [SELF, UNSAFE_INLINE], "img-src": [SELF, "data:"]})(
        SpectacularSwaggerSplitView.as_view(url_name="api:schema")
    )
)

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("pools", pools.PoolViewSet, basename="pool")

urlpatterns: list[URLPattern | URLResolver] = [
    path("", ApiRoot.as_view(), name="root"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", DOCS, name="docs"),
    *router.urls,
    *mirror.urlpatterns,
    *pool_actions.urlpatterns,
    *plans.urlpatterns,
]


def _open(patterns: list[URLPattern | URLResolver]) -> None:
    """The API answers 401 itself (no redirect to the login page), and answers a GET with an
    ETag (a 304 when the caller has it already)."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _open(pattern.url_patterns)
        elif pattern.name != "docs":
            pattern.callback = login_not_required(conditional_page(pattern.callback))


_open(urlpatterns)
