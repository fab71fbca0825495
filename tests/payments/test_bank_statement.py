"""Reading bank statement CSVs and matching their credits to transfer references."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from portal.messages import Message, _m
from portal.payments.bank_statement import (
    REFERENCE_PATTERN,
    MatchOutcome,
    StatementError,
    StatementLine,
    make_transfer_reference,
    match_statement,
    parse_amount,
    parse_statement,
)

REF = "PJS-202611-7F3A9C"
OTHER = "PJS-202611-00BEEF"
HEADER = ["Tanggal", "Keterangan", "Jumlah"]


def _csv(
    *rows: list[str], header: list[str] = HEADER, delimiter: str = ",", encoding: str = "utf-8"
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows([header, *rows])
    return out.getvalue().encode(encoding)


def _line(description: str, amount: int, row: int = 2) -> StatementLine:
    return StatementLine(row, date(2026, 11, 5), description, amount)


def _outcomes(lines: list[StatementLine], expected: dict[str, int]) -> list[tuple]:
    return [(r.reference, r.outcome) for r in match_statement(lines, expected)]


# Reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1.008.000", 1_008_000),
        ("1008000", 1_008_000),
        ("1,008,000.00", 1_008_000),
        ("Rp 1.008.000,00", 1_008_000),
        ("Rp1.008.000", 1_008_000),
        ("IDR 1,008,000", 1_008_000),
        ("1008000,00", 1_008_000),
        ("1008000.00", 1_008_000),
        ("16.800", 16_800),
        ("1.008.000,00 CR", 1_008_000),
    ],
)
def test_each_amount_format_reads_as_whole_rupiah(text, amount):
    assert parse_amount(text) == amount
    parsed = parse_statement(_csv(["05/11/2026", f"TRF {REF}", text]))
    assert [line.amount for line in parsed.lines] == [amount] and not parsed.errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1.008.000,50", "fraction"),
        ("100,5", "fraction"),
        ("1.008.00", "not understood"),
        ("1,008.000", "not understood"),
        ("satu juta", "not understood"),
        ("", "missing"),
    ],
)
def test_fractional_or_unreadable_amounts_are_row_errors(text, message):
    parsed = parse_statement(_csv(["05/11/2026", f"TRF {REF}", text]))
    assert parsed.lines == []
    assert [error.row for error in parsed.errors] == [2]
    assert isinstance(parsed.errors[0].message, Message)  # shown in the reader's language
    assert message in parsed.errors[0].message.english()


def test_semicolon_file_with_bom_and_iso_dates():
    data = (
        b"\xef\xbb\xbf"
        + (
            f"Tanggal;Keterangan;Jumlah\r\n2026-11-05;TRF DARI PT UJI {REF};1.008.000,00\r\n"
        ).encode()
    )
    parsed = parse_statement(data)
    assert parsed.lines == [
        StatementLine(2, date(2026, 11, 5), f"TRF DARI PT UJI {REF}", 1_008_000)
    ]


def test_windows_1252_file_keeps_accented_names():
    data = _csv(
        ["05/11/2026", f"PT Café Ñusantara {REF}", "1.008.000"],
        header=["tanggal", "deskripsi", "nominal"],
        delimiter=";",
        encoding="cp1252",
    )
    parsed = parse_statement(data)
    assert parsed.lines[0].description == f"PT Café Ñusantara {REF}"


def test_english_headers_and_a_bank_preamble():
    data = (
        "Account No,1234567890\r\nPeriod,01/11/2026 - 30/11/2026\r\n\r\n"
        "Date,Description,Credit\r\n"
        f'05/11/2026,"TRANSFER  {REF}   PT UJI","1,008,000.00"\r\n'
    ).encode()
    parsed = parse_statement(data)
    assert parsed.lines == [
        StatementLine(5, date(2026, 11, 5), f"TRANSFER {REF} PT UJI", 1_008_000)
    ]


def test_file_without_the_columns_is_one_error():
    parsed = parse_statement(b"foo,bar\r\n1,2\r\n")
    assert parsed.lines == [] and [error.row for error in parsed.errors] == [1]


def test_debit_rows_are_noted_not_errors():
    data = _csv(
        ["05/11/2026", "BIAYA ADM", "-6.500"],
        ["06/11/2026", "PAJAK", "(1.200)"],
        ["07/11/2026", "TARIK TUNAI", "50.000 DB"],
        ["08/11/2026", f"TRF {REF}", "1.008.000"],
    )
    parsed = parse_statement(data)
    assert [line.row for line in parsed.lines] == [5]
    assert not parsed.errors
    assert [(note.row, note.message) for note in parsed.notes] == [
        (2, _m("Debit ignored.")),
        (3, _m("Debit ignored.")),
        (4, _m("Debit ignored.")),
    ]
    assert str(parsed.notes[0].message) == "Debit ignored."  # English outside a request


def test_rows_with_only_a_debit_column_filled_are_noted():
    data = _csv(
        ["05/11/2026", "BIAYA ADM", "6.500", ""],
        ["06/11/2026", f"TRF {REF}", "", "1.008.000"],
        header=["Tanggal", "Keterangan", "Debit", "Kredit"],
    )
    parsed = parse_statement(data)
    assert [line.amount for line in parsed.lines] == [1_008_000]
    assert [note.row for note in parsed.notes] == [2] and not parsed.errors


def test_bad_date_is_reported_with_its_row_number():
    data = _csv(
        ["05/11/2026", f"TRF {REF}", "1.008.000"],
        ["31/02/2026", f"TRF {OTHER}", "500.000"],
        [],
        ["2026/11/07", "TRF", "500.000"],
    )
    parsed = parse_statement(data)
    assert [line.row for line in parsed.lines] == [2]
    assert [error.row for error in parsed.errors] == [3, 5]
    assert isinstance(parsed.errors[0], StatementError)
    assert isinstance(parsed.errors[0].message, Message)
    assert "Date not understood" in parsed.errors[0].message.english()


# References and matching ---------------------------------------------------------------------


def test_make_transfer_reference_formats_month_and_upper_token():
    assert make_transfer_reference(date(2026, 11, 30), "7f3a9c") == REF
    assert REFERENCE_PATTERN.fullmatch(REF)
    with pytest.raises(ValueError):
        make_transfer_reference(date(2026, 11, 30), "xyz123")


def test_exact_amount_matches():
    assert _outcomes([_line(f"TRF {REF} PT UJI", 1_008_000)], {REF: 1_008_000}) == [
        (REF, MatchOutcome.MATCHED)
    ]


@pytest.mark.parametrize(
    "description",
    [
        "trf pjs-202611-7f3a9c",
        "PJS 202611 7F3A9C",
        "PJS2026117F3A9C",
        "PJS-2026-11-7F3A9C",
        "BAYAR/PJS 2026 11 7F3A9C/PT UJI",
        "TRSF E-BANKING CR 0511/FTSCY PJS_202611_7F3A9C",
    ],
)
def test_reference_variations_a_bank_may_write_still_match(description):
    assert _outcomes([_line(description, 1_008_000)], {REF: 1_008_000}) == [
        (REF, MatchOutcome.MATCHED)
    ]


def test_wrong_amounts_are_flagged_as_under_or_overpaid():
    lines = [_line(f"TRF {REF}", 1_000_000), _line(f"TRF {OTHER}", 600_000, row=3)]
    assert _outcomes(lines, {REF: 1_008_000, OTHER: 500_000}) == [
        (REF, MatchOutcome.UNDERPAID),
        (OTHER, MatchOutcome.OVERPAID),
    ]


def test_lines_without_an_expected_reference_are_unknown():
    lines = [_line("SETORAN TUNAI", 1_008_000), _line(f"TRF {OTHER}", 1_008_000, row=3)]
    assert _outcomes(lines, {REF: 1_008_000}) == [
        (None, MatchOutcome.UNKNOWN_REFERENCE),
        (OTHER, MatchOutcome.UNKNOWN_REFERENCE),
    ]


def test_the_same_reference_twice_flags_the_second_as_duplicate():
    lines = [_line(f"TRF {REF}", 1_008_000), _line(f"TRF ULANG {REF}", 1_008_000, row=3)]
    assert _outcomes(lines, {REF: 1_008_000}) == [
        (REF, MatchOutcome.MATCHED),
        (REF, MatchOutcome.DUPLICATE),
    ]


def test_a_later_line_after_an_underpayment_is_also_a_duplicate():
    lines = [_line(f"TRF {REF}", 8_000), _line(f"TRF {REF}", 1_008_000, row=3)]
    assert _outcomes(lines, {REF: 1_008_000}) == [
        (REF, MatchOutcome.UNDERPAID),
        (REF, MatchOutcome.DUPLICATE),
    ]


def test_expected_reference_is_preferred_when_a_line_quotes_several():
    lines = [_line(f"{OTHER} {REF}", 1_008_000)]
    assert _outcomes(lines, {REF: 1_008_000}) == [(REF, MatchOutcome.MATCHED)]


def test_a_control_character_is_a_row_error_naming_the_column_as_the_file_does():
    data = b"Tanggal;Keterangan;Jumlah\r\n05/11/2026;TRF\x00 PJS-202611-7F3A9C;1.000\r\n"
    parsed = parse_statement(data)
    assert parsed.lines == []
    [error] = parsed.errors
    assert isinstance(error.message, Message) and error.message.params["column"] == "Keterangan"
    assert str(error.message).startswith("Keterangan: the value contains a control character")
