"""Read worker rosters (CSV or XLSX) from kelurahan offices into raw rows with canonical keys."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any, Literal

import openpyxl
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from portal.csvtext import (
    MAX_ROWS,
    CsvUpload,
    Record,
    Source,
    UploadError,
    check_header,
    chunks_of,
    filled,
    head,
    open_csv,
    too_many_rows,
)
from portal.messages import Message, _m
from portal.workers.xlsx import MAX_RATIO, MAX_UNCOMPRESSED, check_zip, open_first_sheet

if not openpyxl.DEFUSEDXML:  # openpyxl parses untrusted XML; refuse to run without defusedxml
    raise ImportError("defusedxml must be installed so that XLSX rosters are parsed safely.")

MAC_1904_SHIFT = 1462  # days between Excel's 1900 and 1904 date systems
# The key a raw row carries when its line did not decode like the rest of the file: the row
# is refused as a whole (rows.py), its letters never guessed.
UNDECODABLE = "_undecodable"

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
    """The file cannot be read as a roster; `message` says why and what to do (a Message, so
    that a job stores it as data and the page shows it in the reader's language)."""

    def __init__(self, message: Message | str) -> None:
        super().__init__(message)
        self.message = message


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
    def warnings(self) -> list[Message]:
        return [
            _m("The column '%(name)s' is not recognised and was ignored.", name=name)
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
    source: Source,
    filename: str,
    *,
    max_uncompressed: int = MAX_UNCOMPRESSED,
    max_ratio: float = MAX_RATIO,
) -> RosterFile:
    """Open a roster (bytes, a binary stream, or a function giving its chunks), telling CSV
    from XLSX by content. Raises RosterFormatError."""
    suffix = PurePosixPath(filename.lower()).suffix
    chunks = chunks_of(source)
    start = head(chunks, _SNIFF)
    if not start:
        raise RosterFormatError(_m("The file is empty."))
    try:
        if start.startswith(b"PK\x03\x04"):
            return _open_workbook(b"".join(chunks()), filename, suffix, max_uncompressed, max_ratio)
        _refuse_known_binary(start)
        _refuse_non_csv_text(_sample(start), filename, suffix)
        return _read_csv(open_csv(chunks))
    except UploadError as error:
        raise RosterFormatError(error.message) from None


# --- telling formats apart ---------------------------------------------------------------


def _open_workbook(
    data: bytes, filename: str, suffix: str, max_uncompressed: int, max_ratio: float
) -> RosterFile:
    try:
        names = check_zip(data, max_uncompressed, max_ratio)
    except UploadError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError):
        raise RosterFormatError(
            _m("The file looks like a ZIP or Excel file but is damaged.")
        ) from None
    if "xl/workbook.xml" not in names:
        if "content.xml" in names:
            raise RosterFormatError(
                _m(
                    "The file is a ZIP archive, an OpenDocument spreadsheet (.ods); save it as "
                    ".xlsx or CSV."
                )
            )
        raise RosterFormatError(_m("The file is a ZIP archive, not an Excel workbook (.xlsx)."))
    if suffix in _TEXT_SUFFIXES:
        raise RosterFormatError(
            _m(
                "The file is named '%(filename)s' but it is an Excel workbook, not a CSV file. "
                "Rename it to .xlsx, or save it from Excel as CSV.",
                filename=filename,
            )
        )
    return _read_xlsx(data)


def _refuse_known_binary(data: bytes) -> None:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterFormatError(
            _m(
                "This is an old-style Excel .xls file (or another Office document). Open it in "
                "Excel and save it as .xlsx or CSV."
            )
        )
    if data.startswith(b"%PDF"):
        raise RosterFormatError(_m("This is a PDF file. Send the roster as CSV or .xlsx."))


def _sample(start: bytes) -> str:
    """The first bytes as text, to tell text from binary files (the encoding is chosen later,
    from the whole file)."""
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        return start.decode("utf-16", "replace")
    return start.decode("utf-8", "replace")


def _refuse_non_csv_text(sample: str, filename: str, suffix: str) -> None:
    if "\x00" in sample or len(_CONTROL_CHARS.findall(sample)) > len(sample) // 100:
        raise RosterFormatError(_m("The file is neither an Excel workbook nor a CSV text file."))
    if sample.lstrip().startswith("<"):
        raise RosterFormatError(
            _m(
                "The file is a web page (HTML) or XML, not a CSV or Excel file; some systems "
                "export HTML under an Excel name. Open it in Excel and save it as .xlsx or CSV."
            )
        )
    if suffix in _EXCEL_SUFFIXES:
        raise RosterFormatError(
            _m(
                "The file is named '%(filename)s' but it is a text (CSV) file, not an Excel "
                "workbook. Rename it to .csv, or save it from Excel as .xlsx.",
                filename=filename,
            )
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
                _m(
                    "The column %(column)s appears more than once (as '%(first)s' and "
                    "'%(second)s'). Keep only one of them.",
                    column=COLUMN_LABELS[key],
                    first=labels[key],
                    second=label,
                )
            )
        else:
            positions[key], labels[key] = index, label
    _check_required(positions, labels)
    return _Header(tuple(positions), tuple(positions.values()), tuple(ignored))


