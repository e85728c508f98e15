"""The `leadpool` command: serve, worker, check, explain, simulate, report."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from connector.errors import ConfigError, ConnectorError

DEFAULT_CONFIG = "config"


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", default=DEFAULT_CONFIG, help="config directory (default: config)"
    )


def cmd_check(args: argparse.Namespace) -> int:
    """Validate a config directory; print what it holds, or every problem."""
    from connector.config import load_config

    try:
        cfg = load_config(args.directory)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in {args.directory}", file=sys.stderr)
        return 1
    r = cfg.routing
    print(
        f"ok: {args.directory}: {len(r.reps)} reps, {len(r.teams)} teams, {len(r.pools)} pools, "
        f"{len(r.routes)} routes; crm {cfg.connector.crm}"
    )
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """Explain how a lead (JSON file of CRM fields) would be routed right now (or --at)."""
    from connector.config import load_config
    from connector.explain import explain_file

    cfg = load_config(args.config)
    at = datetime.fromisoformat(args.at) if args.at else None
    for line in explain_file(cfg.routing, Path(args.lead), at):
        print(line)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """Replay synthetic (or given) leads over a simulated day and report the figures."""
    from connector.simulate import SimulationOptions, run_simulation

    options = SimulationOptions(
        config_dir=Path(args.config),
        leads=args.leads,
        seed=args.seed,
        day=args.day,
        store=args.store,
    )
    if args.count is not None:
        options.count = args.count
    result = run_simulation(options)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, default=str))
    else:
        print(result.render())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Per-rep and per-pool fairness and speed figures over a recent period."""
    from connector.config.durations import parse_duration
    from connector.report_text import render_report
    from connector.reporting import build_report
    from connector.runtime import build_runtime

    try:
        window = parse_duration(args.since)
    except ValueError as exc:
        raise ConfigError([f"--since: {exc}"]) from None
    rt = build_runtime(args.config, store=args.store)
    now = rt.clock.now()
    with rt.engine.connect() as conn:
        report = build_report(conn, rt.config.routing(), now - window, now)
    print(render_report(report, rt.config.routing()))
    return 0


def _runtime(args: argparse.Namespace) -> Any:
    from connector.logs import configure_logging
    from connector.runtime import build_runtime

    rt = build_runtime(args.config, store=getattr(args, "store", None))
    configure_logging(rt.connector.log_level)
    return rt


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the webhooks, health checks (and the in-process worker unless disabled)."""
    from werkzeug.serving import make_server

    from connector.app import create_app
    from connector.worker import Worker

    rt = _runtime(args)
    worker = Worker(rt) if rt.connector.worker.in_server and not args.no_worker else None
    if worker is not None:
        signal.signal(signal.SIGHUP, lambda *_: worker.reload_requested.set())
        worker.start_thread()
    server = make_server(args.host, args.port, create_app(rt), threaded=True)
    print(
        f"leadpool serving on http://{args.host}:{server.port} (crm {rt.adapter.crm})", flush=True
    )
    signal.signal(signal.SIGTERM, lambda *_: server.shutdown())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if worker is not None:
            worker.stop()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the outbox and timer worker (several may share one PostgreSQL store)."""
    from connector.worker import Worker

    rt = _runtime(args)
    worker = Worker(rt)
    signal.signal(signal.SIGHUP, lambda *_: worker.reload_requested.set())
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    if args.until_idle:
        while True:
            done = worker.run_pass()
            if (
                done.outbox.applied + done.outbox.retried + done.outbox.parked + done.timers_fired
                == 0
            ):
                return 0
    worker.run_forever()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `leadpool` command."""
    parser = argparse.ArgumentParser(prog="leadpool", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="validate a config directory")
    check.add_argument("directory", nargs="?", default=DEFAULT_CONFIG)
    check.set_defaults(func=cmd_check)

    explain = sub.add_parser("explain", help="explain the routing of one lead (JSON file)")
    explain.add_argument("lead", help="JSON file: an object of CRM fields, or {'fields': {...}}")
    explain.add_argument("--at", help="ISO time to evaluate availability at (default: now)")
    _config_arg(explain)
    explain.set_defaults(func=cmd_explain)

    sim = sub.add_parser("simulate", help="replay leads over a simulated day and report")
    _config_arg(sim)
    sim.add_argument("--leads", help="JSON file with a list of leads (default: synthetic)")
    sim.add_argument("--count", type=int, help="number of synthetic leads")
    sim.add_argument("--seed", type=int, default=7)
    sim.add_argument("--day", help="the simulated day, YYYY-MM-DD (default: next Monday)")
    sim.add_argument("--store", help="keep the simulated store at this SQLAlchemy URL")
    sim.add_argument("--json", action="store_true", help="print the figures as JSON")
    sim.set_defaults(func=cmd_simulate)

    report = sub.add_parser("report", help="fairness and speed figures per rep and pool")
    _config_arg(report)
    report.add_argument("--since", default="7d", help="how far back (7d, 24h, ...)")
    report.add_argument("--store", help="store URL (overrides connector.yaml)")
    report.set_defaults(func=cmd_report)

    serve = sub.add_parser("serve", help="serve webhooks and health checks")
    _config_arg(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--store", help="store URL (overrides connector.yaml)")
    serve.add_argument("--no-worker", action="store_true", help="don't run the worker in-process")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="flush the outbox and fire timers")
    _config_arg(worker)
    worker.add_argument("--store", help="store URL (overrides connector.yaml)")
    worker.add_argument("--until-idle", action="store_true", help="exit when nothing is due")
    worker.set_defaults(func=cmd_worker)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `leadpool` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 1
    except ConnectorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
