"""Bank statement CSVs: parse credit lines and match them to transfer references (no database)."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from itertools import islice

from portal.csvtext import (
    MAX_CELL_CHARS,
    MAX_DETAIL,
    MAX_ROWS,
    Chunks,
    CsvUpload,
    Record,
    Source,
    UploadError,
    Usefulness,
    chunks_of,
    control_character,
    detect_encoding,
    filled,
    too_many_rows,
)
from portal.messages import Message, _m, message_of

# Banks insert or drop spaces, dashes and the like inside a quoted reference, and change case.
_SEP = r"[\s\-_./:]*"
REFERENCE_PATTERN = re.compile(
    rf"PJS{_SEP}(?P<year>\d{{4}}){_SEP}(?P<month>\d{{2}}){_SEP}(?P<token>[0-9A-F]{{6}})",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[0-9A-Fa-f]{6}")

HEADERS = {
    "date": ("tanggal", "tgl", "date"),
    "description": ("keterangan", "deskripsi", "description", "uraian"),
    "amount": ("jumlah", "nominal", "amount", "kredit", "credit"),
}
_DELIMITERS = (";", ",", "\t")
HEADER_SEARCH = 100  # records before the header (account number, period) looked through
UNDECODABLE = _m(
    "The row is not written in the same text encoding as the rest of the file; "
    "export the statement again."
)
_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y")
# Many bank exports leave the year out ("04/12"): the statement's period decides it.
_DAY_MONTH = re.compile(r"(?P<day>\d{1,2})[/\-.](?P<month>\d{1,2})")
_AMOUNT = re.compile(
    r"(?P<int>\d{1,3}(?:(?P<sep>[.,])\d{3})(?:(?P=sep)\d{3})*|\d+)"
    r"(?:(?P<dec>[.,])(?P<frac>\d{1,2}))?"
)


def make_transfer_reference(created: date, token: str) -> str:
    """PJS-202611-7F3A9C: the payment's month and six hex characters. Raises ValueError."""
    if not _TOKEN.fullmatch(token):
        raise ValueError("the token is six hexadecimal characters")
    return f"PJS-{created:%Y%m}-{token.upper()}"


@dataclass(frozen=True)
class StatementLine:
    """One credit on the statement; row is the CSV row number (the header is row 1)."""

    row: int
    date: date
    description: str
    amount: int


@dataclass(frozen=True)
class StatementError:
    """A row that could not be read; nothing from it is used. The message is shown in the
    reader's language (text only when it comes from an upload check that is plain text)."""

    row: int
    message: Message | str


@dataclass(frozen=True)
class StatementNote:
    """A row skipped on purpose (a debit, a zero amount)."""

    row: int
    message: Message | str


@dataclass
class ParsedStatement:
    lines: list[StatementLine] = field(default_factory=list)
    errors: list[StatementError] = field(default_factory=list)
    notes: list[StatementNote] = field(default_factory=list)
    # Lines dated without a year, by their index in `lines`: (day, month) until resolved.
    yearless: dict[int, tuple[int, int]] = field(default_factory=dict)


class MatchOutcome(enum.StrEnum):
    MATCHED = "matched"
    UNDERPAID = "underpaid"
    OVERPAID = "overpaid"
    UNKNOWN_REFERENCE = "unknown_reference"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class MatchResult:
    """Only MATCHED may be applied; every other outcome goes to a person."""

    line: StatementLine
    reference: str | None
    outcome: MatchOutcome


class _RowError(ValueError):
    def __init__(self, message: Message) -> None:
        super().__init__(message)
        self.message = message


class _Skip(Exception):
    def __init__(self, message: Message) -> None:
        super().__init__(message)
        self.message = message


# Parsing ---------------------------------------------------------------------------------


def parse_statement(data: Source, today: date | None = None) -> ParsedStatement:
    """Credit lines from a statement CSV; bad rows are reported, debits noted and skipped.

    A date without a year ("04/12") takes the year that puts it nearest the file's full
    dates; in a file without any, the latest year that does not put it after `today` (the
    upload's day).

    Rows before the header (account number, period) are ignored; the header must be among
    the first HEADER_SEARCH records. One encoding for the whole file (portal/csvtext.py): a
    row that does not decode like the rest is reported, never guessed at. A file over the
    limits of every upload is one error; errors and notes past MAX_DETAIL are counted in one
    last entry each.
    """
    try:
        found = _table(chunks_of(data))
        if found is None:
            return ParsedStatement(errors=[StatementError(1, _missing_header_message())])
        return _parse_rows(*found, today or date.today())
    except UploadError as error:
        return ParsedStatement(errors=[StatementError(1, message_of(error))])


