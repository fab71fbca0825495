"""The first worksheet of an uploaded XLSX file, read in a stream within fixed limits.

openpyxl reads the workbook's small parts (workbook, styles: which cells are dates); the shared
strings and the sheet are parsed here with expat callbacks (through defusedxml), so no XML
tree is built: gaps between row numbers cost nothing, cells past the columns read are never
converted, shared strings are stored compactly and each is cut at MAX_CELL_CHARS + 1, and
counts of elements, rows and cells per row are bounded. Refusals raise UploadError.
"""

from __future__ import annotations

import io
import re
import zipfile
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from defusedxml.ElementTree import DefusedXMLParser
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS

from portal.csvtext import CHUNK, MAX_CELL_CHARS, MAX_COLUMNS, MAX_LINES, UploadError
from portal.messages import _m

MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 200
MAX_XML_PART = 8 * 1024 * 1024  # workbook, styles and the other parts openpyxl parses whole
MAX_ELEMENTS = 8_000_000  # XML elements in the sheet, or in the shared strings
MAX_SHARED_STRINGS = 2_000_000
MAX_SHARED_TEXT = 32 * 1024 * 1024  # bytes of UTF-8 kept for all shared strings together
MAX_EXCEL_ROW = 1_048_576
MAX_EXCEL_COLUMN = 16_384

_NS = f"{{{SHEET_MAIN_NS}}}"
_ROW, _C, _V, _IS, _T, _SI, _RPH = (
    _NS + name for name in ("row", "c", "v", "is", "t", "si", "rPh")
)
_REFERENCE = re.compile(r"([A-Z]{1,3})[0-9]*")


