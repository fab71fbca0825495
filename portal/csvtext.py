"""Uploaded CSV files, read within fixed limits: one encoding for the whole file (or the lines
that do not decode named), control characters found, and bounds on lines, rows and cells.

Every CSV upload (roster, claims, city participants, bank statement) goes through here, so
all of them get the same treatment. The file is streamed in chunks and read twice: once to
choose its encoding (and to refuse it early when a line or the line count is over a limit),
once for its records, so memory stays flat however many lines it has.
"""

from __future__ import annotations

import _csv
import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, NamedTuple

from portal.messages import Message, _m

CHUNK = 64 * 1024
MAX_LINE_BYTES = 64 * 1024  # a physical line; a roster line is about 150 bytes
MAX_LINES = 500_000  # physical lines (or spreadsheet rows), blank ones included
MAX_ROWS = 200_000  # rows with something in them, below the header
MAX_COLUMNS = 100  # header cells read; a data row's cells past the header are never looked at
MAX_CELL_CHARS = 1_000  # a cell that is read (the longest real value, an address, has 500)
MAX_DETAIL = 1_000  # refused rows kept with their reasons; the rest are only counted
USELESS_SAMPLE = 10_000  # more than half of the first this many rows invalid: file refused
DELIMITERS = (",", ";", "\t")
_NAMED = 10  # undecodable lines listed in a message

# C0 controls but tab and line ends, DEL, C1 controls, and the bidirectional overrides that
# make text display in another order than it is stored.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_ENDS = re.compile(rb"\r\n|\r|\n")

Chunks = Callable[[], Iterator[bytes]]
Source = bytes | IO[bytes] | Chunks


class UploadError(ValueError):
    """The upload as a whole cannot be read within the limits; the message says why and what
    to do. Each domain wraps it in its own file error, passing on `message` (a Message, so
    that it is shown in the reader's language; `str(error)` is it in the current one)."""

    def __init__(self, message: Message | str) -> None:
        super().__init__(message)
        self.message = message


def chunks_of(source: Source) -> Chunks:
    """A way to read the upload from the start, CHUNK bytes at a time, as often as needed."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        return lambda: (data[at : at + CHUNK] for at in range(0, len(data), CHUNK))
    if callable(source):
        return source
    stream = source

    def read() -> Iterator[bytes]:
        stream.seek(0)
        while chunk := stream.read(CHUNK):
            yield chunk

    return read


def head(chunks: Chunks, size: int = 8192) -> bytes:
    """The first `size` bytes (fewer for a shorter file)."""
    found = bytearray()
    for chunk in chunks():
        found += chunk
        if len(found) >= size:
            break
    return bytes(found[:size])


# --- lines -------------------------------------------------------------------------------


def byte_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The physical lines with their line ends (\\r\\n, \\n or a lone \\r, as Python's universal
    newlines split them). Raises UploadError for a line or a line count over the limits."""
    count, rest = 0, b""
    for chunk in chunks:
        buffer = rest + chunk if rest else chunk
        lines, rest = _split(buffer, final=False)
        count += len(lines)
        _check_lines(count, rest, lines)
        yield from lines
    if rest:
        lines, _ = _split(rest, final=True)
        _check_lines(count + len(lines), b"", lines)
        yield from lines


def _split(buffer: bytes, final: bool) -> tuple[list[bytes], bytes]:
    """Complete lines of the buffer and the unfinished rest (a final \\r may be half of \\r\\n)."""
    parts = buffer.split(b"\n")
    rest = parts.pop()
    lines = []
    for part in parts:
        if part.find(b"\r", 0, len(part) - 1) < 0:
            lines.append(part + b"\n")
        else:  # old Mac line ends (a lone \r) inside
            lines.extend(_cr_lines(part + b"\n", final=True)[0])
    if b"\r" in rest:
        more, rest = _cr_lines(rest, final)
        lines.extend(more)
    if final and rest:
        lines.append(rest)
        rest = b""
    return lines, rest


