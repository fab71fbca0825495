"""read_roster: CSV flavours, header aliases, XLSX cells, and files that must be refused."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.workers.roster import RosterFile, RosterFormatError, read_roster
from portal.workers.rows import EXCEL_NIK_MESSAGE, RowError, ValidRow, validate_row
from tests.workers import reference_lookups

HEADER = "nik,nama,tanggal_lahir,jenis_kelamin,kategori,kode_kelurahan"
NIK = "3374011501800001"
ROW = f"{NIK},Slamet Riyadi,15/01/1980,L,becak,33.74.01.1001"


def rows(roster: RosterFile) -> list[tuple[int, dict[str, object]]]:
    with roster:
        return list(roster)


def csv_rows(text: str, filename: str = "roster.csv", encoding: str = "utf-8"):
    return rows(read_roster(text.encode(encoding), filename))


def refused(data: bytes, filename: str, **limits: float) -> str:
    with pytest.raises(RosterFormatError) as caught:
        read_roster(data, filename, **limits)  # type: ignore[arg-type]
    return str(caught.value)


# --- CSV ---------------------------------------------------------------------------------


def test_comma_csv_gives_canonical_keys_and_file_row_numbers():
    assert csv_rows(f"{HEADER}\n{ROW}\n") == [
        (
            2,
            {
                "nik": NIK,
                "name": "Slamet Riyadi",
                "birth_date": "15/01/1980",
                "sex": "L",
                "category": "becak",
                "kelurahan_code": "33.74.01.1001",
            },
        )
    ]


def test_semicolon_csv_as_saved_by_indonesian_excel():
    text = f"{HEADER.replace(',', ';')}\r\n{ROW.replace(',', ';')}\r\n"
    [(number, raw)] = csv_rows(text)
    assert (number, raw["name"], raw["kelurahan_code"]) == (2, "Slamet Riyadi", "33.74.01.1001")


def test_semicolon_csv_keeps_commas_inside_values():
    text = f"{HEADER.replace(',', ';')};alamat\n{ROW.replace(',', ';')};Jl. Pemuda 1, RT 02\n"
    assert csv_rows(text)[0][1]["address"] == "Jl. Pemuda 1, RT 02"


def test_utf8_bom_is_ignored():
    data = "\ufeff".encode() + f"{HEADER}\n{ROW}\n".encode()
    assert rows(read_roster(data, "roster.csv"))[0][1]["nik"] == NIK


def test_windows_1252_is_read_when_utf8_fails():
    text = f"{HEADER}\n{ROW.replace('Slamet Riyadi', 'José Désirée')}\n"
    assert csv_rows(text, encoding="cp1252")[0][1]["name"] == "José Désirée"


def test_utf8_names_stay_utf8():
    text = f"{HEADER}\n{ROW.replace('Slamet Riyadi', 'Sulastri Ağ')}\n"
    assert csv_rows(text)[0][1]["name"] == "Sulastri Ağ"


def test_cells_are_trimmed_and_blank_lines_skipped_but_counted():
    text = f"{HEADER}\n  {NIK} , Slamet ,15/01/1980,L,becak,33.74.01.1001\n\n,,,,,\n{ROW}\n"
    found = csv_rows(text)
    assert [number for number, _ in found] == [2, 5]
    assert (found[0][1]["nik"], found[0][1]["name"]) == (NIK, "Slamet")


def test_quoted_value_spanning_lines_keeps_later_row_numbers_right():
    text = f'{HEADER},alamat\n{ROW},"Jl. Pemuda 1\nRT 02"\n{ROW},Jl. Gajahmada\n'
    assert [number for number, _ in csv_rows(text)] == [2, 4]


def test_header_aliases_in_any_order_case_and_spacing():
    header = " Category ;KELURAHAN; Kecamatan ;Sex;Birth_Date;NAME;Nik;Phone;KPJ;Address;Desil"
    values = "becak;Miroto;Semarang Tengah;L;15/01/1980;Slamet;" + NIK + ";0812;123;Jl;3"
    roster = read_roster(f"{header}\n{values}\n".encode(), "roster.csv")
    assert set(roster.columns) == {
        "category",
        "kelurahan",
        "kecamatan",
        "sex",
        "birth_date",
        "name",
        "nik",
        "phone",
        "kpj",
        "address",
        "dtsen_decile",
    }
    assert rows(roster)[0][1]["kecamatan"] == "Semarang Tengah"


@pytest.mark.parametrize(
    "header",
    [
        "NIK,Name,Birth Date,Sex,Category,Kelurahan Code",
        "nik,nama,tanggal lahir,jenis kelamin,kategori,kode kelurahan",
        "nik,nama,tanggal-lahir,jenis-kelamin,kategori,kode-kelurahan",
    ],
)
def test_header_words_may_be_separated_by_spaces_or_dashes(header: str):
    assert csv_rows(f"{header}\n{ROW}\n")[0][1]["birth_date"] == "15/01/1980"


def test_unknown_columns_are_ignored_with_a_warning():
    roster = read_roster(f"No,{HEADER},Keterangan\n1,{ROW},baru\n".encode(), "roster.csv")
    assert roster.ignored_columns == ("No", "Keterangan")
    assert [warning.english() for warning in roster.warnings] == [
        "The column 'No' is not recognised and was ignored.",
        "The column 'Keterangan' is not recognised and was ignored.",
    ]
    assert roster.warnings[0].as_data() == {
        "msgid": "The column '%(name)s' is not recognised and was ignored.",
        "params": {"name": "No"},
    }
    assert "Keterangan" not in rows(roster)[0][1]


def test_missing_required_columns_are_listed():
    message = refused(b"nik,nama,kategori\n1,2,3\n", "roster.csv")
    assert message.startswith(
        "The file is missing required columns: tanggal_lahir/birth_date, "
        "jenis_kelamin/sex, kode_kelurahan/kelurahan_code (or kelurahan "
        "and kecamatan)."
    )
    assert "Recognised columns found: nik, nama, kategori." in message


def test_kelurahan_name_without_kecamatan_column_is_missing_a_column():
    header = HEADER.replace("kode_kelurahan", "kelurahan")
    assert "kecamatan (or kode_kelurahan/kelurahan_code)" in refused(
        f"{header}\n{ROW}\n".encode(), "roster.csv"
    )


def test_duplicate_columns_are_refused():
    message = refused(f"{HEADER},Name\n{ROW},Lagi\n".encode(), "roster.csv")
    assert message == (
        "The column nama/name appears more than once (as 'nama' and 'Name'). Keep only one of them."
    )


def test_header_only_file_has_no_rows():
    assert csv_rows(f"{HEADER}\n") == []


@pytest.mark.parametrize("data", [b"", b"  \n\n"])
def test_empty_file_is_refused(data: bytes):
    assert refused(data, "roster.csv") == "The file is empty."


# --- refusals by content -----------------------------------------------------------------


def workbook_bytes(*rows: list[object], date1904: bool = False) -> bytes:
    book = openpyxl.Workbook()
    book.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904 if date1904 else book.epoch
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_sheet_xml(data: bytes, old: str, new: str) -> bytes:
    """Edit the first sheet's XML, to write cells the way other tools do."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    assert old.encode() in members[sheet]
    members[sheet] = members[sheet].replace(old.encode(), new.encode())
    return zip_bytes(members)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_csv_name_on_an_excel_workbook_is_refused():
    data = workbook_bytes(HEADER.split(","), ROW.split(","))
    assert "named 'roster.csv' but it is an Excel workbook" in refused(data, "roster.csv")


