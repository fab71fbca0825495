"""NIK rules: encoded birth date and sex, impossible dates, sequence 0000, non-Semarang NIKs."""

from datetime import date

import pytest

from portal.workers.nik import NikError, build_nik, check_nik_matches, parse_nik

MALE_NIK = "3374011501800001"  # Semarang, born 15-01-1980, male, sequence 0001
FEMALE_NIK = "3374015501800002"  # the same date for a woman: day 15 + 40 = 55


def test_male_nik_reads_birth_date_region_and_sequence():
    facts = parse_nik(MALE_NIK)
    assert facts == parse_nik(MALE_NIK)
    assert (facts.region, facts.birth_date, facts.female, facts.sequence) == (
        "337401",
        date(1980, 1, 15),
        False,
        "0001",
    )
    assert facts.in_region


def test_female_nik_adds_forty_to_the_birth_day():
    facts = parse_nik(FEMALE_NIK)
    assert facts.female
    assert facts.birth_date == date(1980, 1, 15)
    assert build_nik("337401", date(1980, 1, 15), True, 2) == FEMALE_NIK


def test_two_digit_year_not_after_this_year_is_this_century():
    assert parse_nik(build_nik("337401", date(2005, 6, 1), False, 7)).birth_date == date(2005, 6, 1)
    assert parse_nik(build_nik("337401", date(1999, 6, 1), False, 7)).birth_date == date(1999, 6, 1)


@pytest.mark.parametrize(
    "nik",
    [
        "3374013102800001",  # 31 February
        "3374017102800001",  # 31 February for a woman (31 + 40)
        "3374010013800001",  # day 00, month 13
        "3374013204800001",  # 32 April
    ],
)
def test_impossible_birth_dates_are_rejected(nik: str):
    with pytest.raises(NikError, match="not a real birth date"):
        parse_nik(nik)


def test_sequence_0000_is_rejected():
    with pytest.raises(NikError, match="0000"):
        parse_nik("3374011501800000")


@pytest.mark.parametrize("nik", ["337401150180001", "33740115018000011", "33740115018O0001", ""])
def test_anything_but_sixteen_digits_is_rejected(nik: str):
    with pytest.raises(NikError, match="16 digits"):
        parse_nik(nik)


def test_nik_matching_birth_date_and_sex_passes():
    assert check_nik_matches(FEMALE_NIK, date(1980, 1, 15), female=True).female


def test_nik_for_the_other_sex_is_a_mismatch():
    with pytest.raises(NikError, match="other sex"):
        check_nik_matches(MALE_NIK, date(1980, 1, 15), female=True)


@pytest.mark.parametrize("born", [date(1980, 1, 16), date(1980, 2, 15), date(1981, 1, 15)])
def test_nik_for_another_birth_date_is_a_mismatch(born: date):
    with pytest.raises(NikError, match="does not match the birth date"):
        check_nik_matches(MALE_NIK, born, female=False)


def test_non_semarang_nik_is_valid_but_not_in_semarang():
    facts = check_nik_matches("3201014107900003", date(1990, 7, 1), female=True)
    assert facts.region == "320101"
    assert not facts.in_region