def _cr_lines(text: bytes, final: bool) -> tuple[list[bytes], bytes]:
    lines, start = [], 0
    for end in _LINE_ENDS.finditer(text):
        if end.end() == len(text) and end.group() == b"\r" and not final:
            break  # the \n may come in the next chunk
        lines.append(text[start : end.end()])
        start = end.end()
    return lines, text[start:]


def _check_lines(count: int, rest: bytes, lines: list[bytes]) -> None:
    """`count` lines so far, the last of them `lines`; `rest` is the next, unfinished."""
    if count > MAX_LINES:
        raise UploadError(
            _m("The file has more than %(max)s lines; split it into smaller files.", max=MAX_LINES)
        )
    long = [at for at, line in enumerate(lines) if len(line) > MAX_LINE_BYTES]
    if long or len(rest) > MAX_LINE_BYTES:
        number = count - len(lines) + long[0] + 1 if long else count + 1
        raise UploadError(
            _m(
                "Line %(line)s is longer than %(max)s bytes; this is not a CSV file of the "
                "expected kind.",
                line=number,
                max=MAX_LINE_BYTES,
            )
        )


# --- encodings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Decoding:
    """The file's one encoding, and the lines that do not decode with it (the first
    MAX_DETAIL of them, and how many in all)."""

    codec: str  # utf-8, cp1252 or utf-16
    skip: int  # bytes of a byte order mark
    bad_lines: tuple[int, ...] = ()
    bad_total: int = 0

    @property
    def label(self) -> str:
        return {"cp1252": "Windows-1252", "utf-16": "UTF-16"}.get(self.codec, "UTF-8")

    def refuse_bad_lines(self) -> None:
        """For files imported all or nothing: raise UploadError naming the bad lines."""
        if not self.bad_total:
            return
        named = ", ".join(str(line) for line in self.bad_lines[:_NAMED])
        more = self.bad_total - min(len(self.bad_lines), _NAMED)
        if more:
            raise UploadError(
                _m(
                    "Line(s) %(lines)s and %(more)s more are not CSV text in the encoding of "
                    "the rest of the file (%(encoding)s), so their letters cannot be read for "
                    "certain. Save the whole file again as \u201cCSV UTF-8\u201d (or retype "
                    "those lines) and upload it again.",
                    lines=named,
                    more=more,
                    encoding=self.label,
                )
            )
        raise UploadError(
            _m(
                "Line(s) %(lines)s are not CSV text in the encoding of the rest of the file "
                "(%(encoding)s), so their letters cannot be read for certain. Save the whole "
                "file again as \u201cCSV UTF-8\u201d (or retype those lines) and upload it "
                "again.",
                lines=named,
                encoding=self.label,
            )
        )


