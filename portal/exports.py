"""CSV and XLSX exports that spreadsheet programs cannot turn into formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_FORMAT = "@"  # Excel's "Text" number format: the cell is never read as a number


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would read as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]], delimiter: str = ",") -> bytes:
    """UTF-8 with BOM (Excel opens it with the right characters), formulas escaped."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    title: str,
    text_columns: Collection[str] = (),
) -> bytes:
    """A one-sheet workbook (write-only, so large exports stay small in memory).

    The columns named in text_columns (NIKs, phone numbers) are written as strings in the
    Text number format, so a spreadsheet keeps all 16 digits and the leading zeros.
    """
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append(list(header))
    as_text = {index for index, name in enumerate(header) if name in text_columns}
    for row in rows:
        sheet.append([_cell(sheet, index in as_text, value) for index, value in enumerate(row)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(sheet: WriteOnlyWorksheet, as_text: bool, value: Any) -> Any:
    value = safe_cell(value)
    if not as_text:
        return value
    cell = WriteOnlyCell(sheet, value=str(value))
    cell.number_format = TEXT_FORMAT
    return cell
