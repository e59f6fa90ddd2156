"""What every console page shares: the session guard, CSRF checks on forms, templates, the
notice shown after an action, and the security headers.

Pages are rendered on the server from the same use cases as the admin API; a signed-out
visitor is sent to the sign-in page. Every POST must carry the session's CSRF token (and,
when the browser sends one, an `Origin` of this host); the session cookie is HttpOnly and
SameSite=Strict, so other sites can neither read it nor send it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import jinja2
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.gateway import Gateway
from seedgate.http.plumbing import base_url, gateway_of

log = logging.getLogger(__name__)

ROOT = "/console"
COOKIE = "seedgate_console"
NOTICE_COOKIE = "seedgate_notice"
SESSION_S = 12 * 3600
MAX_FORM_FIELDS = 100
MAX_FORM_FILES = 2
HEADERS = {
    "cache-control": "no-store",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    # Scripts and styles from the console itself only; videos may come from wherever the
    # media storage serves them.
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; media-src *; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
}
NONE = "\N{EN DASH}"  # a value that is not there (yet)
STATUS_TONES = {"active": "good", "revoked": "bad", "succeeded": "good", "failed": "bad",
                "expired": "bad", "cancelled": "muted",
                "queued": "wait", "running": "busy", "delivered": "good", "pending": "wait",
                "closed": "good", "open": "bad", "half_open": "wait", "submitted": "busy",
                "submitting": "busy", "finished": "good", "unknown": "wait"}


def when(ms: int | None) -> str:
    """A moment (Unix ms) as operators read it: `2026-12-01 13:07:31 UTC`."""
    if ms is None:
        return NONE
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(ms: int | None) -> str:
    if ms is None:
        return NONE
    seconds = ms / 1000
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def number(value: int | float | None) -> str:
    if value is None:
        return NONE
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def rate(value: float) -> str:
    """A small rate with the digits that matter: 0.02, 3.5, 120."""
    return f"{value:,.2f}" if value < 1 else f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def percent(value: float | None) -> str:
    return NONE if value is None else f"{value * 100:.1f} %"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("seedgate.http.console"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=when, duration=duration, number=number, percent=percent,
                       rate=rate, plural=plural,
                       tone=lambda status: STATUS_TONES.get(str(status), "muted"),
                       path=lambda value: quote(str(value), safe=""))
    env.globals["root"] = ROOT
    return env


templates = Jinja2Templates(env=_environment())


@dataclass
class Page:
    """One console request: its gateway, session and form, and how to answer."""

    request: Request
    gateway: Gateway
    cookie: str
    form: FormData | None = None

    @property
    def csrf(self) -> str:
        return self.gateway.admin.sessions.csrf_token(self.cookie)

    @property
    def base(self) -> str:
        """The base of media links: the host the operator's browser called."""
        return base_url(self.gateway, self.request.url.scheme, self.request.headers.get("host"))

    def field(self, name: str, default: str = "") -> str:
        assert self.form is not None
        value = self.form.get(name, default)
        return value.strip() if isinstance(value, str) else default

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        notice = self.request.cookies.get(NOTICE_COOKIE)
        response = templates.TemplateResponse(
            self.request, template, {"csrf": self.csrf, "notice": _read_notice(notice),
                                     "path": self.request.url.path, "error": None, "nav": None,
                                     **context},
            status_code=status, headers=HEADERS)
        if notice:
            response.delete_cookie(NOTICE_COOKIE, path=ROOT)
        return response

    def redirect(self, to: str, notice: str | None = None, *, error: bool = False) -> Response:
        """Back to a page after an action, with a line saying what happened."""
        response = RedirectResponse(to, status_code=303, headers=HEADERS)
        if notice:
            response.set_cookie(NOTICE_COOKIE, quote(("!" if error else "") + notice[:300]),
                                max_age=60, path=ROOT, httponly=True, samesite="strict",
                                secure=self.request.url.scheme == "https")
        return response


def _read_notice(cookie: str | None) -> dict[str, Any] | None:
    if not cookie:
        return None
    text = unquote(cookie)
    return {"error": text.startswith("!"), "text": text.removeprefix("!")}


PageHandler = Callable[[Page], Awaitable[Response]]


def page(handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
    """A console endpoint: signed-in visitors only; forms must carry the CSRF token."""

    @wraps(handler)
    async def endpoint(request: Request) -> Response:
        gateway = gateway_of(request)
        cookie = request.cookies.get(COOKIE)
        if cookie is None or not await gateway.admin.sessions.alive(cookie):
            return RedirectResponse(f"{ROOT}/sign-in?next={quote(request.url.path)}",
                                    status_code=303, headers=HEADERS)
        form = None
        if request.method == "POST":
            form = await request.form(max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS)
            sent = form.get("csrf")
            if not same_origin(request) or not gateway.admin.sessions.csrf_valid(
                    cookie, sent if isinstance(sent, str) else None):
                return templates.TemplateResponse(
                    request, "refused.html", {"path": request.url.path}, status_code=403,
                    headers=HEADERS)
        view = Page(request, gateway, cookie, form)
        try:
            return await handler(view)
        except GatewayError as error:
            if error.kind is ErrorKind.NOT_FOUND:
                return view.render("missing.html", 404, message=error.message)
            raise

    return endpoint


def same_origin(request: Request) -> bool:
    """A form posted from this host, as the browser called it or as `public_url` names it
    behind a proxy (browsers send `Origin` with every POST; a request without it is not a
    cross-site form)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    public = gateway_of(request).settings.public_url
    hosts = {request.headers.get("host"), urlsplit(public).netloc if public else None}
    return urlsplit(origin).netloc in hosts - {None}


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console page, never another site."""
    if target and target.startswith(ROOT) and not target.startswith("//"):
        return target
    return ROOT