def detect_encoding(chunks: Chunks) -> Decoding:
    """UTF-16 (with its byte order mark), else UTF-8 when the whole file decodes as UTF-8 or
    any line of it is UTF-8 beyond ASCII (the other lines are then named, never guessed),
    else Windows-1252 (Excel's "CSV" on Windows). Raises UploadError (limits, bad UTF-16)."""
    start = head(chunks, 4)
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        for _ in byte_lines(_from_utf16(chunks)):
            pass  # every line must decode and keep within the limits
        return Decoding("utf-16", 0)
    skip = len(codecs.BOM_UTF8) if start.startswith(codecs.BOM_UTF8) else 0
    utf8_seen = False
    utf8_bad: list[int] = []
    cp1252_bad: list[int] = []
    totals = [0, 0]
    for number, line in enumerate(byte_lines(_skipped(chunks, skip)), 1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_seen = True
        except UnicodeDecodeError:
            _note(utf8_bad, totals, 0, number)
            try:
                line.decode("cp1252")
            except UnicodeDecodeError:
                _note(cp1252_bad, totals, 1, number)
    if not totals[0] or utf8_seen or skip:
        return Decoding("utf-8", skip, tuple(utf8_bad), totals[0])
    return Decoding("cp1252", 0, tuple(cp1252_bad), totals[1])


def _note(found: list[int], totals: list[int], which: int, number: int) -> None:
    totals[which] += 1
    if len(found) < MAX_DETAIL:
        found.append(number)


def _skipped(chunks: Chunks, skip: int) -> Iterator[bytes]:
    first = True
    for chunk in chunks():
        if first and skip:
            chunk = chunk[skip:]
        first = False
        yield chunk


def _from_utf16(chunks: Chunks) -> Iterator[bytes]:
    """The UTF-16 file as UTF-8 chunks. Raises UploadError where it does not decode."""
    decoder = codecs.getincrementaldecoder("utf-16")("strict")
    done = 0
    try:
        for chunk in chunks():
            yield decoder.decode(chunk).encode()
            done += len(chunk)
        yield decoder.decode(b"", final=True).encode()
    except UnicodeDecodeError as error:
        raise UploadError(
            _m(
                "The file starts with a UTF-16 mark but does not decode as UTF-16 after "
                "%(bytes)s bytes. Save it again as \u201cCSV UTF-8\u201d.",
                bytes=done + error.start,
            )
        ) from None


class TextLines:
    """The lines of an upload as text, in its one encoding. Lines that do not decode come
    with their letters replaced (U+FFFD) and are counted in `bad`, so a reader can refuse
    the rows they belong to."""

    def __init__(self, chunks: Chunks, decoding: Decoding) -> None:
        self.chunks, self.decoding = chunks, decoding
        self.bad = 0

    def __iter__(self) -> Iterator[str]:
        if self.decoding.codec == "utf-16":
            source: Iterator[bytes] = _from_utf16(self.chunks)
            codec = "utf-8"
        else:
            source, codec = _skipped(self.chunks, self.decoding.skip), self.decoding.codec
        for line in byte_lines(source):
            try:
                yield line.decode(codec)
            except UnicodeDecodeError:
                self.bad += 1
                yield line.decode(codec, "replace")


# --- records -----------------------------------------------------------------------------


class Record(NamedTuple):
    """One CSV record: the line it starts on (the first line is 1), its cells, and whether
    any of its lines did not decode."""

    line: int
    cells: list[str]
    undecodable: bool


@dataclass(frozen=True)
class CsvUpload:
    """An uploaded CSV file whose encoding and delimiter are known; records() reads it."""

    chunks: Chunks
    decoding: Decoding
    delimiter: str

    def records(self) -> Iterator[Record]:
        """Every record, blank ones too. Raises UploadError for broken CSV or the limits."""
        lines = TextLines(self.chunks, self.decoding)
        reader = csv.reader(iter(lines), delimiter=self.delimiter)
        start = 1
        while True:
            bad = lines.bad
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise UploadError(
                    _m(
                        "Line %(line)s could not be read as CSV: %(error)s.",
                        line=reader.line_num,
                        error=str(error),
                    )
                ) from None
            yield Record(start, cells, lines.bad > bad)
            start = reader.line_num + 1

    def first_line(self) -> str:
        """The first line with something in it ('' for none)."""
        return next((line for line in TextLines(self.chunks, self.decoding) if line.strip()), "")


def open_csv(source: Source, delimiter: str | None = None) -> CsvUpload:
    """Choose the encoding and (unless given) the delimiter: the one the first non-blank
    line uses most. Raises UploadError."""
    chunks = chunks_of(source)
    upload = CsvUpload(chunks, detect_encoding(chunks), delimiter or ",")
    if delimiter is None:
        first = upload.first_line()
        upload = CsvUpload(chunks, upload.decoding, max(DELIMITERS, key=first.count))
    return upload


def filled(cells: list[str]) -> bool:
    return any(cell.strip() for cell in cells)


def check_header(cells: list[object]) -> None:
    """Raises UploadError for a header with more than MAX_COLUMNS named columns."""
    named = len(cells)
    while named and (cells[named - 1] is None or not str(cells[named - 1]).strip()):
        named -= 1
    if named > MAX_COLUMNS:
        raise UploadError(
            _m(
                "The header row has %(columns)s columns; at most %(max)s are read. Delete the "
                "columns that are not needed.",
                columns=named,
                max=MAX_COLUMNS,
            )
        )


def too_many_rows() -> UploadError:
    return UploadError(
        _m("The file has more than %(max)s rows; split it into smaller files.", max=MAX_ROWS)
    )


# --- cells -------------------------------------------------------------------------------


def control_character(text: str) -> str | None:
    """The first control character in a text, as 'U+0000', or None."""
    match = CONTROL_CHARACTERS.search(text)
    return None if match is None else f"U+{ord(match.group()):04X}"


def cell_message(text: str, longest: int | None = MAX_CELL_CHARS) -> Message | None:
    """Why a cell cannot be taken as it is (a control character, or longer than `longest`
    characters), as a whole sentence to show, or None."""
    control = control_character(text)
    if control is not None:
        return _m(
            "The value contains a control character (%(character)s), which is not text; "
            "delete it and save the file again.",
            character=control,
        )
    if longest is not None and len(text) > longest:
        return _m("The value is longer than %(max)s characters.", max=longest)
    return None


def cell_message_at(
    text: str, row: int, column: str, longest: int | None = MAX_CELL_CHARS
) -> Message | None:
    """cell_message for a file refused as a whole: the sentence names the row and column."""
    control = control_character(text)
    if control is not None:
        return _m(
            "Row %(row)s, column '%(column)s': the value contains a control character "
            "(%(character)s), which is not text; delete it and save the file again.",
            row=row,
            column=column,
            character=control,
        )
    if longest is not None and len(text) > longest:
        return _m(
            "Row %(row)s, column '%(column)s': the value is longer than %(max)s characters.",
            row=row,
            column=column,
            max=longest,
        )
    return None


def cell_problem(text: str, longest: int | None = MAX_CELL_CHARS) -> str | None:
    """Why a cell cannot be taken as it is (a control character, or longer than `longest`
    characters), or None, in English. Reads after "the value": "the value contains a control
    ...". Kept for the uploads that still build their own English sentences; messages shown
    to people use cell_message."""
    control = control_character(text)
    if control is not None:
        return (
            f"contains a control character ({control}), which is not text; "
            "delete it and save the file again."
        )
    if longest is not None and len(text) > longest:
        return f"is longer than {longest:,} characters."
    return None


class Usefulness:
    """Counts the invalid rows among the first USELESS_SAMPLE; once more than half of them
    are invalid, the file is refused instead of read on."""

    def __init__(self, rows: int = 0, invalid: int = 0) -> None:
        self.rows, self.invalid = rows, invalid

    def count(self, invalid: bool) -> None:
        """Raises UploadError when the file turns out useless."""
        if self.rows >= USELESS_SAMPLE:
            return
        self.rows += 1
        self.invalid += invalid
        if self.invalid * 2 > USELESS_SAMPLE:
            raise UploadError(
                _m(
                    "More than half of the first %(sample)s rows are invalid, so the file was "
                    "not read further. Check that it is the right file and that each column "
                    "holds what its header says.",
                    sample=USELESS_SAMPLE,
                )
            )


# --- small files already in memory -------------------------------------------------------


def decode_upload(data: bytes) -> str:
    """The whole upload as text, by the rule of detect_encoding. Raises UnicodeDecodeError
    when one encoding does not decode all of it (UploadError for the limits)."""
    decoding = detect_encoding(chunks_of(data))
    if decoding.bad_total:
        line = decoding.bad_lines[0]
        raise UnicodeDecodeError(decoding.codec, data, 0, len(data), f"line {line} does not decode")
    return "".join(TextLines(chunks_of(data), decoding))


def csv_reader(text: str) -> _csv.Reader:
    """A csv reader whose delimiter is the one the first non-empty line uses most."""
    first = next((line for line in io.StringIO(text, newline="") if line.strip()), "")
    delimiter = max(DELIMITERS, key=first.count)
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
