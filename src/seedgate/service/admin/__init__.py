"""Operators' use cases: the admin API, the console and the CLI are doors onto these."""

from __future__ import annotations

from seedgate.domain.pricing import PriceTable
from seedgate.providers.router import Router
from seedgate.service.accounts import Accounts
from seedgate.service.admin.auth import AdminTokens, ConsoleSessions
from seedgate.service.admin.keys import KeyAdmin
from seedgate.service.admin.providers import ProviderBoard
from seedgate.service.admin.tasks import TaskAdmin
from seedgate.service.admin.usage import Usage
from seedgate.service.tasks import TaskService
from seedgate.service.webhooks import WebhookLog
from seedgate.store.database import Database
from seedgate.webhooks.keyring import Keyring


class Admin:
    def __init__(self, db: Database, *, accounts: Accounts, keyring: Keyring,
                 tasks: TaskService, webhooks: WebhookLog, router: Router, prices: PriceTable,
                 secret: bytes) -> None:
        self.tokens = AdminTokens(db)
        self.sessions = ConsoleSessions(db, self.tokens, secret)
        self.keys = KeyAdmin(db, accounts, keyring)
        self.tasks = TaskAdmin(db, tasks, webhooks)
        self.usage = Usage(db)
        self.providers = ProviderBoard(db, router)
        self.prices = prices