def _table(chunks: Chunks) -> tuple[Iterator[Record], dict[str, int], list[str]] | None:
    """The records after the header, by whichever delimiter yields a recognisable header."""
    decoding = detect_encoding(chunks)
    for delimiter in _DELIMITERS:
        records = CsvUpload(chunks, decoding, delimiter).records()
        for record in islice(records, HEADER_SEARCH):
            columns = _columns(record.cells)
            if columns is not None and not record.undecodable:
                return records, columns, list(record.cells)
    return None


def _parse_rows(
    records: Iterator[Record], columns: dict[str, int], header: list[str], today: date
) -> ParsedStatement:
    parsed = ParsedStatement()
    usefulness = Usefulness()
    count = 0
    for number, cells, undecodable in records:
        if not filled(cells):
            continue
        count += 1
        if count > MAX_ROWS:
            raise too_many_rows()
        errors = len(parsed.errors)
        problem = UNDECODABLE if undecodable else _cell_problem(cells, columns, header)
        if problem:
            parsed.errors.append(StatementError(number, problem))
        else:
            _parse_row(number, cells, columns, parsed)
        usefulness.count(len(parsed.errors) > errors)
    return _capped(_with_years(parsed, today))


def _cell_problem(cells: list[str], columns: dict[str, int], header: list[str]) -> Message | None:
    """Why a cell of the row cannot be read, naming its column as the file's header does."""
    for index in columns.values():
        if index >= len(cells):
            continue
        column = header[index].strip() if index < len(header) else str(index + 1)
        control = control_character(cells[index])
        if control is not None:
            return _m(
                "%(column)s: the value contains a control character (%(character)s), which is "
                "not text; delete it and save the file again.",
                column=column,
                character=control,
            )
        if len(cells[index]) > MAX_CELL_CHARS:
            return _m(
                "%(column)s: the value is longer than %(max)s characters.",
                column=column,
                max=MAX_CELL_CHARS,
            )
    return None


def _capped(parsed: ParsedStatement) -> ParsedStatement:
    """At most MAX_DETAIL errors and notes, then one entry saying how many more."""
    if len(parsed.errors) > MAX_DETAIL:
        row, more = parsed.errors[MAX_DETAIL].row, len(parsed.errors) - MAX_DETAIL
        parsed.errors[MAX_DETAIL:] = [StatementError(row, _more(more))]
    if len(parsed.notes) > MAX_DETAIL:
        row, more = parsed.notes[MAX_DETAIL].row, len(parsed.notes) - MAX_DETAIL
        parsed.notes[MAX_DETAIL:] = [StatementNote(row, _more(more))]
    return parsed


def _more(count: int) -> Message:
    return _m("%(count)s more rows like these from here on (not listed)", count=count)


def _columns(cells: list[str]) -> dict[str, int] | None:
    # The first word decides, so "Tanggal Transaksi" or "Jumlah (Rp)" are recognised too.
    names = [_first_word(cell) for cell in cells]
    columns = {}
    for key, aliases in HEADERS.items():
        index = next((names.index(alias) for alias in aliases if alias in names), None)
        if index is None:
            return None
        columns[key] = index
    if "debit" in names:
        columns["debit"] = names.index("debit")
    return columns


def _first_word(cell: str) -> str:
    match = re.match(r"\s*([a-z]+)", cell.lower())
    return match.group(1) if match else ""


def _missing_header_message() -> Message:
    expected = "; ".join("/".join(aliases) for aliases in HEADERS.values())
    return _m("No header row with the columns %(columns)s.", columns=expected)


def _parse_row(
    number: int, cells: list[str], columns: dict[str, int], parsed: ParsedStatement
) -> None:
    def cell(key: str) -> str:
        index = columns.get(key)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    try:
        amount = _row_amount(cell("amount"), cell("debit"))
        when = _row_date(cell("date"))
    except _Skip as skip:
        parsed.notes.append(StatementNote(number, skip.message))
    except _RowError as error:
        parsed.errors.append(StatementError(number, error.message))
    else:
        if isinstance(when, tuple):
            parsed.yearless[len(parsed.lines)] = when
            when = date.min  # until the whole file is read and its period known
        parsed.lines.append(
            StatementLine(number, when, " ".join(cell("description").split()), amount)
        )


def _row_amount(credit: str, debit: str) -> int:
    if not credit:
        if debit:
            raise _Skip(_m("Debit ignored."))
        raise _RowError(_m("Amount missing."))
    amount = parse_amount(credit)
    if amount < 0:
        raise _Skip(_m("Debit ignored."))
    if amount == 0:
        raise _Skip(_m("Zero amount ignored."))
    return amount


def parse_date(value: str) -> date:
    """DD/MM/YYYY, DD-MM-YYYY or YYYY-MM-DD, optionally followed by a time."""
    text = value.split()[0] if value.split() else ""
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise _RowError(_date_problem(value))


def _date_problem(value: str) -> Message:
    return _m(
        "Date not understood: %(value)s (use DD/MM/YYYY, DD/MM or YYYY-MM-DD).",
        value=repr(value),
    )


