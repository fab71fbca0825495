"""validate_row: clean records, every bad input reported per column, Excel damage, duplicates."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.messages import Message, _m
from portal.workers import rows
from portal.workers.nik import build_nik
from portal.workers.rows import (
    EXCEL_NIK_MESSAGE,
    RowError,
    RowValidator,
    SeenNiks,
    ValidRow,
    normalise_area_name,
    validate_row,
)
from tests.workers import category_id, reference_lookups

TODAY = date(2026, 6, 1)
NIK = "3374011501800001"  # male, born 15-01-1980
FEMALE_NIK = "3374015501800002"  # female, born 15-01-1980


def raw_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "nik": NIK,
        "name": "Slamet Riyadi",
        "birth_date": "15/01/1980",
        "sex": "L",
        "category": "becak",
        "kelurahan_code": "33.74.01.1001",
        "phone": "0812-3456-7890",
        "kpj": "12345678901",
        "address": "Jl. Pemuda 1",
        "dtsen_decile": "3",
    }
    row.update(changes)
    return row


def validate(**changes: object) -> ValidRow | list[RowError]:
    return validate_row(7, raw_row(**changes), reference_lookups(), TODAY)


def valid(**changes: object) -> ValidRow:
    result = validate(**changes)
    assert isinstance(result, ValidRow), result
    return result


def errors(**changes: object) -> dict[str, str]:
    """Each refused column's message, in English (the messages are translated when shown)."""
    result = validate(**changes)
    assert isinstance(result, list), result
    assert all(error.row == 7 and isinstance(error.message, Message) for error in result)
    return {error.column: error.message.english() for error in result}


def test_valid_row_becomes_a_clean_record():
    assert valid() == ValidRow(
        nik=NIK,
        name="Slamet Riyadi",
        birth_date=date(1980, 1, 15),
        sex="L",
        category_id=category_id("becak"),
        phone="081234567890",
        kpj="12345678901",
        dtsen_decile=3,
        address="Jl. Pemuda 1",
        kelurahan_code="33.74.01.1001",
        in_region=True,
    )


def test_optional_columns_may_be_blank_or_absent():
    row = valid(phone="", kpj="", address="", dtsen_decile="")
    assert (row.phone, row.kpj, row.address, row.dtsen_decile) == (None, None, "", None)
    bare = {
        key: value
        for key, value in raw_row().items()
        if key not in {"phone", "kpj", "address", "dtsen_decile"}
    }
    assert isinstance(validate_row(2, bare, reference_lookups(), TODAY), ValidRow)


def test_every_problem_in_a_row_is_reported_once_per_column():
    found = errors(
        nik="",
        name="",
        birth_date="kemarin",
        sex="X",
        category="astronaut",
        kelurahan_code="99",
        phone="123",
        kpj="12",
        dtsen_decile="11",
        address="x" * 501,
    )
    assert set(found) == {
        "nik",
        "name",
        "birth_date",
        "sex",
        "category",
        "kelurahan_code",
        "phone",
        "kpj",
        "dtsen_decile",
        "address",
    }


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("nik", "", "NIK is required."),
        ("nik", None, "NIK is required."),
        ("nik", "3374 0115 0180 0001", "NIK must be exactly 16 digits."),
        ("nik", "3374-0115-0180-0001", "NIK must be exactly 16 digits."),
        ("nik", "337401150180001", "NIK must be exactly 16 digits."),
        ("nik", "3374011501800000", "The last four digits of a NIK cannot be 0000."),
        ("nik", "3374013102800001", "Digits 7-12 of the NIK are not a real birth date."),
        ("name", "", "Name is required."),
        ("name", "x" * 121, "Name is longer than 120 characters."),
        ("birth_date", "", "Birth date is required."),
        ("birth_date", "15 Januari 1980", "Birth date is not a date"),
        ("birth_date", "15/01-1980", "Birth date is not a date"),
        ("birth_date", "15/01/80", "Birth date is not a date"),
        ("birth_date", "31/02/1980", "Birth date does not exist"),
        ("birth_date", "1980-13-01", "Birth date does not exist"),
        ("birth_date", 60, "Birth date is a number that is not a valid Excel date."),
        ("birth_date", 0, "Birth date is a number that is not a valid Excel date."),
        ("birth_date", True, "Birth date is not a date"),
        ("sex", "", "Sex is required."),
        ("sex", "X", "Sex must be L or P"),
        ("category", "", "Category is required."),
        ("category", "astronaut", "Category 'astronaut' is not a known category code or name."),
        ("phone", "12345", "Phone number must be 9 to 14 digits starting with 08"),
        ("phone", "0812", "Phone number must be 9 to 14 digits starting with 08"),
        ("phone", "081234567890123", "Phone number must be 9 to 14 digits starting with 08"),
        ("phone", "0812-abc-7890", "Phone number must be 9 to 14 digits starting with 08"),
        ("kpj", "1234567", "KPJ number must be 8 to 13 digits."),
        ("kpj", "12345678901234", "KPJ number must be 8 to 13 digits."),
        ("kpj", "KPJ-12345678", "KPJ number must be 8 to 13 digits."),
        ("dtsen_decile", "0", "DTSEN decile must be a whole number from 1 to 10."),
        ("dtsen_decile", 11, "DTSEN decile must be a whole number from 1 to 10."),
        ("dtsen_decile", 3.5, "DTSEN decile must be a whole number from 1 to 10."),
        ("dtsen_decile", "tiga", "DTSEN decile must be a whole number from 1 to 10."),
        ("address", "x" * 501, "Address is longer than 500 characters."),
    ],
)
def test_bad_value_is_reported_on_its_column(column: str, value: object, message: str):
    assert errors(**{column: value})[column].startswith(message)


