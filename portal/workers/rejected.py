"""The rejected rows of a roster import as files to fix and upload again: XLSX for
spreadsheets, CSV for machines, both with the upload's own (Indonesian) column names.

The import (a job, at night perhaps) stores each row's reasons as message data
(`reasons_text`); the file is written when someone downloads it, so the reasons are in
the reader's language (`shown_reasons`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from portal.exports import csv_bytes, xlsx_bytes
from portal.messages import Message, _m, shown
from portal.workers.roster import COLUMN_LABELS

FORMATS = ("xlsx", "csv")
# The header a roster upload uses (nik;nama;tanggal_lahir;...), then why the row was refused.
REASON_COLUMN = "alasan"
HEADER = [*(label.split("/")[0] for label in COLUMN_LABELS.values()), REASON_COLUMN]
# Every cell stays the text the upload held: a NIK keeps 16 digits, a phone its leading 0.
TEXT_COLUMNS = tuple(HEADER)


def rejected_file(stored: Iterable[bytes], fmt: str) -> bytes:
    """The stored rejected rows (the sealed CSV's plain text) as a file in the format asked.

    Raises ValueError for another format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not xlsx or csv")
    rows = stored_rows(b"".join(stored).decode("utf-8-sig"))
    if fmt == "csv":
        return csv_bytes(HEADER, rows, delimiter=";")
    return xlsx_bytes(HEADER, rows, str(_m("Rejected rows")), TEXT_COLUMNS)


def stored_rows(text: str) -> Iterator[list[str]]:
    """Rows of the stored file (row, the columns by their keys, errors) in HEADER's order,
    the row number of the upload leading the reason."""
    records = csv.reader(io.StringIO(text, newline=""))
    header = next(records, None)
    if header is None:
        return
    where = {name: index for index, name in enumerate(header)}
    for record in records:
        cells = [_at(record, where.get(key)) for key in COLUMN_LABELS]
        number, reasons = _at(record, where.get("row")), _at(record, where.get("errors"))
        yield [
            *cells,
            str(_m("row %(row)s: %(reasons)s", row=number, reasons=shown_reasons(reasons))),
        ]


class _Problem(Protocol):
    @property
    def column(self) -> str: ...
    @property
    def message(self) -> Message: ...


def reasons_text(errors: Sequence[_Problem]) -> str:
    """A rejected row's problems as stored: JSON, [column, msgid] or [column, msgid, params]
    for each (compact: a rejected-rows file holds up to REJECTED_FILE_BYTES of them)."""
    return json.dumps(
        [
            [e.column, e.message.msgid, e.message.params]
            if e.message.params
            else [e.column, e.message.msgid]
            for e in errors
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def shown_reasons(text: str) -> str:
    """Stored reasons in the reader's language: "column: problem; ..." (text stored before
    reasons were data is shown as it is)."""
    if not text.startswith('[["'):
        return shown(text)
    return "; ".join(
        f"{_column_label(column)}: {shown({'msgid': msgid, 'params': params[0] if params else {}})}"
        for column, msgid, *params in json.loads(text)
    )


def _column_label(column: str) -> str:
    return COLUMN_LABELS.get(column, column) if column else str(_m("whole row"))


def _at(record: list[str], index: int | None) -> str:
    return record[index] if index is not None and index < len(record) else ""
