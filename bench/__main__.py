"""``python -m bench [NAME ...] [--quick]``: run the benchmarks, print a table, write JSON."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time

import bench
from bench.harness import Suite, format_table, write_results


def benchmark_names() -> list[str]:
    """Every ``bench/*_bench.py`` module, by the name without the suffix."""
    return sorted(
        info.name.removesuffix("_bench")
        for info in pkgutil.iter_modules(bench.__path__)
        if info.name.endswith("_bench")
    )


def main(argv: list[str] | None = None) -> int:
    names = benchmark_names()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"some of {', '.join(names)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the code")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(names))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(names)}")

    suites: list[Suite] = []
    for name in args.names or names:
        module = importlib.import_module(f"bench.{name}_bench")
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        suite = module.run(quick=args.quick)
        suite.parameters["wall_seconds"] = round(time.perf_counter() - started, 1)
        suites.append(suite)
        print(f"   done in {suite.parameters['wall_seconds']} s", flush=True)

    print()
    print(format_table(suites))
    outcomes = [m.met for suite in suites for m in suite.measurements if m.met is not None]
    print(f"\ntargets: {outcomes.count(True)} met, {outcomes.count(False)} missed")
    print(f"results: {write_results(suites)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
