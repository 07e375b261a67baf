"""Benchmarks, run with ``python -m bench`` (or ``make bench``).

Every module of this package whose name ends in ``_bench`` is a benchmark: it defines
``run(quick: bool) -> Suite`` and uses :mod:`bench.harness` for timing, child processes and
reporting. ``python -m bench`` runs them all, prints one table and writes the numbers as JSON
to ``bench/results/``.
"""

from __future__ import annotations
