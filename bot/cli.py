"""The `baton` command: train, serve, evaluate, migrate, seed, users."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import List, Optional

from bot.settings import PROJECT_ROOT, Settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    for field in ("host", "port", "database_url", "model_path", "data_dir", "workers"):
        value = getattr(args, field, None)
        if value is not None:
            overrides[field] = value
    return Settings(**overrides)


def cmd_train(args: argparse.Namespace) -> int:
    from bot.training import train

    settings = _settings(args)
    config = "config-fast.yml" if args.fast else args.config
    output = Path(args.out) if args.out else settings.model_path
    if args.if_missing and output.is_file():
        print(f"Model already at {output}; skipping training (use `make train` to retrain).")
        return 0
    train(settings.data_dir, output, config)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.app import create_app

    settings = _settings(args)
    worker = settings.worker_lock_dir is not None   # one of `baton serve --workers N`'s processes
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per plugin says nothing to an operator
    busy = None if worker else _port_in_use(settings.host, settings.port)
    if busy:
        print(f"error: cannot listen on {settings.host}:{settings.port}: {busy}. Is Baton already running? "
              "Stop it, or pick another port with --port or BATON_PORT.", file=sys.stderr)
        return 2
    if not settings.model_path.is_file() and not worker:
        print(f"warning: no model at {settings.model_path}; every message will be handed to a person. "
              "Run `baton train` first.", file=sys.stderr)
    if args.demo and not settings.identity_secret:
        # The demo shop signs its visitor in as a demo customer, so the CRM panel has something to show.
        import secrets as _secrets

        settings.identity_secret = _secrets.token_hex(32)
    if settings.workers > 1 and not worker:
        from bot.workers import serve_workers

        return serve_workers(args, settings)
    # The workers' parent migrated and seeded once; each worker only serves.
    app = create_app(settings, run_migrations=not worker)
    app["demo_logins"] = []
    app["has_accounts"] = True
    if args.demo:
        app.on_startup.append(_demo_customer if worker else _seed_demo)
    else:
        app.on_startup.append(_check_accounts)
    if not worker:
        app.on_startup.append(_report_model_when_loaded)
        print(f"Starting; the Rasa model {settings.model_path.name} loads in the background (20–30 s)…", flush=True)
    # aiohttp logs a failed start-up's exception with a traceback on its way out; we say it in one line.
    logging.getLogger("asyncio").addFilter(
        lambda record: not record.getMessage().startswith("unhandled exception during asyncio.run() shutdown"))
    # run_app calls `print` once the socket listens, so the URLs appear only when they work.
    try:
        web.run_app(app, host=settings.host, port=settings.port, access_log=None, reuse_port=worker or None,
                    print=(lambda _: None) if worker else (lambda _: _announce(app)))
    except web.GracefulExit:  # a second SIGINT/SIGTERM arrived while aiohttp was shutting down
        _exit_if_threads_linger(exit_code=0)
    except KeyboardInterrupt:
        _exit_if_threads_linger(exit_code=130)
        raise
    except Exception as exc:  # start-up failed: say why in one line, and leave even if threads started
        logging.getLogger("baton").debug("start-up failed", exc_info=True)
        print(f"error: Baton could not start: {_start_up_problem(exc, settings)}", file=sys.stderr, flush=True)
        _exit_if_threads_linger(exit_code=1)
        return 1
    return 0


def _start_up_problem(exc: BaseException, settings: Settings) -> str:
    """The operator's next step, not a traceback: most failures here are a database or a file."""
    from sqlalchemy.engine import make_url

    text = f"{type(exc).__name__}: {exc}".strip()
    if isinstance(exc, (ConnectionError, OSError)) or "connect" in text.lower():
        url = make_url(settings.database_url)
        where = url.render_as_string(hide_password=True)
        return f"cannot reach the database {where} ({text}). Is it running? Set BATON_DATABASE_URL."
    return text