def test_zip_that_is_not_a_workbook_is_refused():
    data = zip_bytes({"roster.csv": f"{HEADER}\n{ROW}\n".encode()})
    message = refused(data, "roster.csv")
    assert message == "The file is a ZIP archive, not an Excel workbook (.xlsx)."
    assert "not an Excel workbook" in refused(data, "roster.xlsx")


def test_opendocument_spreadsheet_is_refused_with_advice():
    data = zip_bytes(
        {
            "mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
            "content.xml": b"<office:document-content/>",
        }
    )
    assert ".ods" in refused(data, "roster.ods")


def test_damaged_zip_is_refused():
    assert "damaged" in refused(b"PK\x03\x04" + b"\x00" * 100, "roster.xlsx")


@pytest.mark.parametrize("filename", ["roster.xlsx", "roster.xls", "roster.csv"])
def test_html_saved_under_an_excel_or_csv_name_is_refused(filename: str):
    html = b"<html><body><table><tr><td>nik</td></tr></table></body></html>"
    assert "web page (HTML)" in refused(html, filename)


def test_xlsx_name_on_a_text_file_is_refused():
    message = refused(f"{HEADER}\n{ROW}\n".encode(), "roster.xlsx")
    assert "named 'roster.xlsx' but it is a text (CSV) file" in message


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 50, "old-style Excel .xls"),
        (b"%PDF-1.7\n...", "PDF"),
        (bytes(range(256)) * 4, "neither an Excel workbook nor a CSV text file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "neither an Excel workbook nor a CSV text file"),
    ],
)
def test_binary_files_are_refused(data: bytes, words: str):
    assert words in refused(data, "roster.csv")


