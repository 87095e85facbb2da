"""Signing in and out with passkeys, invitations, and the person's own page (/me)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, TypeVar

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Redirect, Template

from app.browser import current_browser
from app.domain.redirects import safe_next
from app.domain.roles import QUALIFICATIONS, ROLES
from app.i18n import LOCALE_COOKIE, N_, gettext
from app.middleware import SESSION_COOKIE
from app.routes.forms import FORM
from app.routes.guards import Me, principal, signed_in
from app.services import auth, people, ratelimit
from app.services.audit import actor_of

R = TypeVar("R", bound=Response)  # the response _remember was given, with its cookies
SIGNIN_LIMIT = (20, timedelta(minutes=1))  # attempts per browser
INVITE_LIMIT = (20, timedelta(minutes=1))
# And per client address: a station's whole shift signs in behind one NAT address at 8:00
# (two requests a sign-in), as a carrier's CGNAT puts thousands of phones behind one.
ADDRESS_LIMIT = (300, timedelta(minutes=1))
TOO_MANY = N_("Too many attempts. Please wait a minute and try again.")


@dataclass
class CredentialIn:
    credential: dict
    challenge: str
    label: str = ""
    next: str = "/"


def _json_error(message: str, status: int = 400) -> Response:
    return Response({"error": gettext(message)}, status_code=status)


async def _limited(request: Request, name: str, limit: tuple[int, timedelta]) -> bool:
    """`limit` per browser, ADDRESS_LIMIT per client address (against a script dropping its cookie)."""
    client, browser = request.client.host if request.client else "unknown", current_browser.get()
    return not (
        (not browser or await ratelimit.allow(f"{name}:browser:{browser}", *limit))
        and await ratelimit.allow(f"{name}:ip:{client}", *ADDRESS_LIMIT)
    )


def _remember(request: Request, response: R, new_session: auth.NewSession, locale: str = "") -> R:
    """Set the session cookie (and the person's saved language) on a sign-in response."""
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        new_session.token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=int(settings.session_max_days * 86400),
    )
    if locale:
        response.set_cookie(
            LOCALE_COOKIE, locale, max_age=365 * 86400, httponly=True, samesite="lax", secure=settings.secure_cookies
        )
    return response


async def _start(request: Request, person_id: int, how: str) -> auth.NewSession:
    return await auth.start_session(
        person_id,
        ip=request.client.host if request.client else "",
        user_agent=request.headers.get("user-agent", ""),
        how=how,
    )


