"""People, their roles (held for a unit), qualifications, passkeys, invitations and sessions."""

from piccolo.columns import Boolean, Date, DoublePrecision, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from app.tables.base import Table
from app.tables.org import Agency, Grid, Office, Station


class Person(Table):
    name = Varchar(length=100, index=True)
    phone = Varchar(length=32, default="")
    badge_no = Varchar(length=32, default="")
    locale = Varchar(length=8, default="")
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class PersonRole(Table):
    """One row per role and unit: a grid worker of two grids holds two rows."""

    person = ForeignKey(references=Person, index=True)
    role = Varchar(length=20, index=True)
    station = ForeignKey(references=Station, null=True, default=None)
    office = ForeignKey(references=Office, null=True, default=None)
    grid = ForeignKey(references=Grid, null=True, default=None)
    agency = ForeignKey(references=Agency, null=True, default=None)


class Qualification(Table):
    """E.g. the social-worker certificate (社工师) and the date it was obtained."""

    person = ForeignKey(references=Person, index=True)
    kind = Varchar(length=32, index=True)
    obtained_on = Date(null=True, default=None)


class Passkey(Table):
    person = ForeignKey(references=Person, index=True)
    credential_id = Varchar(length=512, unique=True)  # base64url
    public_key = Text()  # base64url of the COSE key
    sign_count = Integer(default=0)
    transports = Varchar(length=100, default="")
    label = Varchar(length=60, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class Invitation(Table):
    """A one-time link to register a passkey; only the token's hash is stored."""

    person = ForeignKey(references=Person, index=True)
    token_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class AuthChallenge(Table):
    """A WebAuthn challenge kept server-side between options and verification."""

    token_hash = Varchar(length=64, unique=True)
    challenge = Varchar(length=128)  # base64url
    purpose = Varchar(length=16)  # register | signin
    person = ForeignKey(references=Person, null=True, default=None)
    expires_at = Timestamptz()


class UserSession(Table):
    """A server-side session: revocable by an administrator, shared by all workers."""

    token_hash = Varchar(length=64, unique=True)
    person = ForeignKey(references=Person, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)
    ip = Varchar(length=64, default="")
    user_agent = Varchar(length=200, default="")


class RateLimitHit(Table):
    """Rate-limit counters for public endpoints, in the database so all workers agree
    (services/ratelimit.py). Times are seconds since the epoch: plain numbers, so that the one
    statement that counts a hit computes the same way on SQLite and PostgreSQL."""

    bucket = Varchar(length=200, unique=True)
    # When the bucket is whole again: a fixed window's end; a token bucket's theoretical arrival
    # time (GCRA: a burst is allowed again once it has passed).
    resets_at = DoublePrecision(default=0)
    # A fixed window: the hits let through in it. A token bucket: 1 if the last hit was let
    # through, 0 if it was refused.
    count = Integer(default=0)  # type: ignore[assignment]  # shadows Table.count(), never called on this table


class ApiKey(Table):
    """A key for another system (an Open311 client, the call-import job): a role and, where
    the role is scoped, a station. Only the key's hash is kept; the key is shown once."""

    name = Varchar(length=100)
    role = Varchar(length=20)
    station = ForeignKey(references=Station, null=True, default=None)
    key_hash = Varchar(length=64, unique=True)
    prefix = Varchar(length=12)  # the first characters, so a person can tell keys apart
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
