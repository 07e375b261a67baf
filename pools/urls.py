from __future__ import annotations

from django.urls import path, register_converter

from pools import changelog_views, edit_views, space_views, views
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
    path("ipams/<awsid:ipam_id>/changes/", changelog_views.ipam_changes, name="ipam_changes"),
    path(
        "ipams/<awsid:ipam_id>/changes/since/",
        changelog_views.ipam_changed_since,
        name="ipam_changed_since",
    ),
]

# The pool's space: allocate, release, deprovision, and the live checks of those forms.
urlpatterns += [
    path(
        "pools/<awsid:pool_id>/provision/validate/",
        space_views.pool_provision_validate,
        name="pool_provision_validate",
    ),
    path("pools/<awsid:pool_id>/allocate/", space_views.pool_allocate, name="pool_allocate"),
    path(
        "pools/<awsid:pool_id>/allocate/validate/",
        space_views.pool_allocate_validate,
        name="pool_allocate_validate",
    ),
    path(
        "pools/<awsid:pool_id>/allocate/preview/",
        space_views.pool_allocate_preview,
        name="pool_allocate_preview",
    ),
    path(
        "pools/<awsid:pool_id>/release/", space_views.allocation_release, name="allocation_release"
    ),
    path(
        "pools/<awsid:pool_id>/deprovision/", space_views.pool_deprovision, name="pool_deprovision"
    ),
    path(
        "pools/<awsid:pool_id>/allocations/", space_views.pool_allocations, name="pool_allocations"
    ),
]

# Editing a pool: its settings, its tags, deleting it.
urlpatterns += [
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
