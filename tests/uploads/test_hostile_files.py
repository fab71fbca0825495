"""Hostile roster uploads, each uploaded and checked as the portal does (sealed, then a job)
in a fresh process: answered within bounded time and memory, with the detail capped.

The memory figure is the process's peak resident memory during the upload and the check,
over what it held just before (bench/uploads.py measures it): before the limits, the 1.9 MB
file of a million one-character lines took about 2 GB and 20 s.
"""

from __future__ import annotations

import json

import pytest

from bench.uploads import (
    check_in_subprocess,
    mixed_encoding_csv,
    nul_after_8k_csv,
    shared_strings_bomb,
    sparse_wide_xlsx,
    tiny_lines_csv,
)

pytestmark = pytest.mark.own_database  # the checks run in their own processes and databases

MAX_SECONDS = 15  # each check; they take well under 3 s alone (several run at once here)
MAX_GROWTH_MIB = 80  # each check's memory over the process's before it; 2 GB before the limits


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    folder = tmp_path_factory.mktemp("hostile")
    files = {
        "tiny_lines": ("tiny.csv", tiny_lines_csv(1_000_000)),
        "bad_rows": ("bad.csv", tiny_lines_csv(20_000)),
        "many_bad_rows": ("many.csv", tiny_lines_csv(4_000)),
        "sparse_wide": ("sparse.xlsx", sparse_wide_xlsx(100_000, gap=3, filled=True)),
        "sparse_blank": ("blank.xlsx", sparse_wide_xlsx(300_000, gap=2, filled=False)),
        "strings_bomb": ("bomb.xlsx", shared_strings_bomb(10, huge=3, rows=20_000)),
        "nul": ("nul.csv", nul_after_8k_csv(rows=300, at=250)),
        "mixed": ("mixed.csv", mixed_encoding_csv(rows=50, at=30)),
    }
    paths = []
    for key, (name, data) in files.items():
        path = folder / f"{key}-{name}"
        path.write_bytes(data)
        paths.append((path, name))
    results = check_in_subprocess(paths, parallel=True)
    return dict(zip(files, results, strict=True))


USELESS = {
    "msgid": "More than half of the first %(sample)s rows are invalid, so the file was not read "
    "further. Check that it is the right file and that each column holds what its header says.",
    "params": {"sample": 10_000},
}


def _message(stored: object) -> dict[str, object]:
    """A job's message as the job keeps it: the message's data, translated when shown."""
    data = json.loads(stored) if isinstance(stored, str) else stored
    assert isinstance(data, dict) and set(data) == {"msgid", "params"}, stored
    return data


def _bounded(found: dict[str, object]) -> None:
    assert float(found["seconds"]) < MAX_SECONDS, found  # type: ignore[arg-type]
    assert float(found["growth_mib"]) < MAX_GROWTH_MIB, found  # type: ignore[arg-type]


def test_a_million_tiny_lines_are_refused_at_the_line_limit(checked):
    found = checked["tiny_lines"]
    _bounded(found)
    assert found["state"] == "failed"
    assert _message(found["message"]) == {
        "msgid": "The file has more than %(max)s lines; split it into smaller files.",
        "params": {"max": 500_000},
    }
    assert found["rejected_file_bytes"] == 0  # nothing written for a refused file


def test_a_file_of_mostly_invalid_rows_is_refused_early(checked):
    found = checked["bad_rows"]
    _bounded(found)
    assert found["state"] == "failed"
    assert _message(found["message"]) == USELESS
    assert found["rejected_file_bytes"] == 0


def test_the_rejected_rows_detail_is_capped_and_the_rest_counted(checked):
    found = checked["many_bad_rows"]
    _bounded(found)
    assert (found["state"], found["rejected"]) == ("done", 4_000)
    assert len(found["errors"]) == 1_000  # type: ignore[arg-type]
    assert found["errors_total"] == 4_000 * 6  # nik, name, date, sex, category, kelurahan
    assert found["rejected_in_file"] == 4_000
    assert 0 < int(found["rejected_file_bytes"]) < 2 * 2**20  # type: ignore[call-overload]


def test_a_sparse_wide_sheet_is_read_without_filling_its_gaps(checked):
    found = checked["sparse_wide"]
    _bounded(found)
    assert found["state"] == "failed"
    assert _message(found["message"]) == USELESS
    blank = checked["sparse_blank"]
    _bounded(blank)
    assert (blank["state"], blank["rows"]) == ("done", 0)  # cells past the header: unread


def test_a_shared_strings_bomb_is_cut_to_the_cell_limit(checked):
    found = checked["strings_bomb"]
    _bounded(found)
    assert found["state"] == "failed"
    assert _message(found["message"]) == USELESS


def test_a_nul_after_the_first_8_kb_refuses_its_row_naming_the_column(checked):
    found = checked["nul"]
    _bounded(found)
    assert (found["state"], found["rows"], found["rejected"]) == ("done", 300, 1)
    [error] = found["errors"]  # type: ignore[misc]
    assert (error["row"], error["column"]) == (250, "name")
    message = _message(error["message"])
    assert "control character (%(character)s)" in str(message["msgid"])
    assert message["params"] == {"character": "U+0000"}


def test_one_windows_1252_line_in_a_utf8_file_refuses_that_row_only(checked):
    found = checked["mixed"]
    _bounded(found)
    assert (found["state"], found["rows"], found["rejected"]) == ("done", 50, 1)
    [error] = found["errors"]  # type: ignore[misc]
    assert (error["row"], error["column"]) == (30, "")
    assert "same text encoding" in str(_message(error["message"])["msgid"])
