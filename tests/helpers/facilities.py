"""Demo facility ids by role, and the change-request form built from them."""

from __future__ import annotations

from tests.helpers import facility_id


async def codes(client) -> dict[str, int]:
    f = client.world["facilities"]
    return {
        "inst": await facility_id(client, f["designated_institution"]),
        "station": await facility_id(client, f["designated_station"]),
        "school": await facility_id(client, f["school_clinic"]),
        "hospital": await facility_id(client, f["tertiary_hospital"]),
        "outside": await facility_id(client, f["out_of_city"]),
        "wj_inst": await facility_id(client, "H44020300001"),
        "wj_station": await facility_id(client, "H44020300002"),
        "zj_other_inst": await facility_id(client, "H44020400005"),
        "zj_other_station": await facility_id(client, "H44020400006"),
    }


def change_form(ids, **extra) -> dict[str, str]:
    return {"institution_id": str(ids["inst"]), "station_id": str(ids["station"]), "reason": "relocation", **extra}
