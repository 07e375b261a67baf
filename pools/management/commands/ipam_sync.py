from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from pools.aws import AwsError
from pools.sync import sync_all
from pools.tasks import schedule_sync


class Command(BaseCommand):
    help = "Import IPAMs, scopes, pools, pool CIDRs and allocations from AWS into the database."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--skip-space",
            action="store_true",
            help="import pools only, not their CIDRs and allocations (two AWS calls per pool)",
        )
        parser.add_argument(
            "--schedule",
            action="store_true",
            help="then queue the periodic sync on the task worker (every IPAM_SYNC_INTERVAL "
            "seconds), unless one is queued already",
        )

    def handle(
        self, *args: Any, skip_space: bool = False, schedule: bool = False, **options: Any
    ) -> None:
        try:
            self._sync(skip_space, verbose=options["verbosity"] >= 1)
        finally:
            if schedule and (run := schedule_sync()):
                self.stdout.write(f"Next periodic sync after {run.run_after:%H:%M:%S}.")

    def _sync(self, skip_space: bool, *, verbose: bool) -> None:
        started = time.perf_counter()

        def progress(message: str) -> None:
            if verbose:
                self.stdout.write(f"  {message}")

        try:
            report = sync_all(include_space=not skip_space, progress=progress)
        except AwsError as err:
            raise CommandError(f"Sync failed: {err}") from err
        if verbose:
            for line in report.lines():
                self.stdout.write(line)
            verdict = "changes saved" if report.changed_anything else "nothing changed"
            self.stdout.write(
                self.style.SUCCESS(f"Synced in {time.perf_counter() - started:.1f}s: {verdict}.")
            )
