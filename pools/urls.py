from __future__ import annotations

from django.urls import path, register_converter

from pools import edit_views, views
from pools.converters import AwsIdConverter

register_converter(AwsIdConverter, "awsid")

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("scopes/<awsid:scope_id>/", views.scope_detail, name="scope_detail"),
    path(
        "scopes/<awsid:scope_id>/tree/<awsid:pool_id>/", views.tree_children, name="tree_children"
    ),
    path("pools/new/", views.pool_new, name="pool_new"),
    path("pools/new/validate/", views.pool_validate, name="pool_validate"),
    path("pools/new/tag-rows/<str:prefix>/", views.pool_tag_rows, name="pool_tag_rows"),
    path("pools/new/source-pools/", views.pool_source_search, name="pool_source_search"),
    path(
        "pools/new/check-permissions/", views.pool_check_permissions, name="pool_check_permissions"
    ),
    path("pools/<awsid:pool_id>/", views.pool_detail, name="pool_detail"),
    path("pools/<awsid:pool_id>/status/", views.pool_status, name="pool_status"),
    path("pools/<awsid:pool_id>/follow/", views.pool_follow, name="pool_follow"),
    path("pools/<awsid:pool_id>/provision/", views.pool_provision, name="pool_provision"),
    path("pools/<awsid:pool_id>/map/", views.pool_map, name="pool_map"),
    # editing a pool: its settings, its tags, deleting it
    path("pools/<awsid:pool_id>/edit/", edit_views.pool_edit, name="pool_edit"),
    path(
        "pools/<awsid:pool_id>/edit/validate/",
        edit_views.pool_edit_validate,
        name="pool_edit_validate",
    ),
    path(
        "pools/<awsid:pool_id>/edit/rows/<str:prefix>/",
        edit_views.pool_edit_rows,
        name="pool_edit_rows",
    ),
    path("pools/<awsid:pool_id>/tags/", edit_views.pool_tags, name="pool_tags"),
    path(
        "pools/<awsid:pool_id>/tags/validate/",
        edit_views.pool_tags_validate,
        name="pool_tags_validate",
    ),
    path("pools/<awsid:pool_id>/delete/", edit_views.pool_delete, name="pool_delete"),
]
