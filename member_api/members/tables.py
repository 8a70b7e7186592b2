"""The member registry: people, guardianship, yearly enrollment (R1, R5) and the phone accounts bound to them."""

from piccolo.columns import Boolean, Date, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table


class Member(Table, tablename="member"):
    """A registry record. The ID number is kept only as a keyed hash (lookup) and a masked form (display)."""

    insurance_no = Varchar(length=32, unique=True)
    name = Varchar(length=100)
    id_hash = Varchar(length=64, unique=True)
    id_masked = Varchar(length=18)
    birth_date = Date()
    sex = Varchar(length=1)
    division = Varchar(length=16, index=True)
    phone_hash = Varchar(length=64, null=True, default=None, index=True)
    phone_masked = Varchar(length=16, default="")
    guardian = ForeignKey(references="self", null=True, on_delete=OnDelete.restrict, index=True)
    credential_subject = Varchar(length=24, unique=True)
    """Opaque id carried by the e-credential QR code instead of anything personal."""


class Enrollment(Table, tablename="enrollment"):
    """Enrollment of a member for one insurance year; ``paid_up`` decides eligibility (R1)."""

    member = ForeignKey(references=Member, on_delete=OnDelete.restrict, index=True)
    year = Integer()
    paid_up = Boolean(default=False)
    enrolled_on = Date()


class Account(Table, tablename="account"):
    """A resident's login, keyed by a hash of the phone; bound to at most one registry record (and it to one)."""

    phone_hash = Varchar(length=64, unique=True)
    phone_masked = Varchar(length=16)
    member = ForeignKey(references=Member, null=True, on_delete=OnDelete.restrict, index=True)
    created_at = Timestamptz()
    unbound_reason = Varchar(length=32, null=True, default=None)
    """Why the account lost its record (``registry_phone_changed``, ``rebound_at_counter``), shown on ``/v1/me``."""
    unbound_at = Timestamptz(null=True, default=None)


class BindingCode(Table, tablename="binding_code"):
    """A short-lived single-use code the app shows at a counter, so a clerk can bind the phone account in person."""

    account = ForeignKey(references=Account, on_delete=OnDelete.cascade, index=True)
    code_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz(index=True)
    used_at = Timestamptz(null=True, default=None)
    used_by = Varchar(length=32, null=True, default=None)
    created_at = Timestamptz()


class PaymentEvent(Table, tablename="payment_event"):
    """A contribution payment reported by the agency's payment system: the member is paid up for ``year`` at once,
    without waiting for the next registry import (R1). ``event_id`` is the payment system's own id: a repeat is
    answered from here, never applied twice."""

    event_id = Varchar(length=64, unique=True)
    member = ForeignKey(references=Member, on_delete=OnDelete.restrict, index=True)
    year = Integer()
    amount_fen = Integer()
    paid_on = Date()
    channel = Varchar(length=32, default="")
    received_at = Timestamptz()
    received_by = Varchar(length=40)
