"""Ledger memos are kept in English and shown in the reader's language."""

from __future__ import annotations

import flask_babel
import pytest

from portal.ledger.wording import memo_text


@pytest.mark.parametrize(
    ("memo", "indonesian"),
    [
        ("Payment PJS-7F3K", "Pembayaran PJS-7F3K"),
        ("Coverage 2026-12, pledge #12", "Perlindungan 2026-12, komitmen #12"),
        ("Coverage 2026-12, apbd", "Perlindungan 2026-12, Anggaran kota (APBD)"),
        (
            "Remittance 2026-12, dbhcht, ref BPJS-1",
            "Setoran 2026-12, Cukai hasil tembakau (DBHCHT), ref BPJS-1",
        ),
        ("Refund: Nothing was changed.", "Pengembalian dana: Tidak ada yang diubah."),
        ("Refund: kembali dari bank", "Pengembalian dana: kembali dari bank"),
        ("Something else entirely", "Something else entirely"),
    ],
)
def test_a_memo_reads_in_indonesian(app, memo, indonesian):
    with app.test_request_context():
        flask_babel.refresh()  # the suite's app context may hold an earlier language
        assert memo_text(memo) == indonesian


def test_a_memo_reads_in_english_for_an_english_reader(app):
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        flask_babel.refresh()
        assert memo_text("Coverage 2026-12, apbd") == "Coverage 2026-12, City budget (APBD)"
