"""One-time codes, sessions (refresh-token families) and staff accounts."""

from piccolo.columns import BigInt, Boolean, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from member_api.facilities.tables import Facility
from member_api.members.tables import Account


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


class SmsMessage(Table, tablename="sms_message"):
    """A message a provider accepted: its id there, for delivery receipts. No phone, no text (hash only)."""

    provider = Varchar(length=16)
    message_id = Varchar(length=64, index=True)
    phone_hash = Varchar(length=64)
    purpose = Varchar(length=16)
    sent_at = Timestamptz(index=True)
    status = Varchar(length=16, default="sent")
    """``sent`` (accepted), ``delivered`` or ``failed`` (by the provider's receipt)."""
    status_code = Varchar(length=64, null=True, default=None)
    status_at = Timestamptz(null=True, default=None)


class WechatIdentity(Table, tablename="wechat_identity"):
    """A mini-program user (app id + openid) linked once to a phone account; the resident may unlink it."""

    app_id = Varchar(length=32)
    openid = Varchar(length=64, unique=True)
    unionid = Varchar(length=64, null=True, default=None)
    account = ForeignKey(references=Account, on_delete=OnDelete.cascade, unique=True)
    linked_at = Timestamptz()
    proof = Varchar(length=16)
    """How the phone was proven when linking: ``sms`` or ``wechat_phone`` (WeChat's phone-number grant)."""


class WechatToken(Table, tablename="wechat_token"):
    """The app's access token, shared by every worker; whoever finds it expired fetches a new one."""

    app_id = Varchar(length=32, unique=True)
    access_token = Varchar(length=512)
    expires_at = Timestamptz()
    fetched_at = Timestamptz()
