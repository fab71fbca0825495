"""Uploaded CSV text: the encodings and delimiters Excel writes."""

from __future__ import annotations

import pytest

from portal.csvtext import csv_reader, decode_upload


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_excel_encodings_are_read(encoding):
    text = "nik;nama\r\n1;Suwarní\r\n"
    assert decode_upload(text.encode(encoding)) == text


def test_bytes_that_are_no_text_are_refused():
    with pytest.raises(UnicodeDecodeError):
        decode_upload(b"nik\r\n\x81\x8d\x90")


@pytest.mark.parametrize(
    ("text", "row"),
    [
        ("nik,nama\n1,Budi\n", ["1", "Budi"]),
        ("\nnik;nama\n1;Budi, S.E.\n", ["1", "Budi, S.E."]),
        ("nik\tnama\n1\tBudi\n", ["1", "Budi"]),
    ],
)
def test_the_delimiter_is_the_one_the_header_uses(text, row):
    rows = [cells for cells in csv_reader(text) if cells]
    assert rows[1] == row