def _exit_if_threads_linger(exit_code: int, grace_seconds: float = 3.0) -> None:
    """Leave even when a second signal cut the graceful shutdown short.

    The cut-short cleanup can leave a pooled aiosqlite connection's worker thread (not a
    daemon) waiting forever, and the process with it. Every accepted message is already
    committed, so exiting at once loses nothing.
    """
    import threading
    import time

    deadline = time.monotonic() + grace_seconds
    # Executor workers are joined by concurrent.futures at exit; only other threads can hang us.
    lingering = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon
                 and not t.name.startswith(("asyncio_", "ThreadPoolExecutor"))]
    for thread in lingering:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in lingering):
        print("Shutdown was interrupted; exiting now.", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(exit_code)


def _port_in_use(host: str, port: int) -> Optional[str]:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


async def _seed_demo(app) -> None:
    from agent_console.seed import seed_demo

    services = app["services"]
    app["demo_logins"] = await seed_demo(services.store.catalogue, services.accounts)
    await _demo_customer(app)


async def _demo_customer(app) -> None:
    from bot.identity import sign_customer_id

    app["demo_customer"] = {"id": "C-1001", "name": "Ada Lovelace",
                            "hash": sign_customer_id(app["services"].settings.identity_secret, "C-1001")}


async def _report_model_when_loaded(app) -> None:
    async def report() -> None:
        engine = app["services"].engine
        if await engine.wait_ready(None):
            print("The bot is ready: customers are answered by the model now.", flush=True)
        else:
            print(f"The model could not be loaded ({engine.error}); every message goes to a person. "
                  "Run `baton train`, then restart.", file=sys.stderr, flush=True)

    task = asyncio.get_running_loop().create_task(report())

    async def stop(app) -> None:
        task.cancel()

    app.on_shutdown.append(stop)


async def _check_accounts(app) -> None:
    app["has_accounts"] = bool(await app["services"].accounts.list_users())


def _announce(app) -> None:
    from bot.announcement import announcement

    engine = app["services"].engine
    model = (engine.status + (f" ({engine.error})" if engine.error else "")
             + (" (messages wait for it)" if engine.status == "loading" else ""))
    print(announcement(app["services"].settings, "Baton is running.", model, app["demo_logins"],
                       app["has_accounts"]), flush=True)


def cmd_evaluate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.model_path is not None or args.test is not None:
        return _evaluate_one_model(args, settings)
    from bot.evaluation import evaluate

    thresholds = None if args.no_write else (Path(args.thresholds) if args.thresholds
                                             else settings.handoff_thresholds_path)
    evaluate(settings.data_dir, Path(args.out), config_name=args.config, seed=args.seed,
             target=args.target_wrong, thresholds_path=thresholds, baseline=args.baseline,
             banking77=args.banking77, seeds=tuple(args.seeds),
             results_md=Path(args.results) if args.results else None, time_training=args.time_training,
             nice=args.nice, baseline_seeds=tuple(args.baseline_seeds) if args.baseline_seeds is not None else None)
    return 0


def _evaluate_one_model(args: argparse.Namespace, settings) -> int:
    """`baton evaluate --model M --test FILE`: one model on one labelled file, as JSON on stdout."""
    import json

    from bot.handoff import PolicyConfig
    from bot.model_evaluation import evaluate_model

    model = Path(args.model_path) if args.model_path else settings.model_path
    test = Path(args.test) if args.test else settings.evaluation_test_file
    for what, path in (("model", model), ("test file", test)):
        if not path.is_file():
            print(f"error: no {what} at {path}", file=sys.stderr)
            return 2
    try:
        result = evaluate_model(model, test, PolicyConfig.from_settings(settings), args.target_wrong)
    except Exception as exc:
        print(f"error: could not evaluate {model.name} on {test.name}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from bot.store.database import migrate_sync

    settings = _settings(args)
    migrate_sync(settings.database_url)
    print(f"Database at {settings.database_url} is up to date.")
    return 0


def _run_with_store(args: argparse.Namespace, work) -> int:
    from agent_console.accounts import Accounts
    from bot.store import Store
    from bot.store.database import migrate

    settings = _settings(args)

    async def main() -> int:
        await migrate(settings.database_url)
        store = Store.open(settings.database_url)
        accounts = Accounts(store.accounts)
        try:
            return await work(store, accounts)
        finally:
            accounts.close()
            await store.close()

    return asyncio.run(main())


def cmd_seed(args: argparse.Namespace) -> int:
    from agent_console.seed import seed_demo

    async def work(store, accounts) -> int:
        for user, password, role in await seed_demo(store.catalogue, accounts):
            print(f"{role:8} {user} / {password}")
        return 0

    return _run_with_store(args, work)


def cmd_users_add(args: argparse.Namespace) -> int:
    import getpass

    from agent_console.accounts import AccountError

    password = args.password or os.environ.get("BATON_NEW_USER_PASSWORD") or getpass.getpass("Password: ")

    async def work(store, accounts) -> int:
        try:
            user = await accounts.create_user(args.name, password, args.role, args.display_name, args.capacity)
        except AccountError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"Created {user.role} {user.username!r} (id {user.id}).")
        return 0

    return _run_with_store(args, work)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="baton", description="Baton: a Rasa bot that hands off to people.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--database-url", help="SQLAlchemy URL (default: sqlite baton.db; env BATON_DATABASE_URL)")
        p.add_argument("--model", dest="model_path", type=Path, help="trained model .tar.gz (env BATON_MODEL_PATH)")

    p = sub.add_parser("train", help="train the Rasa model from data/")
    common(p)
    p.add_argument("--fast", action="store_true", help="use data/config-fast.yml (about a minute)")
    p.add_argument("--config", default="config.yml", help="config file inside data/ (default config.yml)")
    p.add_argument("--out", help="where to write the model (default: the configured model path)")
    p.add_argument("--if-missing", action="store_true", help="do nothing when the model already exists")
    p.add_argument("--data-dir", dest="data_dir", type=Path, help="the Rasa project to train (default data/)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("serve", help="run Baton: channels, bot, agent console")
    common(p)
    p.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 5005)")
    p.add_argument("--demo", action="store_true", help="seed demo accounts and data, print logins")
    p.add_argument("--workers", type=int, help="worker processes sharing the port (default 1; env BATON_WORKERS; "
                                               "more than 1 needs BATON_REDIS_URL)")
    p.add_argument("--data-dir", dest="data_dir", type=Path, help="the Rasa project (default data/)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("evaluate", help="learn the handoff thresholds; automation, wrong answers and "
                                        "out-of-scope recall on the store test set")
    common(p)
    p.add_argument("--config", default="config.yml", help="config inside data/ to evaluate (default config.yml)")
    p.add_argument("--out", default=str(PROJECT_ROOT / "docs" / "evaluation"), help="report directory")
    p.add_argument("--target-wrong", type=float, default=0.02,
                   help="wrong-answer rate the thresholds are chosen for (default 0.02)")
    p.add_argument("--thresholds", help="where to write the learned thresholds "
                                        "(default: the server's handoff_thresholds_path, data/handoff_thresholds.yml)")
    p.add_argument("--no-write", action="store_true", help="measure only; leave the thresholds file alone")
    p.add_argument("--baseline", action="store_true", help="also measure the plain Rasa pipeline (slower)")
    p.add_argument("--banking77", action="store_true", help="also measure Banking77's open-set protocol")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="Banking77 seeds (default 1 2 3)")
    p.add_argument("--baseline-seeds", type=int, nargs="*",
                   help="Banking77 seeds for the (slow) baseline; default: the same as --seeds; "
                        "none after the flag: the baseline skips Banking77")
    p.add_argument("--results", help="write the NLU section of this markdown file (benchmarks/RESULTS.md)")
    p.add_argument("--time-training", action="store_true", help="also time `baton train` of the config from scratch")
    p.add_argument("--seed", type=int, default=7, help="cross-validation seed")
    p.add_argument("--test", help="with --model: a labelled Rasa NLU file (out_of_scope examples included) "
                                  "to evaluate that model on; prints JSON")
    p.add_argument("--nice", type=int, default=0, help="run training at this niceness (shared machines)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    common(p)
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("seed", help="add demo accounts, canned responses and CRM data")
    common(p)
    p.set_defaults(func=cmd_seed)

    users = sub.add_parser("users", help="manage console accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    p = users_sub.add_parser("add", help="create an agent, trainer or admin")
    common(p)
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=["agent", "trainer", "admin"])
    p.add_argument("--password", help="password (prompted when omitted; or BATON_NEW_USER_PASSWORD)")
    p.add_argument("--display-name")
    p.add_argument("--capacity", type=int, default=5, help="concurrent conversations (default 5)")
    p.set_defaults(func=cmd_users_add)
    return parser


def _route_warnings_to_logging() -> None:
    """Rasa's dependencies warn about their own deprecations at import time; nothing a user can act on.

    They go to the `py.warnings` logger at DEBUG verbosity (BATON_LOG_WARNINGS=1 shows them).
    """
    logging.captureWarnings(True)
    if not os.environ.get("BATON_LOG_WARNINGS"):
        logging.getLogger("py.warnings").setLevel(logging.ERROR)


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    _route_warnings_to_logging()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
