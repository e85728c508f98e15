"""The `leadpool` command: serve, worker, check, explain, simulate, report, setup, outbox."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
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
    from connector.store.engine import reading

    try:
        window = parse_duration(args.since)
    except ValueError as exc:
        raise ConfigError([f"--since: {exc}"]) from None
    rt = build_runtime(args.config, store=args.store)
    now = rt.clock.now()
    with reading(rt.engine) as conn:
        report = build_report(conn, rt.config.routing(), now - window, now)
    print(render_report(report, rt.config.routing()))
    return 0


def _runtime(args: argparse.Namespace) -> Any:
    from connector.logs import configure_logging, redact_secrets
    from connector.runtime import build_runtime, secret_values

    rt = build_runtime(args.config, store=getattr(args, "store", None))
    configure_logging(rt.connector.log_level)
    redact_secrets(secret_values(rt.connector))
    return rt


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the webhooks, health checks (and the in-process worker unless disabled)."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    from connector.app import create_app
    from connector.webhooks.receiver import redact_path
    from connector.worker import Worker

    class Handler(WSGIRequestHandler):
        """Access log lines without the Outbound Message URL token."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            self.requestline = redact_path(self.requestline)
            super().log_request(code, size)

    rt = _runtime(args)
    worker = Worker(rt) if rt.connector.worker.in_server and not args.no_worker else None
    if worker is not None:
        signal.signal(signal.SIGHUP, lambda *_: worker.reload_requested.set())
        worker.start_thread()
    server = make_server(
        args.host, args.port, create_app(rt), threaded=True, request_handler=Handler
    )
    print(
        f"leadpool serving on http://{args.host}:{server.port} (crm {rt.adapter.crm})", flush=True
    )
    # shutdown() waits for serve_forever() to return, so it must not run on the serving thread.
    signal.signal(
        signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start()
    )
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


def hubspot_pool_views(cfg: Any) -> list[str]:
    """How to build each pool's saved contact view in HubSpot (views cannot be made by API)."""
    from connector.adapters.salesforce_views import view_fields

    lines = ["saved views to create by hand (Contacts > Add view), one per pool:"]
    for pool, spec in cfg.pools.items():
        columns = ", ".join(view_fields(cfg, pool, ("firstname", "lastname", "email")))
        lines.append(
            f"  view 'Pool {pool}': filters leadpool_pool is {pool} AND Contact owner is unknown;"
            f" columns: {columns}"
        )
        if spec.mode == "queue":
            lines.append("    sort by Create date, oldest first; reps take the top contact only")
    return lines


def cmd_setup(args: argparse.Namespace) -> int:
    """Check (or with --apply create) leadpool's CRM fields; print the webhook URL to set."""
    from connector.adapters import factory
    from connector.adapters.hubspot import HubSpotAdapter
    from connector.adapters.hubspot_setup import HubSpotSetup
    from connector.adapters.salesforce import SalesforceAdapter
    from connector.adapters.salesforce_setup import setup_leadpool_fields
    from connector.adapters.salesforce_views import setup_pool_views
    from connector.clock import SystemClock
    from connector.config import load_config

    loaded = load_config(args.config)
    settings = loaded.connector
    if settings.crm != args.crm:
        raise ConfigError([f"connector.yaml crm: is {settings.crm!r}, not {args.crm!r}"])
    adapter = factory.crm_adapter(settings, SystemClock())
    if isinstance(adapter, SalesforceAdapter) and settings.salesforce is not None:
        steps = setup_leadpool_fields(adapter, apply=args.apply)
        views = setup_pool_views(adapter, loaded.routing, apply=args.apply)
        lines = [step.line() for step in steps] + [view.line() for view in views]
        outcomes = [step.action for step in steps] + [view.action for view in views]
        conflicts = sum(action in ("mismatch", "failed") for action in outcomes)
        token = f"${settings.salesforce.outbound_token_env}"
        url = f"https://<leadpool's public address>/webhooks/salesforce/outbound/{token}"
    elif isinstance(adapter, HubSpotAdapter) and settings.hubspot is not None:
        found = HubSpotSetup(adapter.settings).run(apply=args.apply)
        lines = [f"{s.what}: {s.action}" + (f" ({s.detail})" if s.detail else "") for s in found]
        lines += hubspot_pool_views(loaded.routing)
        conflicts = sum(s.action == "conflict" for s in found)
        url = settings.hubspot.public_base_url.rstrip("/") + "/webhooks/hubspot"
    else:
        raise ConfigError([f"connector.yaml: no {args.crm} settings"])
    for line in lines:
        print(line)
    if not args.apply:
        print("dry run: nothing was changed (run again with --apply)")
    print(f"webhook URL to configure in {args.crm}: {url}")
    return 1 if conflicts else 0


def cmd_outbox(args: argparse.Namespace) -> int:
    """List parked CRM changes, or put them back in line (`retry --all` or `retry ID...`)."""
    from connector.runtime import build_runtime
    from connector.store import outbox
    from connector.store.engine import reading

    engine = build_runtime(args.config, store=args.store).engine
    if args.action == "parked":
        with reading(engine) as conn:
            rows = outbox.parked_rows(conn, args.limit)
        for row in rows:
            when = row.parked_at.isoformat() if row.parked_at else "-"
            print(f"{row.id} {row.crm} {row.lead_id} {row.kind} parked {when}: {row.last_error}")
        print(f"{len(rows)} parked change(s)")
        return 0
    if args.all == bool(args.ids):
        raise ConfigError(["outbox retry: give either --all or outbox ids"])
    with engine.begin() as conn:
        count = outbox.retry_parked(conn, None if args.all else args.ids)
    print(f"{count} parked change(s) queued again")
    return 0 if args.all or count == len(set(args.ids)) else 1


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

    setup = sub.add_parser("setup", help="check or create leadpool's fields in the CRM")
    setup.add_argument("crm", choices=["salesforce", "hubspot"])
    setup.add_argument("--apply", action="store_true", help="create what is missing")
    _config_arg(setup)
    setup.set_defaults(func=cmd_setup)

    box = sub.add_parser("outbox", help="parked CRM changes: list them or retry them")
    box_sub = box.add_subparsers(dest="action", required=True)
    parked = box_sub.add_parser("parked", help="list parked changes with the CRM's message")
    parked.add_argument("--limit", type=int, default=100)
    retry = box_sub.add_parser("retry", help="queue parked changes again")
    retry.add_argument("--all", action="store_true", help="every parked change")
    retry.add_argument("ids", nargs="*", type=int, help="outbox ids")
    for command in (parked, retry):
        _config_arg(command)
        command.add_argument("--store", help="store URL (overrides connector.yaml)")
        command.set_defaults(func=cmd_outbox)
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
