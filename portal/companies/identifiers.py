"""NIB, NPWP and phone numbers as companies type them: checked for real, stored canonically.

NIB (OSS): 13 digits; OSS publishes no check digit, so digits and length are all that can be
checked. NPWP: the 15-digit format XX.XXX.XXX.C-KKK.BBB carries a Luhn (mod 10) check digit C
over the eight digits before it, i.e. the first nine digits pass Luhn. Since 2024 the NPWP has
16 digits: a NIK for individuals (sole proprietors), otherwise 0 followed by the 15 digits.
Phones: Indonesian numbers (08.., 024.., +62.., 62..) stored in E.164 (+628...).
"""

from __future__ import annotations

import re

import phonenumbers

from portal.companies.exceptions import InvalidIdentifier
from portal.workers.nik import NikError, parse_nik

_SEPARATORS = re.compile(r"[\s.\-]")
_INDONESIA = 62


def digits_only(value: str | None) -> str:
    """A number as typed ('01.234.567.8-901.000') without its dots, dashes and spaces."""
    return _SEPARATORS.sub("", value or "")


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check: from the right, every second digit doubled (minus 9 past 9)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def luhn_digit(digits: str) -> str:
    """The check digit that makes `digits` + it pass Luhn (test data, demo data)."""
    return next(str(d) for d in range(10) if luhn_valid(f"{digits}{d}"))


def normalise_nib(value: str | None) -> str:
    """13 digits. Raises InvalidIdentifier."""
    digits = digits_only(value)
    if not re.fullmatch(r"[0-9]{13}", digits):
        raise InvalidIdentifier("nib_format")
    return digits


def normalise_npwp(value: str | None) -> str:
    """15 digits with a valid check digit, or 16 (a NIK, or 0 + 15). Raises InvalidIdentifier."""
    digits = digits_only(value)
    if not re.fullmatch(r"[0-9]{15,16}", digits):
        raise InvalidIdentifier("npwp_format")
    if len(digits) == 16 and not digits.startswith("0"):
        try:
            parse_nik(digits)
        except NikError:
            raise InvalidIdentifier("npwp_nik") from None
        return digits
    old_format = digits[-15:]
    if not luhn_valid(old_format[:9]):
        raise InvalidIdentifier("npwp_check_digit")
    return digits


def npwp_variants(npwp: str) -> set[str]:
    """The same taxpayer's NPWP in the 15- and the 16-digit form (a NIK has only one)."""
    if len(npwp) == 15:
        return {npwp, f"0{npwp}"}
    if npwp.startswith("0"):
        return {npwp, npwp[1:]}
    return {npwp}


def normalise_phone(value: str | None) -> str:
    """An Indonesian phone number in E.164. Raises InvalidIdentifier."""
    typed = (value or "").strip()
    if re.match(r"62[0-9]", typed):  # the international form without its "+"
        typed = f"+{typed}"
    try:
        number = phonenumbers.parse(typed, "ID")
    except phonenumbers.NumberParseException:
        raise InvalidIdentifier("phone_format") from None
    if number.country_code != _INDONESIA:
        raise InvalidIdentifier("phone_not_indonesian")
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifier("phone_invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
