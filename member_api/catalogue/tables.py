"""The national medical insurance catalogue (R18) and each facility's own codes mapped to it."""

from piccolo.columns import BigInt, Date, Integer, Timestamptz, Varchar
from piccolo.table import Table


class CatalogueEntry(Table, tablename="catalogue_entry"):
    """One version of a catalogue entry, valid from ``valid_from`` to ``valid_to`` (inclusive; open when null).

    A re-import that changes an entry closes the version in force and adds a new one; versions are never updated
    otherwise, so a settlement's lines can always be explained by the version valid on its date of care.
    """

    code = Varchar(length=50)
    """``med_list_codg``: the national code."""
    name = Varchar(length=200)
    kind = Varchar(length=16)
    """drug, consumable or service."""
    category = Varchar(length=2)
    """``chrgitm_lv``: 01 甲类, 02 乙类, 03 丙类."""
    selfpay_prop_bp = Integer(default=0)
    price_ceiling_fen = BigInt(null=True, default=None)
    spec = Varchar(length=200, default="")
    """Specification or dosage form, as the file gives it (shown to the clerk)."""
    initials = Varchar(length=100, default="")
    """The name's pinyin initials, lower case, for the console's search (e.g. ``amxljn`` for 阿莫西林胶囊)."""
    valid_from = Date()
    valid_to = Date(null=True, default=None)
    source = Varchar(length=100, default="")
    imported_at = Timestamptz()


class FacilityCode(Table, tablename="catalogue_facility_code"):
    """A facility's own item code (``medins_list_codg``) mapped to the national code; one mapping per code."""

    facility_id = BigInt()
    facility_code = Varchar(length=50)
    code = Varchar(length=50)
    name = Varchar(length=200, default="")
    updated_at = Timestamptz()