def test_highly_compressible_member_is_refused_as_a_zip_bomb():
    data = zip_bytes({"xl/workbook.xml": b"0" * 2_000_000, "[Content_Types].xml": b"<x/>"})
    message = refused(data, "roster.xlsx")
    assert "'xl/workbook.xml' expands more than 200 times" in message
    assert "zip bomb" in message


def test_total_unpacked_size_over_the_limit_is_refused():
    data = workbook_bytes(HEADER.split(","), ROW.split(","))
    message = refused(data, "roster.xlsx", max_uncompressed=1000)
    assert message.startswith("The Excel file was refused: unpacked it would be")
    assert "Split the roster into smaller files." in message


def test_ratio_limit_can_be_lowered():
    data = workbook_bytes(HEADER.split(","), ROW.split(","))
    assert "expands more than 1.5 times" in refused(data, "roster.xlsx", max_ratio=1.5)
    assert rows(read_roster(data, "roster.xlsx", max_ratio=200))[0][1]["nik"] == NIK


# --- XLSX --------------------------------------------------------------------------------


def test_xlsx_rows_keep_cell_types_and_sheet_row_numbers():
    data = workbook_bytes(
        [" NIK ", "Nama", "Tanggal Lahir", "Jenis Kelamin", "Kategori", "Kode Kelurahan", "No"],
        [NIK, "  Slamet Riyadi ", date(1980, 1, 15), "L", "becak", "33.74.01.1001", 1],
        [None, None, None, None, None, None, 2],
        [NIK, "Slamet", 29235, "L", "becak", 3374011001],
    )
    roster = read_roster(data, "whatever.bin")
    assert (roster.kind, roster.ignored_columns) == ("xlsx", ("No",))
    found = rows(roster)
    assert [number for number, _ in found] == [2, 4]
    first, second = found[0][1], found[1][1]
    assert (first["name"], first["birth_date"].date()) == ("Slamet Riyadi", date(1980, 1, 15))
    assert (second["birth_date"], second["kelurahan_code"]) == (29235, 3374011001)


def test_xlsx_roster_validates_dates_as_cells_and_serials_and_catches_excel_niks():
    female = "3374015501800002"
    data = workbook_bytes(
        ["nik", "name", "birth_date", "sex", "category", "kelurahan", "kecamatan"],
        [NIK, "Slamet", date(1980, 1, 15), "L", "becak", "Purwosari", "Mijen"],
        [female, "Sri", 29235, "P", "Pedicab driver", "Miroto", None],
        [3374011501800001, "Exact", 29235.0, "L", "becak", "Miroto", ""],
        [3.37401e15, "Mangled", date(1980, 1, 15), "L", "becak", "Miroto", ""],
        [3374011501800000, "Truncated", date(1980, 1, 15), "L", "becak", "Miroto", ""],
    )
    data = with_sheet_xml(data, "<v>3374010000000000</v>", "<v>3.37401E+15</v>")
    roster = rows(read_roster(data, "roster.xlsx"))
    assert type(roster[3][1]["nik"]) is float
    results = [
        validate_row(number, raw, reference_lookups(), date(2026, 6, 1)) for number, raw in roster
    ]
    assert [type(result) for result in results[:3]] == [ValidRow, ValidRow, ValidRow]
    assert [row.birth_date for row in results[:3]] == [date(1980, 1, 15)] * 3  # type: ignore[union-attr]
    assert results[0].kelurahan_code == "33.74.14.1005"  # type: ignore[union-attr]
    assert results[3] == [RowError(5, "nik", EXCEL_NIK_MESSAGE)]
    assert results[4] == [RowError(6, "nik", EXCEL_NIK_MESSAGE)]
    assert "Excel" in EXCEL_NIK_MESSAGE.english() and "Text" in EXCEL_NIK_MESSAGE.english()


