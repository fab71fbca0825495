"""Claims, city participants and bank statements: the same text rules and limits as rosters
(control characters named by row and column, one encoding per file, capped detail)."""

from __future__ import annotations

from datetime import date

import pytest

from portal import csvtext
from portal.claims.exceptions import InvalidClaimFile
from portal.claims.services import import_claims
from portal.coverage.city_import import import_city_participants
from portal.coverage.exceptions import InvalidCityFile
from portal.messages import Message
from portal.payments.bank_statement import parse_statement
from portal.pledges.pricing import add_months
from portal.workers.nik import build_nik
from tests.claims.files import claim_csv

MONTH = add_months(date.today().replace(day=1), 1)
DAY = f"{date.today().replace(day=1):%d/%m/%Y}"
NIK = build_nik("337401", date(1985, 3, 12), False, 1)
USELESS = "More than half of the first 10000 rows are invalid"


def english(value: object) -> str:
    """A message (or an error's), in English: messages are translated only when shown."""
    if isinstance(value, BaseException):
        value = value.args[0] if value.args else str(value)
    return value.english() if isinstance(value, Message) else str(value)


def test_a_control_character_in_a_claim_file_is_refused_with_row_and_column(actors):
    data = claim_csv((NIK, DAY, "jkk", "1000000", "Jatuh \x00dari tangga"))
    with pytest.raises(InvalidClaimFile, match=r"Row 2, column 'cerita': .*\(U\+0000\)"):
        import_claims(data, actors.staff, dry_run=True)


def test_a_claim_file_in_two_encodings_is_refused_naming_the_line(actors):
    data = claim_csv((NIK, DAY, "jkk", "1000000", "Pak José"))
    data += f"{NIK},{DAY},jkm,2000000,Bu Désirée\r\n".encode("cp1252")
    with pytest.raises(InvalidClaimFile, match=r"Line\(s\) 3 are not CSV text"):
        import_claims(data, actors.staff, dry_run=True)


def test_a_claim_file_keeps_the_first_refusals_and_counts_them_all(actors):
    data = claim_csv(*((f"bad{n}", DAY, "jkk", "1000000", "") for n in range(1_500)))
    report = import_claims(data, actors.staff, dry_run=True)
    assert (report.rows, report.rejected_rows, len(report.rejected)) == (1_500, 1_500, 1_000)
    assert not report.ok and report.as_json()["errors_total"] == 1_500


def test_a_claim_file_of_mostly_invalid_rows_is_refused(actors):
    data = claim_csv(*((f"bad{n}", DAY, "jkk", "1000000", "") for n in range(5_001)))
    with pytest.raises(InvalidClaimFile) as caught:
        import_claims(data, actors.staff, dry_run=True)
    assert english(caught.value).startswith(USELESS)


def test_a_claim_file_over_the_row_limit_is_refused(actors, monkeypatch):
    monkeypatch.setattr(csvtext, "MAX_ROWS", 10)
    monkeypatch.setattr("portal.claims.services.MAX_ROWS", 10)
    data = claim_csv(*((NIK, DAY, "jkk", str(1000 + n), "") for n in range(11)))
    with pytest.raises(InvalidClaimFile, match="more than 10 rows"):
        import_claims(data, actors.staff, dry_run=True)


def test_a_control_character_in_a_city_file_is_refused_with_row_and_column(actors):
    data = f"nik,nama\r\n{NIK},A\r\n{NIK[:8]}\x1b{NIK[9:]},B\r\n".encode()
    with pytest.raises(InvalidCityFile, match=r"Row 3, column 'nik': .*\(U\+001B\)"):
        import_city_participants(data, "apbd", MONTH, 1, actors.staff, dry_run=True)


def test_a_city_file_in_two_encodings_is_refused_naming_the_line(actors):
    data = f"nik,nama\r\n{NIK},José\r\n".encode() + f"{NIK},Désirée\r\n".encode("cp1252")
    with pytest.raises(InvalidCityFile, match=r"Line\(s\) 3 are not CSV text"):
        import_city_participants(data, "apbd", MONTH, 1, actors.staff, dry_run=True)


def test_a_city_file_keeps_the_first_refusals_and_counts_them_all(actors):
    data = ("nik\r\n" + "".join(f"bad{n}\r\n" for n in range(1_200))).encode()
    report = import_city_participants(data, "apbd", MONTH, 1, actors.staff, dry_run=True)
    assert (report.rows, report.refused, len(report.rejected)) == (1_200, 1_200, 1_000)
    assert not report.ok
    with pytest.raises(InvalidCityFile) as caught:
        data = ("nik\r\n" + "".join(f"bad{n}\r\n" for n in range(5_001))).encode()
        import_city_participants(data, "apbd", MONTH, 1, actors.staff, dry_run=True)
    assert english(caught.value).startswith(USELESS)


STATEMENT = "Tanggal,Keterangan,Jumlah\r\n"


def test_a_statement_row_with_a_control_character_is_an_error_naming_the_column():
    parsed = parse_statement(
        (STATEMENT + "05/11/2026,TRF\x00 PJS-202611-7F3A9C,1.000\r\n").encode()
    )
    assert parsed.lines == []
    [error] = parsed.errors
    assert error.row == 2
    assert english(error.message).startswith(
        "Keterangan: the value contains a control character (U+0000)"
    )


def test_a_statement_row_in_another_encoding_is_an_error_not_a_guess():
    data = (STATEMENT + "05/11/2026,Café PJS-202611-7F3A9C,1.000\r\n").encode()
    data += "06/11/2026,Désirée PJS-202611-00BEEF,2.000\r\n".encode("cp1252")
    parsed = parse_statement(data)
    assert [line.description for line in parsed.lines] == ["Café PJS-202611-7F3A9C"]
    assert [error.row for error in parsed.errors] == [3]
    assert "same text encoding" in english(parsed.errors[0].message)


def test_a_statement_lists_the_first_errors_and_notes_and_counts_the_rest():
    rows = "".join(f"31/02/2026,TRF {n},1.000\r\n" for n in range(1_500))
    rows += "".join(f"05/11/2026,BIAYA {n},-1.000\r\n" for n in range(1_200))
    parsed = parse_statement((STATEMENT + rows).encode())
    assert len(parsed.errors) == 1_001 and len(parsed.notes) == 1_001
    assert (
        english(parsed.errors[-1].message) == "500 more rows like these from here on (not listed)"
    )
    assert parsed.errors[-1].row == 1_002
    assert english(parsed.notes[-1].message) == "200 more rows like these from here on (not listed)"


def test_a_statement_over_the_limits_is_one_error(monkeypatch):
    monkeypatch.setattr(csvtext, "MAX_LINES", 5)
    parsed = parse_statement((STATEMENT + "05/11/2026,TRF,1.000\r\n" * 5).encode())
    assert [(e.row, english(e.message)) for e in parsed.errors] == [
        (1, "The file has more than 5 lines; split it into smaller files.")
    ]
