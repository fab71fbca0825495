"""Which region the current request or command acts in.

The portal's data belongs to Kota Semarang until every table carries its region; lists of
areas (pledge targets, register filters, roster lookups) already keep to the region, so a
region added with `flask regions add` never shows up in another region's pages.
"""

from __future__ import annotations

from typing import Any

from portal.reference.models import Kecamatan
from portal.regions.models import SEMARANG


def current_region() -> str:
    """The code of the region being served."""
    return SEMARANG


def kecamatan_in_region(code: str | None = None) -> Any:
    """A WHERE clause keeping kecamatan (and, joined, their desa/kelurahan) to a region."""
    return Kecamatan.region_code == (code or current_region())