def test_future_birth_date_is_rejected():
    nik = build_nik("337401", TODAY + timedelta(days=1), False, 1)
    assert errors(nik=nik, birth_date=(TODAY + timedelta(days=1)).isoformat()) == {
        "birth_date": "Birth date is in the future."
    }


def test_age_over_120_is_rejected_but_120_is_accepted():
    turns_121_today = TODAY.replace(year=TODAY.year - 121)
    nik = build_nik("337401", turns_121_today, False, 1)
    assert "older than 120" in errors(nik=nik, birth_date=turns_121_today)["birth_date"]
    oldest = turns_121_today + timedelta(days=1)
    assert valid(nik=build_nik("337401", oldest, False, 1), birth_date=oldest).birth_date == oldest


@pytest.mark.parametrize(
    "value",
    [
        "15/01/1980",
        "15-01-1980",
        "1980-01-15",
        "15/1/1980",
        "1980-01-15 00:00:00",
        date(1980, 1, 15),
        datetime(1980, 1, 15, 0, 0),
        29235,
        29235.0,
        29235.75,
    ],
)
def test_birth_date_formats(value: object):
    assert valid(birth_date=value).birth_date == date(1980, 1, 15)


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (1, date(1900, 1, 1)),
        (59, date(1900, 2, 28)),
        (61, date(1900, 3, 1)),
        (29221, date(1980, 1, 1)),
        (36526, date(2000, 1, 1)),
    ],
)
def test_excel_serials_follow_the_1900_leap_year_bug(serial: int, expected: date):
    nik = build_nik("337401", expected, False, 1)
    result = validate_row(
        2,
        raw_row(nik=nik, birth_date=serial),
        reference_lookups(),
        date(2026, 6, 1) if expected.year > 1906 else date(2000, 1, 1),
    )
    assert isinstance(result, ValidRow), result
    assert result.birth_date == expected


def test_birth_date_that_disagrees_with_the_nik_is_reported():
    assert errors(birth_date="16/01/1980") == {
        "birth_date": "The birth date in the NIK does not match the birth date given."
    }


def test_sex_that_disagrees_with_the_nik_is_reported():
    assert errors(nik=FEMALE_NIK) == {
        "sex": "The NIK encodes the other sex (women have 40 added to the birth day)."
    }


def test_sex_and_birth_date_mismatches_are_both_reported():
    assert set(errors(nik=FEMALE_NIK, birth_date="16/01/1980")) == {"sex", "birth_date"}


def test_female_nik_with_female_sex_is_valid():
    assert valid(nik=FEMALE_NIK, sex="P").sex == "P"


@pytest.mark.parametrize(
    ("value", "sex"),
    [
        ("L", "L"),
        ("l", "L"),
        ("M", "L"),
        ("Laki-laki", "L"),
        ("LAKI-LAKI", "L"),
        ("male", "L"),
        ("P", "P"),
        ("p", "P"),
        ("F", "P"),
        ("Perempuan", "P"),
        ("Female", "P"),
    ],
)
def test_sex_spellings(value: str, sex: str):
    nik = NIK if sex == "L" else FEMALE_NIK
    assert valid(nik=nik, sex=value).sex == sex


def test_non_semarang_nik_is_valid_and_flagged():
    row = valid(nik="3201011501800001")
    assert not row.in_region


