from __future__ import annotations

from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "planning"
    verbose_name = "IPAM planning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from planning import drift_services
        from pools.sync import synced

        synced.connect(drift_services.on_synced, dispatch_uid="planning.drift.on_synced")
