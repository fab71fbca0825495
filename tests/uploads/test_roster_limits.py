"""Roster files at the limits: control characters and undecodable rows refused by row and
column, nothing stored as mojibake, wide or sparse sheets and string bombs bounded."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import openpyxl
import pytest
from sqlalchemy import select

from bench.uploads import (
    HEADER,
    mixed_encoding_csv,
    nul_after_8k_csv,
    shared_strings_bomb,
    sparse_wide_xlsx,
    tiny_lines_csv,
)
from portal import csvtext
from portal.extensions import db
from portal.messages import Message, _m
from portal.workers import roster as roster_module
from portal.workers import xlsx
from portal.workers.importer import import_roster
from portal.workers.models import Worker
from portal.workers.roster import RosterFormatError, read_roster

TODAY = date(2026, 11, 21)


def _import(data: bytes, name: str = "roster.csv", dry_run: bool = False):  # type: ignore[no-untyped-def]
    return import_roster(
        data, name, dry_run=dry_run, update_existing=False, actor_id=None, today=TODAY
    )


def _names() -> list[str]:
    return list(db.session.scalars(select(Worker.full_name).order_by(Worker.id)))


def test_a_nul_in_a_name_after_8_kb_is_refused_with_row_and_column_and_never_stored():
    data = nul_after_8k_csv(rows=300, at=250)
    assert data.index(b"\x00") > 8192
    report = _import(data)
    assert (report.rows, report.created, report.rejected) == (300, 299, 1)
    [error] = report.errors
    assert (error.row, error.column) == (250, "name")
    assert "control character (U+0000)" in error.message.english()
    names = _names()
    assert len(names) == 299 and not any("\x00" in name for name in names)


def test_control_characters_in_xlsx_cells_are_refused_too():
    book = openpyxl.Workbook()
    book.active.append(HEADER.decode().strip().split(","))
    book.active.append(
        ["3374011203850001", "Slamet \u202eiydaiR", "12/03/1985", "L", "becak", "33.74.01.1001"]
    )
    out = io.BytesIO()
    book.save(out)
    report = _import(out.getvalue(), "roster.xlsx", dry_run=True)
    assert [(e.row, e.column) for e in report.errors] == [(2, "name")]
    assert report.errors[0].message.params == {"character": "U+202E"}


def test_one_windows_1252_line_in_utf8_refuses_that_row_and_keeps_jose_as_jose():
    report = _import(mixed_encoding_csv(rows=50, at=30))
    assert (report.created, report.rejected) == (49, 1)
    [error] = report.errors
    assert (error.row, error.column) == (30, "")
    assert "same text encoding" in error.message.english()
    assert "CSV UTF-8" in error.message.english()
    names = _names()
    assert "José" in names
    assert not any("Ã" in name or "\ufffd" in name for name in names)


def test_a_whole_windows_1252_file_is_still_read_as_windows_1252():
    data = HEADER.decode() + "3374011203850001,José Désirée,12/03/1985,L,becak,33.74.01.1001\r\n"
    _import(data.encode("cp1252"))
    assert _names() == ["José Désirée"]


def test_a_cell_longer_than_the_limit_is_refused_by_its_column():
    long_address = "Jl. " + "x" * 1_200
    data = HEADER.decode().strip() + ",alamat\r\n"
    data += f"3374011203850001,Slamet,12/03/1985,L,becak,33.74.01.1001,{long_address}\r\n"
    report = _import(data.encode(), dry_run=True)
    assert [(e.column, e.message) for e in report.errors] == [
        ("address", _m("The value is longer than %(max)s characters.", max=1_000))
    ]


def test_more_rows_than_the_limit_are_refused(monkeypatch):
    monkeypatch.setattr(roster_module, "MAX_ROWS", 100)
    monkeypatch.setattr(csvtext, "MAX_ROWS", 100)
    with pytest.raises(RosterFormatError, match="more than 100 rows; split it"):
        _import(tiny_lines_csv(101).replace(b"x\n", b"3374011203850001,a\n"), dry_run=True)


def test_more_than_half_of_the_first_rows_invalid_refuses_the_file():
    with pytest.raises(RosterFormatError) as caught:
        _import(tiny_lines_csv(5_001), dry_run=True)
    assert isinstance(caught.value.message, Message)
    assert caught.value.message.msgid.startswith("More than half of the first %(sample)s rows")
    assert caught.value.message.params == {"sample": 10_000}
    report = _import(tiny_lines_csv(5_000), dry_run=True)  # not more than half yet
    assert report.rejected == 5_000 and len(report.errors) == 1_000
    assert report.errors_total == 30_000 and len(report.rejected_rows) == 1_000


def test_a_header_wider_than_the_limit_is_refused_in_csv_and_xlsx():
    wide = HEADER.decode().strip() + "," + ",".join(f"c{n}" for n in range(100)) + "\r\n"
    with pytest.raises(RosterFormatError, match="106 columns; at most 100"):
        read_roster(wide.encode(), "roster.csv")
    book = openpyxl.Workbook()
    book.active.append([*HEADER.decode().strip().split(","), *(f"c{n}" for n in range(100))])
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(RosterFormatError, match="at most 100 are read"):
        read_roster(out.getvalue(), "roster.xlsx")


def test_cells_past_the_header_and_gaps_between_rows_cost_nothing():
    data = sparse_wide_xlsx(2_000, gap=500, filled=True)  # rows up to 1,000,000, XFD cells
    with read_roster(data, "roster.xlsx") as roster:
        rows = list(roster)
    assert len(rows) == 2_000 and rows[-1][0] == 2 + 1_999 * 500
    assert rows[0][1] == {
        "nik": "x",
        "name": None,
        "birth_date": None,
        "sex": None,
        "category": None,
        "kelurahan_code": None,
    }


def test_a_sheet_with_more_elements_or_rows_than_the_limits_is_refused(monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_ELEMENTS", 1_000)
    with pytest.raises(RosterFormatError, match="more than 1000 cells and parts"):
        list(read_roster(sparse_wide_xlsx(2_000, filled=False), "roster.xlsx"))
    monkeypatch.setattr(xlsx, "MAX_ELEMENTS", 10**7)
    monkeypatch.setattr(xlsx, "MAX_LINES", 500)
    with pytest.raises(RosterFormatError, match="more than 500 rows"):
        list(read_roster(sparse_wide_xlsx(2_000, filled=False), "roster.xlsx"))


def test_row_numbers_past_excels_last_row_or_going_back_are_damage():
    data = sparse_wide_xlsx(3, gap=1, filled=True)
    for bad in ("r='1048577'", "r='1'"):
        broken = _edit_sheet(data, "r='3'", bad)
        with pytest.raises(RosterFormatError, match="damaged"):
            list(read_roster(broken, "roster.xlsx"))


def test_shared_strings_over_the_limits_refuse_the_file(monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_SHARED_STRINGS", 1_000)
    with pytest.raises(RosterFormatError, match="more shared text than a roster needs"):
        read_roster(shared_strings_bomb(1_000), "roster.xlsx")
    monkeypatch.setattr(xlsx, "MAX_SHARED_STRINGS", 10**6)
    monkeypatch.setattr(xlsx, "MAX_SHARED_TEXT", 100_000)
    with pytest.raises(RosterFormatError, match="more shared text than a roster needs"):
        read_roster(shared_strings_bomb(20_000), "roster.xlsx")


def test_a_huge_shared_string_is_kept_only_to_the_cell_limit():
    with read_roster(shared_strings_bomb(3, huge=1, rows=2), "roster.xlsx") as roster:
        names = [raw["name"] for _, raw in roster]
    assert [len(str(name)) for name in names] == [csvtext.MAX_CELL_CHARS + 1] * 2


def test_an_oversized_styles_part_is_refused_before_it_is_parsed():
    data = _add_part(sparse_wide_xlsx(1), "xl/styles.xml", b"<a>" + b" " * (9 * 2**20) + b"</a>")
    with pytest.raises(RosterFormatError, match="'xl/styles.xml' is larger than 8 MB"):
        read_roster(data, "roster.xlsx", max_ratio=10**6)


def _edit_sheet(data: bytes, old: str, new: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    members["xl/worksheets/sheet1.xml"] = members["xl/worksheets/sheet1.xml"].replace(
        old.encode(), new.encode()
    )
    return _zip(members)


def _add_part(data: bytes, name: str, content: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = {part: source.read(part) for part in source.namelist()}
    members[name] = content
    return _zip(members)


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, content in members.items():
            archive.writestr(part, content)
    return out.getvalue()