@pytest.mark.parametrize(
    "value", ["becak", "BECAK", "Tukang becak", "tukang  BECAK", "Pedicab driver", "pedicab driver"]
)
def test_category_by_code_or_name_in_either_language(value: str):
    assert valid(category=value).category_id == category_id("becak")


# --- kelurahan -----------------------------------------------------------------------------


def by_names(kelurahan: object, kecamatan: object = "") -> dict[str, object]:
    row = raw_row(kelurahan=kelurahan, kecamatan=kecamatan)
    del row["kelurahan_code"]
    return row


def check(row: dict[str, object]) -> ValidRow | list[RowError]:
    return validate_row(3, row, reference_lookups(), TODAY)


@pytest.mark.parametrize("value", ["33.74.02.1004", "3374021004", 3374021004])
def test_kelurahan_code_with_or_without_dots(value: object):
    assert valid(kelurahan_code=value).kelurahan_code == "33.74.02.1004"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("33.74.99.1001", "Kelurahan code 33.74.99.1001 is not a kelurahan of Kota Semarang."),
        ("3374991001", "Kelurahan code 33.74.99.1001 is not a kelurahan of Kota Semarang."),
        ("33-74-01-1001", "Kelurahan code must look like 33.74.01.1001."),
        ("", "Kelurahan is required"),
    ],
)
def test_bad_kelurahan_code(value: str, message: str):
    assert errors(kelurahan_code=value)["kelurahan_code"].startswith(message)


@pytest.mark.parametrize(
    ("kelurahan", "kecamatan", "code"),
    [
        ("Purwosari", "Semarang Utara", "33.74.02.1004"),
        ("Purwosari", "Mijen", "33.74.14.1005"),
        ("Mangunharjo", "Tembalang", "33.74.10.1003"),
        ("mangunharjo", "kec. tugu", "33.74.16.1007"),
        ("Kelurahan  Purwosari", "Kecamatan Mijen", "33.74.14.1005"),
        ("Kel. Miroto", "", "33.74.01.1001"),
        ("MIROTO", "Semarang Tengah", "33.74.01.1001"),
    ],
)
def test_kelurahan_by_names(kelurahan: str, kecamatan: str, code: str):
    result = check(by_names(kelurahan, kecamatan))
    assert isinstance(result, ValidRow), result
    assert result.kelurahan_code == code


@pytest.mark.parametrize(
    ("kelurahan", "candidates"),
    [
        ("Purwosari", "Kecamatan Semarang Utara / Kecamatan Mijen"),
        ("Mangunharjo", "Kecamatan Tembalang / Kecamatan Tugu"),
    ],
)
def test_ambiguous_kelurahan_without_kecamatan_names_the_candidates(kelurahan, candidates):
    assert check(by_names(kelurahan)) == [
        RowError(
            3,
            "kecamatan",
            _m(
                "There is a Kelurahan '%(kelurahan)s' in %(candidates)s; fill in the kecamatan.",
                kelurahan=kelurahan,
                candidates=candidates,
            ),
        )
    ]


def test_kelurahan_in_the_wrong_kecamatan_names_the_candidates():
    assert check(by_names("Purwosari", "Tembalang")) == [
        RowError(
            3,
            "kecamatan",
            _m(
                "Kelurahan '%(kelurahan)s' is not in Kecamatan '%(kecamatan)s'; it is in "
                "%(candidates)s.",
                kelurahan="Purwosari",
                kecamatan="Tembalang",
                candidates="Kecamatan Semarang Utara / Kecamatan Mijen",
            ),
        )
    ]
    [error] = check(by_names("Purwosari", "Tembalang"))  # type: ignore[misc]
    assert error.message.english() == (
        "Kelurahan 'Purwosari' is not in Kecamatan 'Tembalang'; it is in "
        "Kecamatan Semarang Utara / Kecamatan Mijen."
    )


def test_unknown_kelurahan_name():
    assert check(by_names("Atlantis", "Tugu")) == [
        RowError(
            3,
            "kelurahan",
            _m(
                "Kelurahan '%(kelurahan)s' is not a kelurahan of Kota Semarang.",
                kelurahan="Atlantis",
            ),
        )
    ]


def test_missing_kelurahan_name_is_required():
    [error] = check(by_names("", ""))  # type: ignore[misc]
    assert (error.column, error.message.english()[:21]) == ("kelurahan", "Kelurahan is required")


def test_area_names_normalise_case_spaces_and_prefixes():
    assert {
        normalise_area_name(name)
        for name in [
            "Semarang  Tengah",
            "kecamatan semarang tengah",
            "Kec. Semarang Tengah",
            "Kec.Semarang Tengah",
            " SEMARANG TENGAH ",
        ]
    } == {"semarang tengah"}


