from __future__ import annotations

from django.apps import AppConfig


class PoolsConfig(AppConfig):
    name = "pools"
    verbose_name = "IPAM"

    def ready(self) -> None:
        from pools import changelog  # noqa: F401 - connects the change log to the AWS calls
