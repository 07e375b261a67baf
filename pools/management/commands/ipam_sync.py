from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from pools.aws import AwsError
from pools.sync import sync_all


class Command(BaseCommand):
    help = "Import IPAMs, scopes, pools, pool CIDRs and allocations from AWS into the database."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--skip-space",
            action="store_true",
            help="import pools only, not their CIDRs and allocations (two AWS calls per pool)",
        )

    def handle(self, *args: Any, skip_space: bool = False, **options: Any) -> None:
        verbose = options["verbosity"] >= 1
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
