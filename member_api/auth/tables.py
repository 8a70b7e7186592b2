"""One-time codes, sessions (refresh-token families) and staff accounts."""

from piccolo.columns import BigInt, Boolean, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from member_api.facilities.tables import Facility


class OtpChallenge(Table, tablename="otp_challenge"):
    phone_hash = Varchar(length=64, index=True)
    code_hash = Varchar(length=64)
    expires_at = Timestamptz()
    attempts = Integer(default=0)
    used = Boolean(default=False)
    created_at = Timestamptz()


class Staff(Table, tablename="staff"):
    """Counter clerks (bound to one facility) and agency reviewers."""

    username = Varchar(length=64, unique=True)
    display_name = Varchar(length=64, default="")
    """The person's name as colleagues read it on pages (who closed a month, who reviewed a signal)."""
    password_hash = Varchar(length=200)
    role = Varchar(length=16)
    facility = ForeignKey(references=Facility, null=True, on_delete=OnDelete.restrict)
    active = Boolean(default=True)
    created_at = Timestamptz()


class RefreshToken(Table, tablename="refresh_token"):
    """A refresh token, stored hashed; tokens of one login share a family that reuse revokes."""

    token_hash = Varchar(length=64, unique=True)
    family = Varchar(length=32, index=True)
    subject = Varchar(length=32)
    role = Varchar(length=16)
    facility_id = BigInt(null=True, default=None)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    revoked = Boolean(default=False)
    created_at = Timestamptz()


class AuthSession(Table, tablename="auth_session"):
    """One login: its refresh tokens share ``sid`` as their family and its access tokens carry it as ``sid``.

    Ended by logout, refresh-token reuse or a staff password change; an ended session's access tokens are
    refused (every worker checks at most ``caches.SESSION_CHECK_TTL_S`` seconds late).
    """

    sid = Varchar(length=32, unique=True)
    subject = Varchar(length=32, index=True)
    created_at = Timestamptz()
    ended_at = Timestamptz(null=True, default=None)
    end_reason = Varchar(length=32, null=True, default=None)
