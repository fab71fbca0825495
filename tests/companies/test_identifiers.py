"""NIB, NPWP (with its check digit) and phone numbers: real checks, stored canonically."""

from __future__ import annotations

import pytest

from portal.companies.exceptions import InvalidIdentifier
from portal.companies.identifiers import (
    luhn_digit,
    luhn_valid,
    normalise_nib,
    normalise_npwp,
    normalise_phone,
    npwp_variants,
)

# NPWPs published as valid by the documentation of open-source validators (python-stdnum's
# stdnum.id.npwp doctests, Perl's Business::ID::NPWP synopsis): the first nine digits pass Luhn.
PUBLISHED_VALID_NPWP = ["01.312.166.0-091.000", "016090524017000", "02.183.241.5-000.000"]


@pytest.mark.parametrize("typed", PUBLISHED_VALID_NPWP)
def test_published_npwp_examples_pass_the_check_digit(typed):
    assert len(normalise_npwp(typed)) == 15


@pytest.mark.parametrize(
    "typed,stored",
    [
        ("01.234.567.4-901.000", "012345674901000"),  # dots and a dash, as printed on the card
        ("01 234 567 4 901 000", "012345674901000"),  # spaces
        ("012345674901000", "012345674901000"),
        ("0012345674901000", "0012345674901000"),  # 16 digits: 0 + the 15-digit NPWP
        ("0.012.345.674-901.000", "0012345674901000"),
        ("3374011203850001", "3374011203850001"),  # 16 digits: a NIK (sole proprietor)
        ("3374 0152 0390 0002", "3374015203900002"),  # a woman's NIK: birth day + 40
    ],
)
def test_valid_npwp_is_stored_as_digits(typed, stored):
    assert normalise_npwp(typed) == stored


@pytest.mark.parametrize(
    "typed,problem",
    [
        ("01.234.567.8-901.000", "npwp_check_digit"),  # 9th digit should be 4
        ("01.234.567.5-901.000", "npwp_check_digit"),
        ("10.234.567.4-901.000", "npwp_check_digit"),  # two digits swapped
        ("0012345678901000", "npwp_check_digit"),  # 16-digit form of a bad 15-digit one
        ("100000000000001", "npwp_check_digit"),
        ("3374013203850001", "npwp_nik"),  # 16 digits not starting with 0: month 32 in a NIK
        ("3374011203850000", "npwp_nik"),  # a NIK's sequence is never 0000
        ("01234567490100", "npwp_format"),  # 14 digits
        ("00123456749010001", "npwp_format"),  # 17 digits
        ("01.234.567.4-901.00O", "npwp_format"),  # a letter O for a zero
        ("01/234/567/4/901/000", "npwp_format"),
        ("", "npwp_format"),
    ],
)
def test_invalid_npwp_says_which_rule_it_breaks(typed, problem):
    with pytest.raises(InvalidIdentifier) as caught:
        normalise_npwp(typed)
    assert caught.value.problem == problem


def test_every_single_digit_typo_in_the_first_nine_is_caught():
    good = "012345674901000"
    for position in range(9):
        for digit in "0123456789":
            if digit == good[position]:
                continue
            typo = good[:position] + digit + good[position + 1 :]
            with pytest.raises(InvalidIdentifier):
                normalise_npwp(typo)


def test_luhn_helpers_agree():
    assert luhn_digit("01234567") == "4"
    assert luhn_valid("012345674") and not luhn_valid("012345678")
    assert luhn_valid("79927398713")  # the textbook Luhn example


def test_npwp_variants_match_the_old_and_the_new_form():
    assert npwp_variants("012345674901000") == {"012345674901000", "0012345674901000"}
    assert npwp_variants("0012345674901000") == {"0012345674901000", "012345674901000"}
    assert npwp_variants("3374011203850001") == {"3374011203850001"}


@pytest.mark.parametrize(
    "typed,stored",
    [("9120001234567", "9120001234567"), ("912.000.123.456.7", "9120001234567")],
)
def test_valid_nib(typed, stored):
    assert normalise_nib(typed) == stored


@pytest.mark.parametrize(
    "typed", ["912000123456", "91200012345678", "91200012345A7", "", "9120001234567x"]
)
def test_invalid_nib(typed):
    with pytest.raises(InvalidIdentifier) as caught:
        normalise_nib(typed)
    assert caught.value.problem == "nib_format"


@pytest.mark.parametrize(
    "typed,stored",
    [
        ("0812-2555-0199", "+6281225550199"),  # mobile, national form
        ("0812 2555 0199", "+6281225550199"),
        ("+62 812 2555 0199", "+6281225550199"),
        ("62 812 2555 0199", "+6281225550199"),  # international form without its +
        ("6281225550199", "+6281225550199"),
        ("(024) 844-5566", "+62248445566"),  # a Semarang landline
        ("024 8445566", "+62248445566"),
        ("+62248445566", "+62248445566"),
        ("62248445566", "+62248445566"),  # not the 0622 area code: 62 is the country
    ],
)
def test_valid_indonesian_phone_is_stored_in_e164(typed, stored):
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize(
    "typed,problem",
    [
        ("0241", "phone_invalid"),  # too short
        ("08123", "phone_invalid"),
        ("0812255501991234", "phone_invalid"),  # too long
        ("0012345", "phone_invalid"),
        ("+1 415 555 2671", "phone_not_indonesian"),
        ("+65 6123 4567", "phone_not_indonesian"),
        ("telepon kantor", "phone_format"),
        ("", "phone_format"),
    ],
)
def test_invalid_phone_says_why(typed, problem):
    with pytest.raises(InvalidIdentifier) as caught:
        normalise_phone(typed)
    assert caught.value.problem == problem