class AuthController(Controller):
    @get("/signin", name="signin")
    async def signin_page(self, request: Request, next: FromQuery[str] = "/") -> Template:
        demo = await people.demo_people() if request.app.state.settings.demo else []
        return Template(
            "auth/signin.html",
            context={"next": safe_next(next), "demo_people": demo, "me": principal(request), "roles": ROLES},
        )

    @post("/signin/options", name="signin_options", status_code=200)
    async def signin_options(self, request: Request) -> Response:
        if await _limited(request, "signin", SIGNIN_LIMIT):
            return _json_error(TOO_MANY, 429)
        options, challenge = await auth.authentication_options(request.app.state.settings)
        return Response({"options": options, "challenge": challenge})

    @post("/signin/verify", name="signin_verify", status_code=200)
    async def signin_verify(self, request: Request, data: JSONBody[CredentialIn]) -> Response:
        if await _limited(request, "signin", SIGNIN_LIMIT):
            return _json_error(TOO_MANY, 429)
        try:
            person_id = await auth.authenticate(json.dumps(data.credential), data.challenge, request.app.state.settings)
        except auth.AuthError as exc:
            return _json_error(exc.message)
        session = await _start(request, person_id, "passkey")
        return _remember(
            request,
            Response({"redirect": await auth.landing_page(person_id, data.next)}),
            session,
            await people.saved_locale(person_id),
        )

    @post("/signin/demo", name="signin_demo", status_code=303)
    async def signin_demo(self, request: Request, data: Annotated[dict[str, str], FORM]) -> Redirect:
        """Demo mode only: sign in as a demo person without a passkey."""
        if not request.app.state.settings.demo or not data.get("person", "").isdecimal():
            raise NotFoundException()
        if int(data["person"]) not in {p["person"] for p in await people.demo_people()}:
            raise NotFoundException()
        person_id = int(data["person"])
        session = await _start(request, person_id, "demo")
        return _remember(
            request,
            Redirect(await auth.landing_page(person_id, data.get("next")), status_code=303),
            session,
            await people.saved_locale(person_id),
        )

    @post("/signout", name="signout", status_code=303)
    async def signout(self, request: Request) -> Redirect:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await auth.end_session(token)
        response = Redirect("/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    # --- invitations ---------------------------------------------------------

    @get("/invite/{token:str}", name="invite")
    async def invite_page(self, request: Request, token: FromPath[str]) -> Template:
        if await _limited(request, "invite", INVITE_LIMIT):
            return Template("auth/invite.html", context={"error": TOO_MANY}, status_code=429)
        try:
            invitation = await auth.open_invitation(token)
        except auth.AuthError as exc:
            return Template("auth/invite.html", context={"error": exc.message}, status_code=410)
        return Template("auth/invite.html", context={"invitation": invitation, "token": token})

    @post("/invite/{token:str}/options", name="invite_options", status_code=200)
    async def invite_options(self, request: Request, token: FromPath[str]) -> Response:
        if await _limited(request, "invite", INVITE_LIMIT):
            return _json_error(TOO_MANY, 429)
        try:
            invitation = await auth.open_invitation(token)
        except auth.AuthError as exc:
            return _json_error(exc.message, 410)
        options, challenge = await auth.registration_options(invitation["person"], request.app.state.settings)
        return Response({"options": options, "challenge": challenge})

    @post("/invite/{token:str}/verify", name="invite_verify", status_code=200)
    async def invite_verify(self, request: Request, token: FromPath[str], data: JSONBody[CredentialIn]) -> Response:
        try:
            invitation = await auth.open_invitation(token)
            await auth.register_passkey(
                invitation["person"],
                json.dumps(data.credential),
                data.challenge,
                data.label or gettext("My phone"),
                request.app.state.settings,
                invitation_id=invitation["id"],
            )
        except auth.AuthError as exc:
            return _json_error(exc.message)
        session = await _start(request, invitation["person"], "invitation")
        return _remember(request, Response({"redirect": await auth.welcome_page(invitation["person"])}), session)

    # --- the person's own page -------------------------------------------------

    @get("/me", name="me", guards=[signed_in])
    async def me(self, request: Request, me: Me) -> Template:
        person = await people.profile(me, me.id)
        return Template(
            "auth/me.html",
            context={
                "person": person,
                "welcome": "welcome" in request.query_params,
                "roles": ROLES,
                "qualifications": QUALIFICATIONS,
            },
        )

    @post("/me/passkeys/options", name="passkey_add_options", guards=[signed_in], status_code=200)
    async def add_options(self, request: Request, me: Me) -> Response:
        options, challenge = await auth.registration_options(me.id, request.app.state.settings)
        return Response({"options": options, "challenge": challenge})

    @post("/me/passkeys/verify", name="passkey_add_verify", guards=[signed_in], status_code=200)
    async def add_verify(self, request: Request, me: Me, data: JSONBody[CredentialIn]) -> Response:
        try:
            await auth.register_passkey(
                me.id,
                json.dumps(data.credential),
                data.challenge,
                data.label or gettext("Another device"),
                request.app.state.settings,
                actor=actor_of(me),
            )
        except auth.AuthError as exc:
            return _json_error(exc.message)
        return Response({"redirect": "/me"})

    @post("/me/passkeys/{passkey_id:int}/label", name="passkey_rename", guards=[signed_in], status_code=303)
    async def rename(self, me: Me, passkey_id: FromPath[int], data: Annotated[dict[str, str], FORM]) -> Redirect:
        if not await people.rename_passkey(me, passkey_id, data.get("label", "")):
            raise NotFoundException()
        return Redirect("/me", status_code=303)

    @post("/me/passkeys/{passkey_id:int}/revoke", name="passkey_revoke", guards=[signed_in], status_code=303)
    async def revoke(self, me: Me, passkey_id: FromPath[int]) -> Redirect:
        if not await people.revoke_passkey(me, passkey_id):
            raise NotFoundException()
        return Redirect("/me", status_code=303)