def _check_required(positions: dict[str, int], labels: dict[str, str]) -> None:
    missing = ", ".join(COLUMN_LABELS[key] for key in REQUIRED_COLUMNS if key not in positions)
    found = ", ".join(labels.values()) or "–"
    area = "kelurahan_code" not in positions and (
        "kelurahan" not in positions or "kecamatan" not in positions
    )
    if not area:
        if missing:
            raise RosterFormatError(
                _m(
                    "The file is missing required columns: %(missing)s. Recognised columns "
                    "found: %(found)s.",
                    missing=missing,
                    found=found,
                )
            )
        return
    if "kelurahan" not in positions:
        if missing:
            raise RosterFormatError(
                _m(
                    "The file is missing required columns: %(missing)s, "
                    "kode_kelurahan/kelurahan_code (or kelurahan and kecamatan). Recognised "
                    "columns found: %(found)s.",
                    missing=missing,
                    found=found,
                )
            )
        raise RosterFormatError(
            _m(
                "The file is missing required columns: kode_kelurahan/kelurahan_code (or "
                "kelurahan and kecamatan). Recognised columns found: %(found)s.",
                found=found,
            )
        )
    if missing:
        raise RosterFormatError(
            _m(
                "The file is missing required columns: %(missing)s, kecamatan (or "
                "kode_kelurahan/kelurahan_code). Recognised columns found: %(found)s.",
                missing=missing,
                found=found,
            )
        )
    raise RosterFormatError(
        _m(
            "The file is missing required columns: kecamatan (or kode_kelurahan/kelurahan_code). "
            "Recognised columns found: %(found)s.",
            found=found,
        )
    )


# --- CSV ---------------------------------------------------------------------------------


def _read_csv(upload: CsvUpload) -> RosterFile:
    records = upload.records()
    cells = _first_filled_csv(records)
    check_header(list(cells))
    header = _map_header(cells)
    return RosterFile("csv", header.keys, header.ignored, _csv_rows(records, header))


def _first_filled_csv(records: Iterator[Record]) -> list[str]:
    for record in records:
        if filled(record.cells):
            return record.cells
    raise RosterFormatError(_m("The file is empty."))


def _csv_rows(records: Iterator[Record], header: _Header) -> Iterator[RawRow]:
    keys, pick, width = header.keys, header.pick, header.width
    padding = [""] * width
    count = 0
    try:
        for number, cells, undecodable in records:
            if len(cells) < width:
                cells += padding[len(cells) :]
            values = list(map(str.strip, pick(cells)))
            if any(values):
                count += 1
                if count > MAX_ROWS:
                    raise too_many_rows()
                raw: dict[str, object] = dict(zip(keys, values, strict=True))
                if undecodable:
                    raw[UNDECODABLE] = True
                yield number, raw
    except UploadError as error:
        raise RosterFormatError(error.message) from None


# --- XLSX --------------------------------------------------------------------------------


def _read_xlsx(data: bytes) -> RosterFile:
    try:
        sheet = open_first_sheet(data)
    except UploadError:
        raise
    except Exception as exc:  # openpyxl raises many types for malformed files
        raise RosterFormatError(_m("The Excel file could not be read; it may be damaged.")) from exc
    try:
        rows = sheet.rows()
        header_row, cells = _first_filled_xlsx(rows)
        check_header(cells)
        header = _map_header(cells)
        sheet.width = header.width
    except BaseException:
        sheet.close()
        raise
    shift = MAC_1904_SHIFT if sheet.epoch == CALENDAR_MAC_1904 else 0
    return RosterFile(
        "xlsx", header.keys, header.ignored, _xlsx_rows(rows, header, shift), sheet.close
    )


def _first_filled_xlsx(
    rows: Iterator[tuple[int, dict[int, object]]],
) -> tuple[int, list[object]]:
    for number, cells in rows:
        if any(value is not None and str(value).strip() for value in cells.values()):
            return number, [cells.get(column) for column in range(1, max(cells) + 1)]
    raise RosterFormatError(_m("The first sheet of the Excel file is empty."))


def _xlsx_rows(
    rows: Iterator[tuple[int, dict[int, object]]], header: _Header, serial_shift: int
) -> Iterator[RawRow]:
    keys = header.keys
    columns = [position + 1 for position in header.positions]
    date_index = keys.index("birth_date") if serial_shift else -1
    count = 0
    try:
        for number, cells in rows:
            values = [_trimmed(cells.get(column)) for column in columns]
            if not any(v is not None and v != "" for v in values):
                continue
            count += 1
            if count > MAX_ROWS:
                raise too_many_rows()
            if date_index >= 0 and type(values[date_index]) in (int, float):
                values[date_index] += serial_shift  # type: ignore[operator]
            yield number, dict(zip(keys, values, strict=True))
    except UploadError as error:
        raise RosterFormatError(error.message) from None


def _trimmed(value: object) -> object:
    return value.strip() if type(value) is str else value
