"""The operators' web console at `/console`: server-rendered pages over the same use cases
as the admin API, with a little JavaScript for the live parts (the playground's choices,
progress). Its assets come with the package: it works offline."""

from __future__ import annotations

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from seedgate.http.console import pages, playground, signin
from seedgate.http.console.views import ROOT


def mount() -> Mount:
    return Mount(ROOT, routes=[
        Route("/", pages.overview),
        Route("/sign-in", signin.sign_in_form),
        Route("/sign-in", signin.sign_in, methods=["POST"]),
        Route("/sign-out", signin.sign_out, methods=["POST"]),
        Route("/keys", pages.keys),
        Route("/keys", pages.create_key, methods=["POST"]),
        Route("/keys/{name}", pages.key_page),
        Route("/keys/{name}/limits", pages.update_key, methods=["POST"]),
        Route("/keys/{name}/revoke", pages.revoke_key, methods=["POST"]),
        Route("/keys/{name}/webhook-secret", pages.webhook_secret, methods=["POST"]),
        Route("/credits", pages.credits),
        Route("/credits", pages.move_credits, methods=["POST"]),
        Route("/credits/{name}", pages.ledger),
        Route("/tasks", pages.tasks),
        Route("/tasks/{task_id}", pages.task_page),
        Route("/tasks/{task_id}/events", playground.events),
        Route("/tasks/{task_id}/cancel", pages.cancel_task, methods=["POST"]),
        Route("/tasks/{task_id}/deliveries/{delivery_id}/replay", pages.replay_delivery,
              methods=["POST"]),
        Route("/providers", pages.providers),
        Route("/playground", playground.playground),
        Route("/playground", playground.generate, methods=["POST"]),
        Route("/playground/quote", playground.quote),
        Mount("/static", StaticFiles(packages=[("seedgate.http.console", "static")]),
              name="console-static"),
    ])
