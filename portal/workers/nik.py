"""NIK (Nomor Induk Kependudukan) rules: structure, encoded birth date and sex."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from portal.messages import Message, _m
from portal.regions.scope import current_region


def region_prefix() -> str:
    """The first four digits of a NIK issued in the region being served (3374: Semarang)."""
    return current_region().replace(".", "")


_NIK = re.compile(r"[0-9]{16}")


class NikError(ValueError):
    """Why a NIK is not valid; `message` is shown to staff (in their language)."""

    def __init__(self, message: Message) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class NikFacts:
    region: str
    birth_date: date
    female: bool
    sequence: str

    @property
    def in_region(self) -> bool:
        """Issued in the region being served (rule R2's domicile)."""
        return self.region.startswith(region_prefix())


def parse_nik(nik: str, today: date | None = None) -> NikFacts:
    """Read the facts encoded in a NIK; two-digit years after today's year are last century.

    Raises NikError with the reason.
    """
    if not _NIK.fullmatch(nik or ""):
        raise NikError(_m("NIK must be exactly 16 digits."))
    day, month, year2 = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    female = day > 40
    if female:
        day -= 40
    if nik[12:] == "0000":
        raise NikError(_m("The last four digits of a NIK cannot be 0000."))
    birth = _birth_date(day, month, year2, (today or date.today()).year)
    return NikFacts(region=nik[:6], birth_date=birth, female=female, sequence=nik[12:])


def _birth_date(day: int, month: int, year2: int, this_year: int) -> date:
    century = 2000 if 2000 + year2 <= this_year else 1900
    try:
        return date(century + year2, month, day)
    except ValueError:
        raise NikError(_m("Digits 7-12 of the NIK are not a real birth date.")) from None


def check_nik_matches(
    nik: str, birth_date: date, female: bool, today: date | None = None
) -> NikFacts:
    """Parse the NIK and check it agrees with the birth date and sex given. Raises NikError."""
    facts = parse_nik(nik, today)
    if facts.female != female:
        raise NikError(_m("The NIK encodes the other sex (women have 40 added to the birth day)."))
    same_day = (facts.birth_date.day, facts.birth_date.month) == (birth_date.day, birth_date.month)
    if not same_day or facts.birth_date.year % 100 != birth_date.year % 100:
        raise NikError(_m("The birth date in the NIK does not match the birth date given."))
    return facts


def build_nik(region: str, birth_date: date, female: bool, sequence: int) -> str:
    """Compose a NIK from its parts (demo data and tests)."""
    day = birth_date.day + (40 if female else 0)
    return f"{region}{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{sequence:04d}"
