"""``python -m ipamsim``: serve the local IPAM endpoint over HTTP."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys

from ipamsim.seed import seed_demo
from ipamsim.server import IpamServer
from ipamsim.simulator import Config, Simulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ipamsim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4510)
    parser.add_argument("--state", help="SQLite file that keeps the state across restarts")
    parser.add_argument("--account-id", default=Config.account_id)
    parser.add_argument(
        "--region",
        default=Config.default_region,
        help="Region for requests that carry no SigV4 credential scope",
    )
    parser.add_argument(
        "--seed",
        metavar="demo|MODULE:FUNCTION",
        help="create demo data if the state is empty, or call FUNCTION(simulator) from MODULE",
    )
    parser.add_argument(
        "--create-delay",
        type=float,
        default=Config.create_delay,
        help="seconds an object stays in its *-in-progress state",
    )
    parser.add_argument(
        "--provision-delay",
        type=float,
        default=Config.provision_delay,
        help="seconds a provisioned CIDR stays pending-provision (default: the create delay)",
    )
    parser.add_argument("--max-ipams-per-region", type=int, default=Config.max_ipams_per_region)
    parser.add_argument("--max-pools-per-scope", type=int, default=Config.max_pools_per_scope)
    parser.add_argument("--max-cidrs-per-pool", type=int, default=Config.max_cidrs_per_pool)
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if args.seed not in (None, "demo") and ":" not in args.seed:
        parser.error("--seed takes demo or MODULE:FUNCTION")

    config = Config(
        account_id=args.account_id,
        default_region=args.region,
        create_delay=args.create_delay,
        provision_delay=args.provision_delay,
        max_ipams_per_region=args.max_ipams_per_region,
        max_pools_per_scope=args.max_pools_per_scope,
        max_cidrs_per_pool=args.max_cidrs_per_pool,
    )
    simulator = Simulator(config, state_path=args.state)
    if args.seed == "demo":
        if seed_demo(simulator):
            print("ipamsim: created the demo IPAM", flush=True)
        else:
            print("ipamsim: the state already has an IPAM; no demo data added", flush=True)
    elif args.seed:
        module, _, function = args.seed.partition(":")
        try:
            seed = getattr(importlib.import_module(module), function)
        except (ImportError, AttributeError) as exc:
            parser.error(f"--seed {args.seed}: {exc}")
        seed(simulator)
    server = IpamServer(simulator, args.host, args.port, verbose=args.verbose)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"ipamsim: serving EC2 IPAM on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        simulator.store.close()


if __name__ == "__main__":
    main()