def _row_date(value: str) -> date | tuple[int, int]:
    """A full date, or (day, month) for DD/MM, D/M or DD-MM, optionally followed by a time."""
    text = value.split()[0] if value.split() else ""
    match = _DAY_MONTH.fullmatch(text)
    if match is None:
        return parse_date(value)
    day, month = int(match["day"]), int(match["month"])
    if not _valid(2024, month, day):  # a leap year: 29/02 may still be a date
        raise _RowError(_date_problem(value))
    return day, month


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _with_years(parsed: ParsedStatement, today: date) -> ParsedStatement:
    """Each yearless line dated in the year nearest the statement's period (its full dates,
    else the upload day, which nothing on the statement can come after)."""
    if not parsed.yearless:
        return parsed
    full = [line.date for i, line in enumerate(parsed.lines) if i not in parsed.yearless]
    first, last = (min(full), max(full)) if full else (today, today)
    for index, (day, month) in parsed.yearless.items():
        line = parsed.lines[index]
        when = _nearest(day, month, first, last, latest=None if full else today)
        if when is None:
            parsed.errors.append(StatementError(line.row, _date_problem(f"{day:02}/{month:02}")))
        else:
            parsed.lines[index] = replace(line, date=when)
    parsed.lines = [line for line in parsed.lines if line.date != date.min]
    parsed.errors.sort(key=lambda error: error.row)
    parsed.yearless = {}
    return parsed


def _nearest(day: int, month: int, first: date, last: date, latest: date | None) -> date | None:
    """The day/month in the year that puts it nearest [first, last], never after latest."""
    back = 1 if latest is None else 4  # a 29/02 dated by the upload day alone
    candidates = [
        date(year, month, day)
        for year in range(first.year - back, last.year + 2)
        if _valid(year, month, day) and (latest is None or date(year, month, day) <= latest)
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda d: max((first - d).days, (d - last).days, 0))


def parse_amount(value: str) -> int:
    """Whole rupiah from 1.008.000, 1,008,000.00, Rp 1.008.000,00, -50.000, 1.000 DB, (500)."""
    text = re.sub(r"(?i)rp\.?|idr|\s", "", value)
    sign, text = _sign(text)
    match = _AMOUNT.fullmatch(text)
    if match is None or (match["dec"] and match["dec"] == match["sep"]):
        raise _RowError(_m("Amount not understood: %(value)s", value=repr(value)))
    if match["frac"] and int(match["frac"]) != 0:
        raise _RowError(_m("Amount has a fraction of a rupiah: %(value)s", value=repr(value)))
    return sign * int(re.sub(r"[.,]", "", match["int"]))


def _sign(text: str) -> tuple[int, str]:
    upper = text.upper()
    if upper.endswith("CR"):
        return 1, text[:-2]
    if upper.endswith("DB"):
        return -1, text[:-2]
    if text.startswith("(") and text.endswith(")"):
        return -1, text[1:-1]
    if text.startswith(("-", "+")):
        return (-1 if text[0] == "-" else 1), text[1:]
    return 1, text


# Matching --------------------------------------------------------------------------------


def canonical_reference(text: str) -> str | None:
    """The first reference in a text, written the way the portal issues it."""
    match = REFERENCE_PATTERN.search(text)
    if match is None:
        return None
    return f"PJS-{match['year']}{match['month']}-{match['token'].upper()}"


def _references(text: str) -> list[str]:
    return [
        f"PJS-{m['year']}{m['month']}-{m['token'].upper()}"
        for m in REFERENCE_PATTERN.finditer(text)
    ]


def match_statement(lines: Iterable[StatementLine], expected: dict[str, int]) -> list[MatchResult]:
    """Each line's outcome against the amounts due by reference.

    A reference seen on an earlier line of the statement (whatever that line's outcome) makes
    the later line a duplicate, so no payment is ever applied twice from one statement.
    """
    due = {
        canonical_reference(ref) or ref.upper(): (ref, amount) for ref, amount in expected.items()
    }
    seen: set[str] = set()
    results = []
    for line in lines:
        results.append(_match_line(line, due, seen))
    return results


def _match_line(
    line: StatementLine, due: dict[str, tuple[str, int]], seen: set[str]
) -> MatchResult:
    found = _references(line.description)
    known = next((ref for ref in found if ref in due), None)
    if known is None:
        return MatchResult(line, found[0] if found else None, MatchOutcome.UNKNOWN_REFERENCE)
    reference, amount = due[known]
    if known in seen:
        return MatchResult(line, reference, MatchOutcome.DUPLICATE)
    seen.add(known)
    return MatchResult(line, reference, _compare(line.amount, amount))


def _compare(received: int, amount: int) -> MatchOutcome:
    if received == amount:
        return MatchOutcome.MATCHED
    return MatchOutcome.UNDERPAID if received < amount else MatchOutcome.OVERPAID
