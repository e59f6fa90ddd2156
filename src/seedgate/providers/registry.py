"""The providers a gateway routes to, built from its settings."""

from __future__ import annotations

import logging
import os

from seedgate.providers.base import Provider
from seedgate.providers.client import UpstreamClient
from seedgate.providers.config import Kind, ProviderSettings, zero_file_providers
from seedgate.providers.http import HttpProvider
from seedgate.providers.router import Route
from seedgate.providers.wires import WIRES

log = logging.getLogger(__name__)

SIMULATOR = ProviderSettings(name="simulator", kind=Kind.SIMULATOR)


def build_routes(declared: list[ProviderSettings], simulator: Provider,
                 http: UpstreamClient) -> list[Route]:
    """One route per usable provider: those declared (or, with none declared, the
    official Ark when `ARK_API_KEY` is set, else the simulator). A provider whose key
    variable is unset is left out, with a warning naming the variable (never a key)."""
    declared = declared or zero_file_providers(os.environ)
    if not declared:
        return [Route(SIMULATOR, simulator)]
    routes = []
    for settings in declared:
        if settings.kind is Kind.SIMULATOR:
            simulator.name = settings.name
            routes.append(Route(settings, simulator))
            continue
        key = settings.api_key()
        if settings.api_key_env and not key:
            log.warning("provider %s is disabled: the environment variable %s is not set",
                        settings.name, settings.api_key_env)
            continue
        routes.append(Route(settings, HttpProvider(settings, WIRES[settings.kind], http, key)))
    if not routes:
        log.warning("no provider is usable; every task will fail and be refunded")
    return routes