def check_zip(data: bytes, max_uncompressed: int, max_ratio: float) -> set[str]:
    """Refuse decompression bombs before any XML is parsed (sizes are enforced on read);
    returns the names of the parts. Raises UploadError, zipfile.BadZipFile."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > max_ratio * max(info.compress_size, 1):
            raise UploadError(
                _m(
                    "The Excel file was refused: its part '%(part)s' expands more than "
                    "%(ratio)s times when unpacked, which is how 'zip bombs' attack servers.",
                    part=info.filename,
                    ratio=f"{max_ratio:g}",
                )
            )
        if _parsed_whole(info.filename) and info.file_size > MAX_XML_PART:
            raise UploadError(
                _m(
                    "The Excel file was refused: its part '%(part)s' is larger than %(mb)s MB "
                    "unpacked. Save the roster in a new, plain workbook.",
                    part=info.filename,
                    mb=MAX_XML_PART // 2**20,
                )
            )
    if total > max_uncompressed:
        raise UploadError(
            _m(
                "The Excel file was refused: unpacked it would be %(mb)s MB, more than the "
                "limit of %(max)s MB. Split the roster into smaller files.",
                mb=total // 2**20,
                max=max_uncompressed // 2**20,
            )
        )
    return {info.filename for info in infos}


def _parsed_whole(name: str) -> bool:
    lower = name.lower()
    return (
        lower.endswith((".xml", ".rels"))
        and not lower.startswith("xl/worksheets/")
        and "sharedstrings" not in lower
    )


@dataclass
class Sheet:
    """The first worksheet of a workbook; rows() reads it once. Narrow `width` (the columns
    converted) once the header is known; close() releases the archive."""

    archive: zipfile.ZipFile
    path: str
    strings: SharedStrings
    dates: frozenset[int]
    durations: frozenset[int]
    epoch: Any
    width: int = MAX_COLUMNS + 1  # one more, so that a header that is too wide shows
    last_row: int = 0

    def rows(self) -> Iterator[tuple[int, dict[int, object]]]:
        """(row number, column -> value) of each row element, values as openpyxl gives them
        with data_only. Raises UploadError (after the rows read before the damage)."""
        target = _SheetTarget(self)
        parser = DefusedXMLParser(target=target)
        with self.archive.open(self.path) as source:
            while chunk := source.read(CHUNK):
                error = self._feed(parser.feed, chunk)
                yield from target.take()
                if error is not None:
                    raise error
        error = self._feed(lambda _: parser.close(), b"")
        yield from target.take()
        if error is not None:
            raise error

    def _feed(self, feed: Callable[[bytes], object], chunk: bytes) -> UploadError | None:
        try:
            feed(chunk)
        except UploadError as error:
            return error
        except Exception as error:  # expat and defusedxml raise several types
            found = UploadError(
                _m(
                    "The Excel sheet could not be read after row %(row)s; it may be damaged.",
                    row=self.last_row,
                )
            )
            found.__cause__ = error
            return found
        return None

    def close(self) -> None:
        self.archive.close()


def open_first_sheet(data: bytes) -> Sheet:
    """The workbook's first worksheet. Raises UploadError; openpyxl's many errors for a
    malformed workbook pass through (the caller words them)."""
    reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    try:
        reader.read_manifest()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        path = next(
            (
                rel.target
                for _sheet, rel in reader.parser.find_sheets()
                if rel.target in reader.valid_files and "chartsheet" not in rel.Type
            ),
            None,
        )
        if path is None:
            raise UploadError(_m("The Excel file has no worksheet."))
        found = reader.package.find(SHARED_STRINGS)
        strings = _read_strings(reader.archive, found.PartName[1:]) if found else SharedStrings()
    except BaseException:
        reader.archive.close()
        raise
    book = reader.wb
    return Sheet(
        reader.archive,
        path,
        strings,
        frozenset(book._date_formats),
        frozenset(book._timedelta_formats),
        book.epoch,
    )


# --- shared strings ----------------------------------------------------------------------


@dataclass
class SharedStrings:
    """The workbook's shared strings as UTF-8 in one buffer with their end offsets: a few
    bytes per string instead of a Python object each."""

    text: bytearray = field(default_factory=bytearray)
    ends: array[int] = field(default_factory=lambda: array("Q"))

    def add(self, value: str) -> None:
        self.text += value.encode()
        self.ends.append(len(self.text))
        if len(self.ends) > MAX_SHARED_STRINGS or len(self.text) > MAX_SHARED_TEXT:
            raise UploadError(
                _m(
                    "The Excel file was refused: it holds more shared text than a roster needs "
                    "(over %(texts)s texts or %(mb)s MB). Save the roster in a new, plain "
                    "workbook, or as CSV.",
                    texts=MAX_SHARED_STRINGS,
                    mb=MAX_SHARED_TEXT // 2**20,
                )
            )

    def __getitem__(self, index: int) -> str:
        if index < 0:
            raise IndexError(index)
        start = self.ends[index - 1] if index else 0
        return self.text[start : self.ends[index]].decode()

    def __len__(self) -> int:
        return len(self.ends)


def _read_strings(archive: zipfile.ZipFile, path: str) -> SharedStrings:
    target = _StringsTarget()
    parser = DefusedXMLParser(target=target)
    try:
        with archive.open(path) as source:
            while chunk := source.read(CHUNK):
                parser.feed(chunk)
        parser.close()
    except UploadError:
        raise
    except KeyError:
        raise UploadError(_m("The Excel file lacks its shared strings part.")) from None
    except Exception as error:
        raise UploadError(_m("The Excel file's shared strings could not be read.")) from error
    return target.strings


class _Text:
    """The text of <t> elements below one element, skipping phonetic runs, cut at
    MAX_CELL_CHARS + 1 characters (enough to tell that it is too long)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.capture = False
        self.phonetic = 0

    def reset(self) -> None:
        self.parts.clear()
        self.size = 0
        self.capture = False
        self.phonetic = 0

    def add(self, text: str) -> None:
        if self.capture and self.size <= MAX_CELL_CHARS:
            piece = text[: MAX_CELL_CHARS + 1 - self.size]
            self.parts.append(piece)
            self.size += len(piece)

    def value(self) -> str:
        return "".join(self.parts)


class _StringsTarget:
    def __init__(self) -> None:
        self.strings = SharedStrings()
        self.elements = 0
        self.text = _Text()

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise UploadError(_m("The Excel file's shared strings have too many parts to read."))
        if tag == _SI:
            self.text.reset()
        elif tag == _RPH:
            self.text.phonetic += 1
        elif tag == _T and not self.text.phonetic:
            self.text.capture = True

    def end(self, tag: str) -> None:
        if tag == _T:
            self.text.capture = False
        elif tag == _RPH:
            self.text.phonetic -= 1
        elif tag == _SI:
            self.strings.add(self.text.value().replace("x005F_", ""))  # as openpyxl does

    def data(self, text: str) -> None:
        self.text.add(text)

    def close(self) -> None:
        return None


# --- the sheet ---------------------------------------------------------------------------


