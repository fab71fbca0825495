"""Read worker rosters (CSV or XLSX) from kelurahan offices into raw rows with canonical keys."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import PurePosixPath
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import openpyxl
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

if not openpyxl.DEFUSEDXML:  # openpyxl parses untrusted XML; refuse to run without defusedxml
    raise ImportError("defusedxml must be installed so that XLSX rosters are parsed safely.")

MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 200
MAC_1904_SHIFT = 1462  # days between Excel's 1900 and 1904 date systems

RawRow = tuple[int, dict[str, object]]

COLUMN_ALIASES = {
    "nik": "nik",
    "nama": "name",
    "name": "name",
    "tanggal_lahir": "birth_date",
    "birth_date": "birth_date",
    "jenis_kelamin": "sex",
    "sex": "sex",
    "kategori": "category",
    "category": "category",
    "kode_kelurahan": "kelurahan_code",
    "kelurahan_code": "kelurahan_code",
    "kelurahan": "kelurahan",
    "kecamatan": "kecamatan",
    "no_hp": "phone",
    "phone": "phone",
    "no_kpj": "kpj",
    "kpj": "kpj",
    "alamat": "address",
    "address": "address",
    "desil": "dtsen_decile",
    "dtsen_decile": "dtsen_decile",
}
# How each canonical column is named in messages: the Indonesian header, then the English one.
COLUMN_LABELS = {
    "nik": "nik",
    "name": "nama/name",
    "birth_date": "tanggal_lahir/birth_date",
    "sex": "jenis_kelamin/sex",
    "category": "kategori/category",
    "kelurahan_code": "kode_kelurahan/kelurahan_code",
    "kelurahan": "kelurahan",
    "kecamatan": "kecamatan",
    "phone": "no_hp/phone",
    "kpj": "no_kpj/kpj",
    "address": "alamat/address",
    "dtsen_decile": "desil/dtsen_decile",
}
REQUIRED_COLUMNS = ("nik", "name", "birth_date", "sex", "category")

_HEADER_JUNK = re.compile(r"[\s\-]+")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TEXT_SUFFIXES = {".csv", ".txt"}
_EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
_SNIFF = 8192


class RosterFormatError(ValueError):
    """The file cannot be read as a roster; the message says why and what to do."""


@dataclass(frozen=True)
class _Header:
    """Where the known columns sit in a header row."""

    keys: tuple[str, ...]
    positions: tuple[int, ...]
    ignored: tuple[str, ...]

    @property
    def width(self) -> int:
        return max(self.positions) + 1

    @property
    def pick(self) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
        return itemgetter(*self.positions)


@dataclass
class RosterFile:
    """A roster being read: its columns, and its rows as (row number, raw values) pairs.

    Iterate it once; rows are produced one at a time, blank rows skipped, and iterating may
    still raise RosterFormatError for damage found further into the file. Row numbers are file
    lines (CSV) or sheet rows (XLSX), the header being row 1. Use it as a context manager, or
    call close(), so an XLSX workbook is released.
    """

    kind: Literal["csv", "xlsx"]
    columns: tuple[str, ...]
    ignored_columns: tuple[str, ...]
    _rows: Iterator[RawRow] = field(repr=False)
    _close: Callable[[], None] = field(repr=False, default=lambda: None)

    @property
    def warnings(self) -> list[str]:
        return [
            f"The column '{name}' is not recognised and was ignored."
            for name in self.ignored_columns
        ]

    def __iter__(self) -> Iterator[RawRow]:
        return self._rows

    def close(self) -> None:
        self._close()

    def __enter__(self) -> RosterFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def read_roster(
    data: bytes,
    filename: str,
    *,
    max_uncompressed: int = MAX_UNCOMPRESSED,
    max_ratio: float = MAX_RATIO,
) -> RosterFile:
    """Open a roster, telling CSV from XLSX by content. Raises RosterFormatError."""
    suffix = PurePosixPath(filename.lower()).suffix
    if not data or data.isspace():
        raise RosterFormatError("The file is empty.")
    if data.startswith(b"PK\x03\x04"):
        _check_workbook_zip(data, max_uncompressed, max_ratio)
        if suffix in _TEXT_SUFFIXES:
            raise RosterFormatError(
                f"The file is named '{filename}' but it is an Excel workbook, not a CSV file. "
                "Rename it to .xlsx, or save it from Excel as CSV."
            )
        return _read_xlsx(data)
    _refuse_known_binary(data)
    text = _decode(data)
    _refuse_non_csv_text(text, filename, suffix)
    return _read_csv(text)


# --- telling formats apart ---------------------------------------------------------------


def _check_workbook_zip(data: bytes, max_uncompressed: int, max_ratio: float) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise RosterFormatError("The file looks like a ZIP or Excel file but is damaged.") from None
    with archive:
        names = set(archive.namelist())
        if "xl/workbook.xml" not in names:
            kind = (
                "an OpenDocument spreadsheet (.ods); save it as .xlsx or CSV"
                if "content.xml" in names
                else "not an Excel workbook (.xlsx)"
            )
            raise RosterFormatError(f"The file is a ZIP archive, {kind}.")
        _check_zip_limits(archive, max_uncompressed, max_ratio)


def _check_zip_limits(archive: zipfile.ZipFile, max_uncompressed: int, max_ratio: float) -> None:
    """Refuse decompression bombs before any XML is parsed (sizes are enforced on read)."""
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if info.file_size > max_ratio * max(info.compress_size, 1):
            raise RosterFormatError(
                f"The Excel file was refused: its part '{info.filename}' expands more than "
                f"{max_ratio:g} times when unpacked, which is how 'zip bombs' attack servers."
            )
    if total > max_uncompressed:
        raise RosterFormatError(
            f"The Excel file was refused: unpacked it would be {total // 2**20} MB, more than "
            f"the limit of {max_uncompressed // 2**20} MB. Split the roster into smaller files."
        )


def _refuse_known_binary(data: bytes) -> None:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterFormatError(
            "This is an old-style Excel .xls file (or another Office "
            "document). Open it in Excel and save it as .xlsx or CSV."
        )
    if data.startswith(b"%PDF"):
        raise RosterFormatError("This is a PDF file. Send the roster as CSV or .xlsx.")


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings: tuple[str, ...] = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "cp1252")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterFormatError(
        "The file is neither an Excel workbook nor a CSV text file "
        "(it is not UTF-8 or Windows-1252 text)."
    )


def _refuse_non_csv_text(text: str, filename: str, suffix: str) -> None:
    sample = text[:_SNIFF]
    if "\x00" in sample or len(_CONTROL_CHARS.findall(sample)) > len(sample) // 100:
        raise RosterFormatError("The file is neither an Excel workbook nor a CSV text file.")
    if sample.lstrip().startswith("<"):
        raise RosterFormatError(
            "The file is a web page (HTML) or XML, not a CSV or Excel file; some systems export "
            "HTML under an Excel name. Open it in Excel and save it as .xlsx or CSV."
        )
    if suffix in _EXCEL_SUFFIXES:
        raise RosterFormatError(
            f"The file is named '{filename}' but it is a text (CSV) file, not an Excel "
            "workbook. Rename it to .csv, or save it from Excel as .xlsx."
        )


# --- headers -----------------------------------------------------------------------------


def _map_header(cells: Sequence[object]) -> _Header:
    """Match header cells to canonical columns. Raises RosterFormatError."""
    positions: dict[str, int] = {}
    labels: dict[str, str] = {}
    ignored: list[str] = []
    for index, cell in enumerate(cells):
        label = "" if cell is None else str(cell).strip()
        key = COLUMN_ALIASES.get(_HEADER_JUNK.sub("_", label.casefold()))
        if key is None:
            if label:
                ignored.append(label)
        elif key in positions:
            raise RosterFormatError(
                f"The column {COLUMN_LABELS[key]} appears more than once (as '{labels[key]}' "
                f"and '{label}'). Keep only one of them."
            )
        else:
            positions[key], labels[key] = index, label
    _check_required(positions, labels)
    return _Header(tuple(positions), tuple(positions.values()), tuple(ignored))


def _check_required(positions: dict[str, int], labels: dict[str, str]) -> None:
    missing = [COLUMN_LABELS[key] for key in REQUIRED_COLUMNS if key not in positions]
    if "kelurahan_code" not in positions:
        if "kelurahan" not in positions:
            missing.append("kode_kelurahan/kelurahan_code (or kelurahan and kecamatan)")
        elif "kecamatan" not in positions:
            missing.append("kecamatan (or kode_kelurahan/kelurahan_code)")
    if missing:
        found = ", ".join(labels.values()) or "none"
        raise RosterFormatError(
            f"The file is missing required columns: {', '.join(missing)}. "
            f"Recognised columns found: {found}."
        )


# --- CSV ---------------------------------------------------------------------------------


def _read_csv(text: str) -> RosterFile:
    header_line = next((line for line in io.StringIO(text, newline="") if line.strip()), "")
    delimiter = max((",", ";", "\t"), key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = _map_header(_first_filled_csv(reader))
    except csv.Error as exc:
        raise RosterFormatError(f"The header could not be read as CSV: {exc}.") from exc
    return RosterFile("csv", header.keys, header.ignored, _csv_rows(reader, header))


def _first_filled_csv(reader: Iterator[list[str]]) -> list[str]:
    for cells in reader:
        if any(cell.strip() for cell in cells):
            return cells
    raise RosterFormatError("The file is empty.")


def _csv_rows(reader: CsvReader, header: _Header) -> Iterator[RawRow]:
    keys, pick, width = header.keys, header.pick, header.width
    padding = [""] * width
    line = reader.line_num
    try:
        for cells in reader:
            row_number, line = line + 1, reader.line_num
            if len(cells) < width:
                cells += padding[len(cells) :]
            values = list(map(str.strip, pick(cells)))
            if any(values):
                yield row_number, dict(zip(keys, values, strict=True))
    except csv.Error as exc:
        raise RosterFormatError(f"Line {line + 1} could not be read as CSV: {exc}.") from exc


# --- XLSX --------------------------------------------------------------------------------


def _read_xlsx(data: bytes) -> RosterFile:
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for malformed files
        raise RosterFormatError("The Excel file could not be read; it may be damaged.") from exc
    try:
        return _open_first_sheet(book)
    except BaseException:
        book.close()
        raise


def _open_first_sheet(book: openpyxl.Workbook) -> RosterFile:
    if not book.worksheets:
        raise RosterFormatError("The Excel file has no worksheet.")
    sheet = book.worksheets[0]
    sheet.reset_dimensions()  # stored dimensions are often wrong; read every row present
    header_row, cells = _first_filled_xlsx(sheet)
    header = _map_header(cells)
    rows = sheet.iter_rows(min_row=header_row + 1, max_col=header.width, values_only=True)
    shift = MAC_1904_SHIFT if book.epoch == CALENDAR_MAC_1904 else 0
    return RosterFile(
        "xlsx",
        header.keys,
        header.ignored,
        _xlsx_rows(rows, header, header_row + 1, shift),
        book.close,
    )


def _first_filled_xlsx(sheet: ReadOnlyWorksheet) -> tuple[int, tuple[object, ...]]:
    rows = sheet.iter_rows(min_row=1, values_only=True)
    try:
        for number, cells in enumerate(rows, 1):
            if any(cell is not None and str(cell).strip() for cell in cells):
                return number, cells
    except Exception as exc:  # malformed sheet XML surfaces while iterating
        raise RosterFormatError("The Excel sheet could not be read; it may be damaged.") from exc
    finally:
        rows.close()
    raise RosterFormatError("The first sheet of the Excel file is empty.")


def _xlsx_rows(
    rows: Iterator[tuple[object, ...]], header: _Header, first: int, serial_shift: int
) -> Iterator[RawRow]:
    keys, pick = header.keys, header.pick
    date_index = keys.index("birth_date") if serial_shift else -1
    number = first - 1
    try:
        for number, cells in enumerate(rows, first):
            values = [v.strip() if type(v) is str else v for v in pick(cells)]
            if not any(v is not None and v != "" for v in values):
                continue
            if date_index >= 0 and type(values[date_index]) in (int, float):
                values[date_index] += serial_shift  # type: ignore[operator]
            yield number, dict(zip(keys, values, strict=True))
    except Exception as exc:  # malformed sheet XML surfaces while iterating
        raise RosterFormatError(
            f"The Excel sheet could not be read after row {number}; it may be damaged."
        ) from exc
