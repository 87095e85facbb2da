"""Passkey ceremonies (WebAuthn via py_webauthn), invitations and server-side sessions."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.db import Statement, write_transaction
from app.domain.access import Principal, SessionPolicy, invitation_refusal, landing, principal_from_rows, sign_count_ok
from app.domain.redirects import safe_next
from app.i18n import N_
from app.services import audit
from app.settings import Settings
from app.tables import AuthChallenge, Invitation, Passkey, Person, PersonRole, UserSession

log = logging.getLogger("qianmo.auth")
CHALLENGE_TTL = timedelta(minutes=5)
# Writing last_seen on every request would make each page a write; a few minutes is precise enough.
TOUCH_EVERY = timedelta(minutes=5)


def now() -> datetime:
    return datetime.now(timezone.utc)


def new_token() -> tuple[str, str]:
    """A secret for the browser and the hash we keep (a leaked table opens nothing)."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthError(Exception):
    """A refusal the user is told about; `message` is a message id."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvitationRefused(AuthError):
    """Someone other than an administrator asked for a link to an existing account."""


# --- invitations -------------------------------------------------------------


async def issue_invitation(person_id: int, settings: Settings, actor: audit.Actor) -> str:
    """A fresh one-time link; earlier unused links of this person stop working. Refused
    (InvitationRefused, audited) when the person already has an account and the actor is not
    an administrator: see domain.access.invitation_refusal. Every flow that invites comes here."""
    token, digest = new_token()
    async with write_transaction(Invitation._meta.db):
        refusal = await _invitation_refusal(person_id, actor)
        if refusal is None:
            await Invitation.update({Invitation.used_at: now()}).where(
                (Invitation.person == person_id) & Invitation.used_at.is_null()
            )
            await Invitation.insert(
                Invitation(
                    person=person_id, token_hash=digest, expires_at=now() + timedelta(hours=settings.invitation_hours)
                )
            )
            await audit.record(actor, "issue_invitation", "person", person_id)
    if refusal is not None:
        log.warning("invitation for person %s refused to %s %s", person_id, actor.role, actor.id)
        async with write_transaction(Invitation._meta.db):
            await audit.record(actor, "refuse_invitation", "person", person_id)
        raise InvitationRefused(refusal)
    return f"{settings.public_base_url}/invite/{token}"


async def _invitation_refusal(person_id: int, actor: audit.Actor) -> str | None:
    return invitation_refusal(
        issuer_is_admin=await _is_admin(actor),
        holds_roles=await PersonRole.exists().where(PersonRole.person == person_id),
        has_passkeys=await Passkey.exists().where(Passkey.person == person_id),
    )


async def _is_admin(actor: audit.Actor) -> bool:
    """The actor as the database knows them, not as the caller describes them."""
    if actor == audit.OPERATOR:
        return True
    return actor.id is not None and await PersonRole.exists().where(
        (PersonRole.person == actor.id) & (PersonRole.role == "admin") & PersonRole.person.active.eq(True)
    )


async def open_invitation(token: str) -> dict:
    """The invitation with its person, or AuthError saying clearly why it cannot be used."""
    row = (
        await Invitation.select(
            Invitation.all_columns(),
            Invitation.person.name.as_alias("person_name"),
            Invitation.person.active.as_alias("person_active"),
        )
        .where(Invitation.token_hash == token_hash(token))
        .first()
    )
    if row is None:
        raise AuthError(N_("This invitation link is not valid. Ask your administrator for a new one."))
    if row["used_at"] is not None:
        raise AuthError(N_("This invitation link has already been used. Ask your administrator for a new one."))
    if row["expires_at"] <= now():
        raise AuthError(N_("This invitation link has expired. Ask your administrator for a new one."))
    if not row["person_active"]:
        raise AuthError(N_("This account is deactivated."))
    return row


# --- challenges --------------------------------------------------------------


async def _store_challenge(challenge: bytes, purpose: str, person_id: int | None) -> str:
    token, digest = new_token()
    async with write_transaction(AuthChallenge._meta.db):
        await AuthChallenge.delete().where(AuthChallenge.expires_at < now())
        await AuthChallenge.insert(
            AuthChallenge(
                token_hash=digest,
                challenge=bytes_to_base64url(challenge),
                purpose=purpose,
                person=person_id,
                expires_at=now() + CHALLENGE_TTL,
            )
        )
    return token


async def _take_challenge(token: str, purpose: str) -> dict:
    """Each challenge answers once."""
    async with write_transaction(AuthChallenge._meta.db):
        row = (
            await AuthChallenge.select()
            .where((AuthChallenge.token_hash == token_hash(token)) & (AuthChallenge.purpose == purpose))
            .first()
        )
        if row is None or row["expires_at"] <= now():
            raise AuthError(N_("The sign-in attempt took too long. Please try again."))
        await AuthChallenge.delete().where(AuthChallenge.id == row["id"])
    return row


# --- registration ------------------------------------------------------------


async def registration_options(person_id: int, settings: Settings) -> tuple[str, str]:
    """(options JSON for the browser, challenge token)."""
    person = await Person.select().where(Person.id == person_id).first()
    existing = await Passkey.select(Passkey.credential_id).where(
        (Passkey.person == person_id) & Passkey.revoked_at.is_null()
    )
    options = generate_registration_options(
        rp_id=settings.rp_id,
        rp_name="阡陌 Qianmo",
        user_id=f"qianmo-person-{person_id}".encode(),
        user_name=person["name"],
        user_display_name=person["name"],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(r["credential_id"])) for r in existing
        ],
    )
    return options_to_json(options), await _store_challenge(options.challenge, "register", person_id)


async def register_passkey(
    person_id: int,
    credential_json: str,
    challenge_token: str,
    label: str,
    settings: Settings,
    invitation_id: int | None = None,
    actor: audit.Actor | None = None,
) -> int:
    """Verify the new credential and store it; an invitation used for it is spent."""
    challenge = await _take_challenge(challenge_token, "register")
    if challenge["person"] != person_id:
        raise AuthError(N_("The sign-in attempt took too long. Please try again."))
    try:
        verified = verify_registration_response(
            credential=credential_json,
            expected_challenge=base64url_to_bytes(challenge["challenge"]),
            expected_rp_id=settings.rp_id,
            expected_origin=settings.origin,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError) as exc:
        log.info("passkey registration refused: %s", exc)
        raise AuthError(N_("The passkey could not be registered. Please try again.")) from exc
    transports = ",".join(json.loads(credential_json).get("response", {}).get("transports", []) or [])
    who = actor or audit.Actor(id=person_id, role="self")
    async with write_transaction(Passkey._meta.db):
        if invitation_id is not None:
            spent = (
                await Invitation.update({Invitation.used_at: now()})
                .where((Invitation.id == invitation_id) & Invitation.used_at.is_null())
                .returning(Invitation.id)
            )
            if not spent:
                raise AuthError(N_("This invitation link has already been used. Ask your administrator for a new one."))
        rows = await Passkey.insert(
            Passkey(
                person=person_id,
                credential_id=bytes_to_base64url(verified.credential_id),
                public_key=bytes_to_base64url(verified.credential_public_key),
                sign_count=verified.sign_count,
                transports=transports,
                label=label[:60],
            )
        ).returning(Passkey.id)
        await audit.record(who, "register_passkey", "passkey", rows[0]["id"], {"person": [None, person_id]})
    return rows[0]["id"]


# --- authentication ----------------------------------------------------------


async def authentication_options(settings: Settings) -> tuple[str, str]:
    """Discoverable credentials: no user name, no allow-list."""
    options = generate_authentication_options(
        rp_id=settings.rp_id, user_verification=UserVerificationRequirement.REQUIRED
    )
    return options_to_json(options), await _store_challenge(options.challenge, "signin", None)


async def authenticate(credential_json: str, challenge_token: str, settings: Settings) -> int:
    """Verify a sign-in; returns the person id. Refuses revoked keys, inactive people, cloned keys."""
    challenge = await _take_challenge(challenge_token, "signin")
    try:
        credential_id = json.loads(credential_json)["id"]
    except (ValueError, KeyError, TypeError) as exc:
        raise AuthError(N_("This passkey is not registered here.")) from exc
    key = (
        await Passkey.select(Passkey.all_columns(), Passkey.person.active.as_alias("person_active"))
        .where(Passkey.credential_id == credential_id)
        .first()
    )
    if key is None or key["revoked_at"] is not None:
        raise AuthError(N_("This passkey is not registered here."))
    if not key["person_active"]:
        raise AuthError(N_("This account is deactivated."))
    try:
        # The counter is checked below (sign_count_ok) so a regression can be audited as such.
        verified = verify_authentication_response(
            credential=credential_json,
            expected_challenge=base64url_to_bytes(challenge["challenge"]),
            expected_rp_id=settings.rp_id,
            expected_origin=settings.origin,
            credential_public_key=base64url_to_bytes(key["public_key"]),
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError) as exc:
        log.info("passkey sign-in refused: %s", exc)
        raise AuthError(N_("The passkey could not be verified. Please try again.")) from exc
    if not sign_count_ok(key["sign_count"], verified.new_sign_count):
        await audit.record(
            audit.Actor(id=key["person"], role="self"),
            "passkey_sign_count_regressed",
            "passkey",
            key["id"],
            {"sign_count": [key["sign_count"], verified.new_sign_count]},
        )
        raise AuthError(N_("This passkey looks copied and was refused. Contact your administrator."))
    await Passkey.update({Passkey.sign_count: verified.new_sign_count, Passkey.last_used_at: now()}).where(
        Passkey.id == key["id"]
    )
    return key["person"]


# --- sessions ----------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    token: str
    id: int


async def start_session(person_id: int, ip: str = "", user_agent: str = "", how: str = "passkey") -> NewSession:
    token, digest = new_token()
    async with write_transaction(UserSession._meta.db):
        rows = await UserSession.insert(
            UserSession(token_hash=digest, person=person_id, ip=ip, user_agent=user_agent[:200])
        ).returning(UserSession.id)
        await audit.record(
            audit.Actor(id=person_id, role="self"), "sign_in", "session", rows[0]["id"], {"how": [None, how]}
        )
    return NewSession(token=token, id=rows[0]["id"])


# Every request asks this, so it is one statement written as SQL: building it with Piccolo
# cost more than running it. One row per role (one with NULLs for a person without roles).
SESSION = Statement(
    "SELECT s.id, s.person, s.created_at, s.last_seen_at, p.name, p.locale, "
    "r.role, r.station, r.office, r.grid, r.agency FROM user_session s "
    "JOIN person p ON p.id = s.person LEFT JOIN person_role r ON r.person = s.person "
    "WHERE s.token_hash = {} AND s.revoked_at IS NULL AND p.active = true"
)


async def resolve_session(token: str, policy: SessionPolicy) -> Principal | None:
    """The signed-in principal, or None when the session is unknown, revoked, expired or the person inactive."""
    rows = await SESSION.fetch(UserSession._meta.db, token_hash(token))
    moment = now()
    if not rows or not policy.is_live(rows[0]["created_at"], rows[0]["last_seen_at"], moment):
        return None
    row = rows[0]
    if moment - row["last_seen_at"] >= TOUCH_EVERY:
        await UserSession.update({UserSession.last_seen_at: moment}).where(UserSession.id == row["id"])
    person = {"id": row["person"], "name": row["name"], "locale": row["locale"]}
    return principal_from_rows(person, [r for r in rows if r["role"]], session_id=row["id"])


async def landing_page(person_id: int, asked: str | None) -> str:
    """Where a sign-in goes: the page asked for (checked by safe_next), else the person's work."""
    target = safe_next(asked)
    if target != "/":
        return target
    return landing(await _roles(person_id))


async def welcome_page(person_id: int) -> str:
    """After the first passkey: a volunteer goes to the shifts (what they came for); staff to
    their page, which says how to add a second passkey."""
    page = landing(await _roles(person_id))
    return page if page == "/volunteers/my" else "/me?welcome=1"


async def _roles(person_id: int) -> set[str]:
    return {r["role"] for r in await PersonRole.select(PersonRole.role).where(PersonRole.person == person_id)}


async def end_session(token: str) -> None:
    await UserSession.update({UserSession.revoked_at: now()}).where(
        (UserSession.token_hash == token_hash(token)) & UserSession.revoked_at.is_null()
    )


async def revoke_sessions(person_id: int) -> int:
    """Every live session of the person ends (their next request is signed out)."""
    rows = (
        await UserSession.update({UserSession.revoked_at: now()})
        .where((UserSession.person == person_id) & UserSession.revoked_at.is_null())
        .returning(UserSession.id)
    )
    return len(rows)