# --- Excel damage ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        3.37401150180000e15,  # a float cell: Excel keeps only 15 significant digits
        3374011501800001.0,
        "3.37401E+15",  # what a CSV saved by Excel shows
        "3,37401E+15",  # the same with an Indonesian decimal comma
        "3.374011501800001e15",
        337401150180000,  # 15 digits from a numeric cell
        9007199254740993,  # 16 digits but past 2**53, not exact in Excel
        3374011501800010,  # Excel zeroes the 16th digit, so a final 0 may be a lost digit
    ],
)
def test_nik_converted_to_a_number_by_excel_is_rejected(value: object):
    message = errors(nik=value)["nik"]
    assert message == EXCEL_NIK_MESSAGE.english()
    assert "Excel" in message and "Text" in message


def test_sixteen_digit_integer_below_2_pow_53_is_exact_and_accepted():
    assert valid(nik=3374011501800001).nik == NIK


def test_surrounding_spaces_around_a_nik_are_ignored():
    assert valid(nik=f"  {NIK} ").nik == NIK


@pytest.mark.parametrize(
    ("value", "phone"),
    [
        ("081234567890", "081234567890"),
        ("0812 3456 7890", "081234567890"),
        ("0812.3456.7890", "081234567890"),
        ("+62 812-3456-7890", "081234567890"),
        ("62812345678", "0812345678"),
        (81234567890, "081234567890"),
        (81234567890.0, "081234567890"),
        ("081234567", "081234567"),
    ],
)
def test_phone_numbers_are_normalised(value: object, phone: str):
    assert valid(phone=value).phone == phone


@pytest.mark.parametrize(
    ("value", "kpj"),
    [("12345678", "12345678"), (12345678901, "12345678901"), ("1234567890123", "1234567890123")],
)
def test_kpj_numbers(value: object, kpj: str):
    assert valid(kpj=value).kpj == kpj


@pytest.mark.parametrize("value", ["3", 3, 3.0, "3.0", "03"])
def test_decile_accepts_whole_numbers(value: object):
    assert valid(dtsen_decile=value).dtsen_decile == 3


def test_name_spaces_are_collapsed():
    assert valid(name="  Slamet   Riyadi ").name == "Slamet Riyadi"


# --- duplicates within a file ----------------------------------------------------------


def test_a_nik_seen_twice_in_a_file_keeps_the_first_row():
    seen = SeenNiks()
    assert seen.check(2, NIK) is None
    assert seen.check(3, FEMALE_NIK) is None
    first = _m("This NIK already appears in row %(row)s of this file.", row=2)
    assert seen.check(9, NIK) == RowError(9, "nik", first)
    assert seen.check(12, NIK) == RowError(12, "nik", first)
    assert first.english() == "This NIK already appears in row 2 of this file."


# --- property ----------------------------------------------------------------------------

REAL_TODAY = date.today()  # parse_nik reads the century from the real clock


@settings(max_examples=300, deadline=None)
@given(
    born=st.dates(min_value=date(REAL_TODAY.year - 119, 1, 1), max_value=REAL_TODAY),
    female=st.booleans(),
    region=st.from_regex(r"[1-9][0-9]{5}", fullmatch=True),
    sequence=st.integers(min_value=1, max_value=9999),
    style=st.sampled_from(["%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d", "date"]),
)
def test_built_nik_round_trips_through_validate_row(born, female, region, sequence, style):
    nik = build_nik(region, born, female, sequence)
    birth = born if style == "date" else born.strftime(style)
    raw = raw_row(nik=nik, birth_date=birth, sex="P" if female else "L")
    result = validate_row(2, raw, reference_lookups(), REAL_TODAY)
    assert isinstance(result, ValidRow), result
    assert (result.nik, result.birth_date, result.sex) == (nik, born, "P" if female else "L")
    assert result.in_region == region.startswith("3374")


CELLS = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.from_regex(r"[0-9]{16}", fullmatch=True),
)


@settings(max_examples=300, deadline=None)
@given(raw=st.dictionaries(st.sampled_from(sorted(raw_row()) + ["kelurahan", "kecamatan"]), CELLS))
def test_any_cell_values_give_a_record_or_errors_never_an_exception(raw):
    result = validate_row(2, raw, reference_lookups(), TODAY)
    assert isinstance(result, ValidRow) or (
        result and all(isinstance(error, RowError) and error.message.english() for error in result)
    )


# --- RowValidator: validate_row's answers, faster ------------------------------------------


