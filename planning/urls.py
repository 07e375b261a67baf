from __future__ import annotations

from django.urls import path

from planning import (
    apply_views,
    drift_views,
    export_views,
    ledger_views,
    start_views,
    teardown_views,
    views,
)

urlpatterns = [
    path("plans/", views.plan_list, name="plan_list"),
    path("plans/<int:plan_id>/", views.plan_detail, name="plan_detail"),
    path("plans/<int:plan_id>/diff/", views.plan_diff, name="plan_diff"),
    path("plans/<int:plan_id>/validate/", views.plan_validate, name="plan_validate"),
    path("plans/<int:plan_id>/repack/", views.plan_repack, name="plan_repack"),
    path("plans/<int:plan_id>/settings/", views.plan_settings, name="plan_settings"),
    path("plans/<int:plan_id>/delete/", views.plan_delete, name="plan_delete"),
    path("plans/<int:plan_id>/nodes/add/", views.node_add, name="plan_node_add"),
    path("plans/<int:plan_id>/nodes/<str:key>/", views.node_edit, name="plan_node_edit"),
    path("plans/<int:plan_id>/nodes/<str:key>/move/", views.node_move, name="plan_node_move"),
    path("plans/<int:plan_id>/nodes/<str:key>/delete/", views.node_delete, name="plan_node_delete"),
]

# Starting a plan: empty, from the template wizard, as a clone of live pools.
urlpatterns += [
    path("plans/new/", start_views.plan_new, name="plan_new"),
    path("plans/new/wizard/", start_views.plan_wizard, name="plan_wizard"),
    path("plans/new/clone/", start_views.plan_clone, name="plan_clone"),
]

# The plan's formats: export, upload (a new plan, or into one), the published schema.
urlpatterns += [
    path("plans/schema/v<int:version>.json", export_views.plan_schema, name="plan_schema"),
    path("plans/new/upload/", export_views.plan_upload, name="plan_upload"),
    path("plans/<int:plan_id>/export.<str:fmt>", export_views.plan_export, name="plan_export"),
    path("plans/<int:plan_id>/import/", export_views.plan_import, name="plan_import"),
]

# The reservation ledger: external networks and excluded ranges, and what plans hold.
urlpatterns += [
    path("ipams/<str:ipam_id>/ledger/", ledger_views.ledger, name="ledger"),
    path(
        "ipams/<str:ipam_id>/ledger/<int:reservation_id>/delete/",
        ledger_views.reservation_delete,
        name="reservation_delete",
    ),
]

# Applying a plan: start, the live journal, pause / resume / cancel.
urlpatterns += [
    path("plans/<int:plan_id>/apply/", apply_views.plan_apply, name="plan_apply"),
    path("plans/<int:plan_id>/runs/<int:run_id>/", apply_views.run_detail, name="plan_run"),
    path(
        "plans/<int:plan_id>/runs/<int:run_id>/<str:action>/",
        apply_views.run_action,
        name="plan_run_action",
    ),
]

# Drift between an applied plan and AWS: look again, adopt, apply again, ignore.
urlpatterns += [
    path(
        "plans/<int:plan_id>/drift/refresh/", drift_views.drift_refresh, name="plan_drift_refresh"
    ),
    path("plans/<int:plan_id>/drift/adopt/", drift_views.drift_adopt, name="plan_drift_adopt"),
    path(
        "plans/<int:plan_id>/drift/reapply/", drift_views.drift_reapply, name="plan_drift_reapply"
    ),
    path("plans/<int:plan_id>/drift/ignore/", drift_views.drift_ignore, name="plan_drift_ignore"),
]

# Taking a plan's pools away again: the reverse plan, and the teardown run that applies it.
urlpatterns += [
    path("plans/<int:plan_id>/teardown/", teardown_views.plan_teardown, name="plan_teardown"),
]
