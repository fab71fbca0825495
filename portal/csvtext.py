"""Reading the CSV files staff upload: the text encodings and delimiters Excel produces."""

from __future__ import annotations

import _csv
import codecs
import csv
import io

DELIMITERS = (",", ";", "\t")


def decode_upload(data: bytes) -> str:
    """UTF-16 with a BOM, UTF-8 with or without BOM, else Windows-1252 (Excel's "CSV" on
    Windows). Raises UnicodeDecodeError when the bytes are none of these."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def csv_reader(text: str) -> _csv.Reader:
    """A csv reader whose delimiter is the one the first non-empty line uses most."""
    first = next((line for line in io.StringIO(text, newline="") if line.strip()), "")
    delimiter = max(DELIMITERS, key=first.count)
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
