"""`seedgate admin ...`: the operators' credential, from the command line."""

from __future__ import annotations

import argparse

from seedgate.config import Settings
from seedgate.service.admin.auth import AdminTokens
from seedgate.store.database import Database


def _tokens(settings: Settings) -> AdminTokens:
    db = Database(settings.resolved_database_url, schema=settings.database_schema)
    db.migrate()
    return AdminTokens(db)


def console_url(settings: Settings) -> str:
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    return f"{base.rstrip('/')}/console"


def announce_console(settings: Settings) -> None:
    """At `serve`: where the console is, and on first start the admin token (shown once)."""
    token = _tokens(settings).ensure()
    if token is None:
        print(f"\nConsole: {console_url(settings)} (sign in with the admin token; "
              "`seedgate admin token --rotate` makes a new one)\n", flush=True)
        return
    print(f"\nConsole: {console_url(settings)}\nCreated the admin token (shown once; it is "
          f"stored as a digest). Sign in to the console and call /admin/v1 with it:\n\n"
          f"  {token}\n", flush=True)


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    tokens = _tokens(settings)
    if args.rotate:
        print(f"New admin token (shown once; the old one and every console session have "
              f"ended):\n{tokens.rotate()}")
        return 0
    token = tokens.ensure()
    if token is not None:
        print(f"Created the admin token (shown once):\n{token}")
        return 0
    print("The admin token exists; it is stored as a digest and cannot be shown again. "
          "`seedgate admin token --rotate` replaces it.")
    return 1


def add_admin_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    admin = commands.add_parser("admin", help="the admin token of the console and admin API")
    actions = admin.add_subparsers(dest="action", required=True)
    token = actions.add_parser("token", help="make the admin token (shown once), or with "
                               "--rotate replace it")
    token.add_argument("--rotate", action="store_true", help="make a new token; the old one "
                       "and every console session end")
    token.set_defaults(func=cmd_token)
