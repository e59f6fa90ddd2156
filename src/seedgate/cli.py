"""The `seedgate` command."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seedgate.admin_cli import add_admin_commands, announce_console
from seedgate.client.generate import add_generate_command
from seedgate.config import Settings, load_settings
from seedgate.devkey import announce as announce_dev_key
from seedgate.domain.limits import InvalidLimit, KeyLimits
from seedgate.home import NoDataDirectory, locate
from seedgate.listen import PortUnavailable, ensure_port_free
from seedgate.ops import MULTIPROC_ENV
from seedgate.providers.config import Strategy
from seedgate.service.accounts import Accounts, KeyNameTaken, UnknownKey
from seedgate.store import attempts
from seedgate.store.database import Database
from seedgate.webhooks.secretbox import Undecryptable


def _database(settings: Settings) -> Database:
    db = Database(settings.resolved_database_url, schema=settings.database_schema)
    db.migrate()
    return db


def _accounts(settings: Settings) -> Accounts:
    return Accounts(_database(settings))


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from seedgate.server import configure_logging, serve, serve_processes

    ensure_port_free(settings.host, settings.port)
    configure_logging(settings)
    announce_console(settings)
    announce_dev_key(settings, _accounts(settings), interactive=sys.stdout.isatty())
    if args.workers > 1:
        # The processes read their settings from the environment, options included.
        os.environ.update(SEEDGATE_HOST=settings.host, SEEDGATE_PORT=str(settings.port))
        _share_metrics(settings)
        serve_processes(settings, args.workers, worker=not args.no_worker)
    else:
        serve(settings, worker=not args.no_worker)
    return 0


def _share_metrics(settings: Settings) -> None:
    """Server processes count into files of one directory, emptied at start (what an
    earlier run left would be counted again); PROMETHEUS_MULTIPROC_DIR chooses it. The
    processes are spawned, so they import prometheus_client with it set."""
    chosen = os.environ.get(MULTIPROC_ENV)
    directory = Path(chosen) if chosen else settings.home / "metrics"
    if directory.exists():
        for stale in directory.glob("*.db"):
            stale.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)


def cmd_worker(_args: argparse.Namespace, settings: Settings) -> int:
    from seedgate.server import configure_logging, run_worker

    configure_logging(settings)
    run_worker(settings)
    return 0


def cmd_migrate(_args: argparse.Namespace, settings: Settings) -> int:
    _accounts(settings)
    print("database is up to date")
    return 0


def _limit_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The limits given on the command line (`default`/`none` clears one; `--allow-ip ''`
    and `--models ''` clear a list)."""
    changes: dict[str, Any] = {}
    for name in ("rate_limit", "max_concurrency", "daily_spend", "monthly_spend"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = None if value in ("default", "none") else _whole(name, value)
    for name, option in (("allowed_ips", "allow_ip"), ("allowed_models", "models")):
        value = getattr(args, option, None)
        if value is not None:
            changes[name] = tuple(item for item in value.split(",") if item.strip())
    return changes


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of processes, 1 or more: {value!r}")
    return int(value)


def _whole(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidLimit(f"--{name.replace('_', '-')} takes a whole number, or 'default' "
                           f"/ 'none'; got {value!r}") from None


def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    limits = KeyLimits().changed(**_limit_changes(args))
    key, secret = _accounts(settings).create_key(args.name, args.credits, limits,
                                                 args.strategy)
    if args.quiet:
        print(secret)
    else:
        print(f"created key {key.name!r} with {args.credits} credits; "
              f"store it now, it will not be shown again:\n{secret}")
    return 0


def cmd_keys_update(args: argparse.Namespace, settings: Settings) -> int:
    changes = _limit_changes(args)
    if not changes:
        raise InvalidLimit("nothing to change: give at least one limit option (see --help)")
    key = _accounts(settings).update_limits(args.key, **changes)
    print(f"key {key.name!r}: {_describe(key.limits)}")
    return 0


def _describe(limits: KeyLimits) -> str:
    def text(value: int | None, unset: str) -> str:
        return unset if value is None else ("none" if value == 0 else str(value))

    return "; ".join((
        f"rate limit {text(limits.rate_limit, 'default')}/min",
        f"concurrency {text(limits.max_concurrency, 'default')}",
        f"spend {text(limits.daily_spend, 'unlimited')}/day, "
        f"{text(limits.monthly_spend, 'unlimited')}/month",
        f"IPs {', '.join(limits.allowed_ips) or 'any'}",
        f"models {', '.join(limits.allowed_models) or 'all'}",
    ))


def cmd_keys_list(_args: argparse.Namespace, settings: Settings) -> int:
    rows = _accounts(settings).balances()
    print(f"{'name':<24} {'prefix':<12} {'credits':>10}  {'state':<8} limits")
    for key, balance in rows:
        state = "active" if key.active else "revoked"
        print(f"{key.name:<24} {key.prefix:<12} {balance:>10}  {state:<8} "
              f"{_describe(key.limits)}")
    return 0


def cmd_keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    key = _accounts(settings).revoke(args.key)
    print(f"revoked key {key.name!r}")
    return 0


def cmd_keys_webhook_secret(args: argparse.Namespace, settings: Settings) -> int:
    from seedgate.webhooks.keyring import Keyring
    from seedgate.webhooks.secretbox import SecretBox

    db = _database(settings)
    key = Accounts(db).find(args.key)
    keyring = Keyring(db, SecretBox(settings.signing_secret()))
    print(keyring.reveal(key.id, rotate=args.rotate))
    return 0


def cmd_keys_strategy(args: argparse.Namespace, settings: Settings) -> int:
    strategy = None if args.strategy == "default" else args.strategy
    key = _accounts(settings).set_strategy(args.key, strategy)
    print(f"key {key.name!r} routes by {args.strategy}")
    return 0


def cmd_providers(args: argparse.Namespace, settings: Settings) -> int:
    """Upstream calls per job and the delay from a provider's end to the gateway's."""
    db = Database(settings.resolved_database_url, schema=settings.database_schema)
    db.migrate()
    since = int(time.time() * 1000) - int(args.hours * 3_600_000)
    rows = db.read_sync(lambda conn: attempts.figures(conn, since))
    print(f"{'provider':<20} {'jobs':>7} {'calls/job':>9} {'delay p50':>10} {'delay p99':>10}")
    for row in rows:
        p50, p99 = (f"{_quantile(row.delays_ms, q) / 1000:.2f} s" if row.delays_ms else "-"
                    for q in (0.5, 0.99))
        print(f"{row.provider:<20} {row.jobs:>7} {row.calls_per_job:>9.2f} {p50:>10} {p99:>10}")
    return 0


def _quantile(ordered: list[int], fraction: float) -> int:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def cmd_credits_add(args: argparse.Namespace, settings: Settings) -> int:
    balance = _accounts(settings).add_credits(args.key, args.amount, args.note)
    print(f"balance: {balance}")
    return 0


def cmd_credits_show(args: argparse.Namespace, settings: Settings) -> int:
    accounts = _accounts(settings)
    if args.key:
        totals = accounts.totals(args.key)
        print(f"{accounts.find(args.key).name}: {totals.balance} (unfinished tasks: "
              f"{totals.active_tasks}; spent today: {totals.day_spent}, this month: "
              f"{totals.month_spent})")
        return 0
    for key, balance in accounts.balances():
        print(f"{key.name}: {balance}")
    return 0


class CommandParser(argparse.ArgumentParser):
    """A subcommand's parser; those working on the data directory take `--init`, which
    creates it (`serve` creates it anyway)."""

    def __init__(self, *args: Any, data: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if data:
            self.add_argument("--init", action="store_true", default=argparse.SUPPRESS,
                              help="create the data directory if there is none")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="seedgate", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True, parser_class=CommandParser)

    serve = commands.add_parser("serve", help="run the HTTP gateway (with its worker)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--no-worker", action="store_true", help="serve the API only")
    serve.add_argument("--workers", type=_positive, default=1, metavar="N",
                       help="server processes sharing the port (default 1)")
    serve.set_defaults(func=cmd_serve)

    commands.add_parser("worker", help="run a worker without HTTP").set_defaults(func=cmd_worker)
    commands.add_parser("migrate", help="create or upgrade the database schema").set_defaults(
        func=cmd_migrate)

    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(
        dest="action", required=True)
    create = keys.add_parser("create", help="create a key (its secret is shown once)")
    create.add_argument("--name", required=True)
    create.add_argument("--credits", type=int, default=0)
    create.add_argument("--quiet", action="store_true", help="print the key alone")
    create.add_argument("--strategy", choices=[s.value for s in Strategy],
                        help="routing strategy of this key's tasks (default: the server's)")
    _limit_options(create)
    create.set_defaults(func=cmd_keys_create)
    update = keys.add_parser("update", help="change a key's limits (the others stay)")
    update.add_argument("key", help="key name or secret")
    _limit_options(update)
    update.set_defaults(func=cmd_keys_update)
    keys.add_parser("list", help="list keys and balances").set_defaults(func=cmd_keys_list)
    route = keys.add_parser("strategy", help="set a key's routing strategy")
    route.add_argument("key", help="key name or secret")
    route.add_argument("strategy", choices=[*(s.value for s in Strategy), "default"])
    route.set_defaults(func=cmd_keys_strategy)
    revoke = keys.add_parser("revoke", help="revoke a key by name or secret")
    revoke.add_argument("key")
    revoke.set_defaults(func=cmd_keys_revoke)
    secret = keys.add_parser("webhook-secret", help="print the key's webhook signing secret "
                             "(whsec_...), made on first use")
    secret.add_argument("key", help="key name or secret")
    secret.add_argument("--rotate", action="store_true", help="replace it; the old one keeps "
                        "signing alongside for 24 hours")
    secret.set_defaults(func=cmd_keys_webhook_secret)

    providers = commands.add_parser(
        "providers", help="upstream calls per job and completion delays, per provider")
    providers.add_argument("--hours", type=float, default=24.0, help="jobs finished since")
    providers.set_defaults(func=cmd_providers)

    credits = commands.add_parser("credits", help="manage credits").add_subparsers(
        dest="action", required=True)
    add = credits.add_parser("add", help="grant credits (negative to withdraw)")
    add.add_argument("key", help="key name or secret")
    add.add_argument("amount", type=int)
    add.add_argument("--note")
    add.set_defaults(func=cmd_credits_add)
    show = credits.add_parser("show", help="show balances")
    show.add_argument("key", nargs="?")
    show.set_defaults(func=cmd_credits_show)
    add_admin_commands(commands)

    add_generate_command(commands, data=False)
    return root


def _limit_options(command: argparse.ArgumentParser) -> None:
    add = command.add_argument
    add("--rate-limit", metavar="N", help="requests a minute (0: none; default: the server's)")
    add("--max-concurrency", metavar="N", help="unfinished tasks at once (0: none; default: "
        "the server's)")
    add("--daily-spend", metavar="CREDITS", help="credits a UTC day (none: no limit)")
    add("--monthly-spend", metavar="CREDITS", help="credits a calendar month (none: no limit)")
    add("--allow-ip", metavar="CIDRS", help="comma-separated addresses or CIDRs the key may "
        "be used from ('': any)")
    add("--models", metavar="MODELS", help="comma-separated models the key may use ('': all)")


# The long-running commands: they make their data directory where none exists yet.
SERVICES = ("serve", "worker")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "client", False):  # talks to a running gateway: no settings, no data
        return int(args.func(args))
    overrides = {}
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None):
        overrides["port"] = args.port
    try:
        data = locate()
        data.ensure(create=args.command in SERVICES or getattr(args, "init", False))
        print(f"seedgate: data directory {data.path} ({data.origin})", file=sys.stderr)
        settings = load_settings(**overrides)
        return int(args.func(args, settings))
    except (NoDataDirectory, UnknownKey, KeyNameTaken, Undecryptable, InvalidLimit,
            PortUnavailable) as exc:
        print(f"seedgate: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
