"""Signing in to the console with the admin token, and out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from seedgate.http.console.views import (
    COOKIE,
    HEADERS,
    ROOT,
    SESSION_S,
    Page,
    page,
    safe_next,
    same_origin,
    templates,
)
from seedgate.http.plumbing import gateway_of


async def sign_in_form(request: Request) -> Response:
    return _form(request)


def _form(request: Request, *, refused: bool = False, next_page: str | None = None) -> Response:
    return templates.TemplateResponse(
        request, "sign_in.html",
        {"refused": refused, "next": safe_next(next_page or request.query_params.get("next"))},
        status_code=401 if refused else 200, headers=HEADERS)


async def sign_in(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    token, next_page = form.get("token"), form.get("next")
    next_page = next_page if isinstance(next_page, str) else None
    sessions = gateway_of(request).admin.sessions
    cookie = await sessions.sign_in(token) if isinstance(token, str) and same_origin(
        request) else None
    if cookie is None:
        return _form(request, refused=True, next_page=next_page)
    response = RedirectResponse(safe_next(next_page), status_code=303, headers=HEADERS)
    response.set_cookie(COOKIE, cookie, max_age=SESSION_S, path=ROOT, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response


@page
async def sign_out(view: Page) -> Response:
    await view.gateway.admin.sessions.sign_out(view.cookie)
    response = RedirectResponse(f"{ROOT}/sign-in", status_code=303, headers=HEADERS)
    response.delete_cookie(COOKIE, path=ROOT, httponly=True, samesite="strict")
    return response
