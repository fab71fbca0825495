"""portal/csvtext.py: lines as Python splits them, one encoding per file or the bad lines
named, control characters found, limits refused early."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal import csvtext
from portal.csvtext import (
    UploadError,
    Usefulness,
    byte_lines,
    cell_message,
    cell_message_at,
    cell_problem,
    chunks_of,
    control_character,
    detect_encoding,
    open_csv,
)
from portal.messages import Message, _m

HEADER = "nik;nama\r\n"


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(st.sampled_from(["a", "é", "\r", "\n", ",", ";", '"']), max_size=80),
    size=st.integers(min_value=1, max_value=9),
)
def test_lines_split_as_pythons_universal_newlines_at_any_chunk_size(text: str, size: int):
    data = text.encode()
    chunks = [data[at : at + size] for at in range(0, len(data), size)]
    assert [line.decode() for line in byte_lines(chunks)] == list(io.StringIO(text, newline=""))


def test_a_utf8_file_is_utf8():
    assert detect_encoding(chunks_of((HEADER + "1;Suwarní Ağ\r\n").encode())).codec == "utf-8"


def test_a_windows_1252_file_is_read_as_windows_1252():
    data = (HEADER + "1;José\r\n2;Désirée\r\n").encode("cp1252")
    decoding = detect_encoding(chunks_of(data))
    assert (decoding.codec, decoding.bad_total) == ("cp1252", 0)
    assert [r.cells for r in open_csv(data).records()][1:] == [["1", "José"], ["2", "Désirée"]]


def test_one_windows_1252_line_in_utf8_is_named_never_guessed():
    data = (HEADER + "1;José\r\n").encode() + "2;Désirée\r\n".encode("cp1252") + b"3;Sri\r\n"
    decoding = detect_encoding(chunks_of(data))
    assert (decoding.codec, decoding.bad_lines, decoding.bad_total) == ("utf-8", (3,), 1)
    records = list(open_csv(data).records())
    assert [(r.line, r.undecodable) for r in records] == [
        (1, False),
        (2, False),
        (3, True),
        (4, False),
    ]
    assert records[1].cells == ["1", "José"]  # not "JosÃ©"
    with pytest.raises(UploadError, match=r"Line\(s\) 3 are not CSV text .*UTF-8"):
        decoding.refuse_bad_lines()


def test_a_utf8_byte_order_mark_keeps_utf8_even_without_other_utf8():
    data = b"\xef\xbb\xbf" + HEADER.encode() + "2;Désirée\r\n".encode("cp1252")
    decoding = detect_encoding(chunks_of(data))
    assert (decoding.codec, decoding.skip, decoding.bad_lines) == ("utf-8", 3, (2,))


def test_bytes_windows_1252_lacks_are_named_in_a_windows_1252_file():
    data = (HEADER + "1;José\r\n").encode("cp1252") + b"2;\x81\x8d\r\n"
    decoding = detect_encoding(chunks_of(data))
    assert (decoding.codec, decoding.bad_lines) == ("cp1252", (3,))


def test_utf16_with_its_mark_is_read_and_broken_utf16_refused():
    data = (HEADER + "1;José\r\n").encode("utf-16")
    assert [r.cells for r in open_csv(data).records()][1] == ["1", "José"]
    with pytest.raises(UploadError, match="UTF-16"):
        open_csv(data + b"\x00\xd8")  # half a surrogate pair at the end


def test_too_many_lines_and_too_long_a_line_are_refused_before_any_row(monkeypatch):
    monkeypatch.setattr(csvtext, "MAX_LINES", 10)
    with pytest.raises(UploadError, match="more than 10 lines"):
        open_csv((HEADER + "1;a\n" * 10).encode())
    open_csv((HEADER + "1;a\n" * 9).encode())
    with pytest.raises(UploadError, match="Line 3 is longer than 65536 bytes"):
        open_csv(HEADER.encode() + b"1;a\n" + b"1;" + b"a" * 70_000 + b"\n2;b\n")


def test_broken_csv_is_refused_with_its_line():
    upload = open_csv(b'nik,nama\n1,"a\n' + (b"x" * 99 + b"\n") * 1_400 + b'"\n')
    with pytest.raises(UploadError, match="could not be read as CSV"):
        list(upload.records())


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Sla\x00met", "U+0000"),
        ("Slamet\x1b[31m", "U+001B"),
        ("Slamet\x7f", "U+007F"),
        ("Slamet\x85", "U+0085"),
        ("Slamet \u202eteyiR", "U+202E"),
        ("Jl. Pemuda\n1\tRT 2\r\n", None),
        ("José Ağ 山田", None),
    ],
)
def test_control_characters_are_found_and_text_passes(text: str, found: str | None):
    assert control_character(text) == found


def test_cell_problems_say_what_is_wrong():
    assert cell_message("a\x00") == _m(
        "The value contains a control character (%(character)s), which is not text; "
        "delete it and save the file again.",
        character="U+0000",
    )
    assert cell_message("a" * 1_001) == _m(
        "The value is longer than %(max)s characters.", max=1_000
    )
    assert cell_message("a" * 1_001, longest=None) is None
    assert cell_message("a" * 1_000) is None
    assert cell_message_at("a\x00", 7, "cerita") == _m(
        "Row %(row)s, column '%(column)s': the value contains a control character "
        "(%(character)s), which is not text; delete it and save the file again.",
        row=7,
        column="cerita",
        character="U+0000",
    )
    assert cell_message_at("a" * 1_001, 7, "cerita", longest=None) is None
    # the English fragment the other uploads still build their sentences with
    assert "control character (U+0000)" in str(cell_problem("a\x00"))
    assert cell_problem("a" * 1_001) == "is longer than 1,000 characters."
    assert cell_problem("a" * 1_001, longest=None) is None
    assert cell_problem("a" * 1_000) is None


def test_a_file_is_useless_once_more_than_half_of_the_first_10000_rows_are_invalid():
    usefulness = Usefulness()
    for _ in range(5_000):
        usefulness.count(invalid=True)
    with pytest.raises(UploadError) as caught:
        usefulness.count(invalid=True)
    assert isinstance(caught.value.message, Message)
    assert caught.value.message.msgid.startswith("More than half of the first %(sample)s rows")
    assert caught.value.message.params == {"sample": 10_000}
    late = Usefulness()
    for n in range(10_000):
        late.count(invalid=n % 2 == 0)
    for _ in range(20_000):
        late.count(invalid=True)  # past the first 10,000 rows: only counted by the caller