def test_row_validator_gives_validate_rows_record_and_errors():
    validate = RowValidator(reference_lookups(), TODAY)
    cases = [
        raw_row(),
        raw_row(sex="P"),
        raw_row(birth_date="16/01/1980"),
        raw_row(),
        raw_row(nik=FEMALE_NIK, sex="p"),
        raw_row(nik="3201011501800001"),
        raw_row(nik="3374011501810001"),
        raw_row(nik="3374011501800000"),
        raw_row(nik="3374013102800001"),
        by_names("Purwosari", "Mijen"),
        by_names("Miroto"),
        by_names("Purwosari"),
        raw_row(dtsen_decile="0"),
        raw_row(category="Tukang becak"),
    ]
    for number, raw in enumerate(cases * 2, 2):  # twice: remembered answers must not differ
        assert validate(number, raw) == validate_row(number, raw, reference_lookups(), TODAY)


def test_row_validator_checks_non_text_cells_like_validate_row():
    validate = RowValidator(reference_lookups(), TODAY)
    for raw in [
        raw_row(birth_date=date(1980, 1, 15)),
        raw_row(birth_date=29235.0),
        raw_row(nik=3374011501800001),
        raw_row(kelurahan_code=3374021004),
        raw_row(dtsen_decile=3),
        raw_row(dtsen_decile=None),
        raw_row(phone=None),
        raw_row(dtsen_decile=1),
        raw_row(dtsen_decile=True),
    ]:  # 1 == True as dict keys
        assert validate(4, raw) == validate_row(4, raw, reference_lookups(), TODAY)


def test_row_validator_takes_plain_text_rows_without_validate_row(monkeypatch):
    validate = RowValidator(reference_lookups(), TODAY)
    monkeypatch.setattr(rows, "validate_row", None)  # the quick path must not need it
    for raw in [
        raw_row(),
        raw_row(nik=FEMALE_NIK, sex="Perempuan"),
        by_names("Miroto"),
        raw_row(phone="", kpj="", dtsen_decile="", address=""),
    ]:
        assert isinstance(validate(2, raw), ValidRow)


VARIANTS: dict[str, list[object]] = {
    "nik": [
        NIK,
        FEMALE_NIK,
        "3201011501800001",
        "3374011501810001",
        "3374011501800000",
        "3374013102800001",
        f" {NIK}",
        3374011501800001,
        "3.37401E+15",
    ],
    "name": ["Sri", "", "x" * 121, "  Sri   Wahyuni "],
    "birth_date": [
        "15/01/1980",
        "1980-01-15",
        "15-1-1980",
        "16/01/1980",
        "31/02/1980",
        "",
        "1980-01-15 00:00:00",
        date(1980, 1, 15),
        29235,
    ],
    "sex": ["L", "P", "p", "Perempuan", "laki-laki", "X", ""],
    "category": ["becak", "BECAK", "Tukang becak", "pkl", "astronaut", ""],
    "kelurahan_code": [
        "33.74.01.1001",
        "3374021004",
        "33.74.99.1001",
        "33-74-01-1001",
        "",
        3374021004,
    ],
    "kelurahan": ["Miroto", "Purwosari", "Kel. Miroto", "Atlantis", ""],
    "kecamatan": ["Semarang Tengah", "Mijen", "Tugu", ""],
    "phone": ["0812-3456-7890", "081234567890", "+62 812-3456-7890", "12345", "", 81234567890],
    "kpj": ["", "12345678", "12", 12345678901],
    "dtsen_decile": ["3", "10", "0", "3.0", "03", "", 3],
    "address": ["", "Jl. Pemuda 1", "x" * 501],
}
EDIT = st.sampled_from(sorted(VARIANTS)).flatmap(
    lambda column: st.tuples(st.just(column), st.one_of(st.sampled_from(VARIANTS[column]), CELLS))
)
ROWS = st.lists(st.lists(EDIT, max_size=3).map(dict), min_size=1, max_size=8)


@settings(max_examples=400, deadline=None)
@given(
    edits=ROWS,
    drop=st.sampled_from([(), ("kelurahan_code",), ("phone", "kpj", "address", "dtsen_decile")]),
)
def test_row_validator_always_agrees_with_validate_row(edits, drop):
    validate = RowValidator(reference_lookups(), TODAY)
    for number, changes in enumerate(edits + edits, 2):
        raw = {k: v for k, v in raw_row(**changes).items() if k not in drop or k in changes}
        assert validate(number, raw) == validate_row(number, raw, reference_lookups(), TODAY)