def test_xlsx_with_1904_dates_shifts_serial_numbers():
    data = workbook_bytes(
        HEADER.split(","),
        [NIK, "Slamet", 29235 - 1462, "L", "becak", "33.74.01.1001"],
        date1904=True,
    )
    assert rows(read_roster(data, "roster.xlsx"))[0][1]["birth_date"] == 29235


def test_xlsx_missing_columns_are_refused():
    data = workbook_bytes(["nik", "nama"], [NIK, "Slamet"])
    assert refused(data, "roster.xlsx").startswith("The file is missing required columns")


def test_xlsx_with_an_empty_first_sheet_is_refused():
    assert refused(workbook_bytes(), "roster.xlsx") == "The first sheet of the Excel file is empty."


def test_xlsx_header_below_blank_rows_numbers_rows_by_the_sheet():
    data = workbook_bytes([], [], HEADER.split(","), ROW.split(","))
    assert [number for number, _ in rows(read_roster(data, "roster.xlsx"))] == [4]


def test_damage_found_while_reading_rows_is_a_format_error():
    data = workbook_bytes(HEADER.split(","), ROW.split(","), ROW.split(","))
    data = with_sheet_xml(data, '<row r="3">', '<row r="3"><c r="A3" t="n"><v>1</c>')
    roster = read_roster(data, "roster.xlsx")
    with roster, pytest.raises(RosterFormatError, match="could not be read after row 2"):
        list(roster)


def test_entity_declarations_in_workbook_xml_are_refused_by_defusedxml():
    data = workbook_bytes(HEADER.split(","), ROW.split(","))
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    workbook = members["xl/workbook.xml"]
    if workbook.startswith(b"<?xml"):
        workbook = workbook.split(b"?>", 1)[1]
    members["xl/workbook.xml"] = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>' + workbook
    with pytest.raises(RosterFormatError, match="could not be read") as caught:
        read_roster(zip_bytes(members), "roster.xlsx")
    chain, error = [], caught.value.__cause__
    while error is not None:
        chain.append(type(error).__module__)
        error = error.__cause__ or error.__context__
    assert any(module.startswith("defusedxml") for module in chain), chain


def test_defusedxml_protects_openpyxl():
    assert openpyxl.DEFUSEDXML is True


@settings(max_examples=200, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        st.binary(max_size=200).map(lambda tail: f"{HEADER}\n".encode() + tail),
        st.binary(max_size=200).map(lambda tail: b"PK\x03\x04" + tail),
    ),
    filename=st.sampled_from(["roster.csv", "roster.xlsx", "roster"]),
)
def test_any_bytes_give_rows_or_a_format_error(data: bytes, filename: str):
    try:
        found = rows(read_roster(data, filename))
    except RosterFormatError as error:
        assert str(error)
    else:
        assert all(isinstance(number, int) and isinstance(raw, dict) for number, raw in found)


CELL_TEXT = st.text(
    st.one_of(st.characters(blacklist_categories=("Cs", "Cc")), st.sampled_from(",;\"' \n\t")),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(
    cells=st.lists(st.lists(CELL_TEXT, min_size=5, max_size=5), min_size=1, max_size=5),
    delimiter=st.sampled_from([",", ";"]),
    bom=st.booleans(),
)
def test_csv_written_by_the_csv_module_reads_back_trimmed(cells, delimiter, bom):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(HEADER.split(","))
    writer.writerows([NIK, *row] for row in cells)
    data = ("\ufeff" if bom else "").encode() + buffer.getvalue().encode()
    found = [list(raw.values()) for _, raw in rows(read_roster(data, "roster.csv"))]
    assert found == [[NIK, *(cell.strip() for cell in row)] for row in cells]