class _SheetTarget:
    """Expat callbacks for a worksheet: each finished row's converted cells, up to the
    sheet's width; nothing else is kept."""

    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet
        self.done: list[tuple[int, dict[int, object]]] = []
        self.elements = self.rows = 0
        self.row = self.column = self.row_cells = 0
        self.cells: dict[int, object] = {}
        self.cell: tuple[str, int] | None = None  # (type, style) of a cell being read
        self.inline = False
        self.text = _Text()

    def take(self) -> list[tuple[int, dict[int, object]]]:
        done, self.done = self.done, []
        return done

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise UploadError(
                _m(
                    "The Excel sheet has more than %(max)s cells and parts; delete the unused "
                    "rows and columns, or split the roster into smaller files.",
                    max=MAX_ELEMENTS,
                )
            )
        if tag == _C:
            self._start_cell(attrib)
        elif tag == _V and self.cell is not None:
            self.text.capture = True
        elif tag == _IS:
            self.inline = True
        elif tag == _RPH:
            self.text.phonetic += 1
        elif tag == _T and self.inline and not self.text.phonetic and self.cell is not None:
            self.text.capture = True
        elif tag == _ROW:
            self._start_row(attrib.get("r"))

    def end(self, tag: str) -> None:
        if tag in (_V, _T):
            self.text.capture = False
        elif tag == _IS:
            self.inline = False
        elif tag == _RPH:
            self.text.phonetic -= 1
        elif tag == _C:
            if self.cell is not None:
                value = self._value(*self.cell)
                if value is not None:
                    self.cells[self.column] = value
            self.cell = None
        elif tag == _ROW:
            self.done.append((self.row, self.cells))
            self.sheet.last_row = self.row

    def data(self, text: str) -> None:
        self.text.add(text)

    def close(self) -> None:
        return None

    def _start_row(self, reference: str | None) -> None:
        self.rows += 1
        if self.rows > MAX_LINES:
            raise UploadError(
                _m(
                    "The Excel sheet has more than %(max)s rows; split it into smaller files.",
                    max=MAX_LINES,
                )
            )
        number = self.row + 1 if reference is None else _whole(reference)
        if not self.row < number <= MAX_EXCEL_ROW:
            raise UploadError(
                _m(
                    "The Excel sheet is damaged: a row after row %(row)s is numbered %(number)s.",
                    row=self.row,
                    number=reference,
                )
            )
        self.row, self.column, self.row_cells, self.cells = number, 0, 0, {}

    def _start_cell(self, attrib: dict[str, str]) -> None:
        self.row_cells += 1
        reference = attrib.get("r")
        column = self.column + 1 if reference is None else _column(reference)
        if self.row_cells > MAX_EXCEL_COLUMN or not 0 < column <= MAX_EXCEL_COLUMN:
            raise UploadError(
                _m(
                    "The Excel sheet is damaged: row %(row)s has cells past the last column.",
                    row=self.row,
                )
            )
        self.column = column
        self.text.reset()
        if column <= self.sheet.width:
            style = attrib.get("s")
            self.cell = (attrib.get("t", "n"), _whole(style) if style else 0)

    def _value(self, kind: str, style: int) -> object:
        """The cell's value as openpyxl's reader gives it (data_only: formulas' results)."""
        if not self.text.parts:
            return None
        try:
            return _converted(self.sheet, kind, style, self.text.value())
        except (ValueError, IndexError, OverflowError):
            raise UploadError(
                _m(
                    "The Excel sheet is damaged: the cell in row %(row)s, column %(column)s "
                    "does not hold a value of its type (%(kind)s).",
                    row=self.row,
                    column=self.column,
                    kind=kind,
                )
            ) from None


def _converted(sheet: Sheet, kind: str, style: int, text: str) -> object:
    if kind == "n":
        number: int | float = float(text) if "." in text or "e" in text.lower() else int(text)
        if style in sheet.dates:
            try:
                return from_excel(number, sheet.epoch, timedelta=style in sheet.durations)
            except (OverflowError, ValueError):
                return "#VALUE!"  # openpyxl's reading of a date out of range
        return number
    if kind == "s":
        return sheet.strings[int(text)]
    if kind == "b":
        return bool(int(text))
    if kind == "d":
        return from_ISO8601(text)
    return text  # str (a formula's text), inlineStr, e (an error such as #N/A)


def _whole(text: str) -> int:
    """A row number or style index; '5.0' is 5 (some writers do that)."""
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not value.is_integer():
            raise UploadError(
                _m("The Excel sheet is damaged: '%(text)s' is not a whole number.", text=text[:20])
            ) from None
        return int(value)


def _column(reference: str) -> int:
    match = _REFERENCE.fullmatch(reference)
    if match is None:
        raise UploadError(
            _m(
                "The Excel sheet is damaged: '%(text)s' is not a cell reference.",
                text=reference[:20],
            )
        )
    number = 0
    for letter in match.group(1):
        number = number * 26 + ord(letter) - 64
    return number
