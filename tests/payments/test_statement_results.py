"""Bank statements: dates without a year take the statement's period; an import's result
stays on the transfers page, for every staff member, until one of them dismisses it."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest

from portal.extensions import db
from portal.labels import LABELS
from portal.messages import _m
from portal.payments.bank_statement import parse_statement
from portal.payments.models import StatementImport
from portal.payments.statement import OUTCOMES
from tests.conftest import csrf_token, english


def _statement(*rows: str) -> bytes:
    return ("tanggal;keterangan;jumlah\n" + "".join(row + "\n" for row in rows)).encode()


@pytest.mark.parametrize("written", ["04/12", "4/12", "04-12", "04/12 09:15"])
def test_a_date_without_a_year_takes_the_year_of_the_other_dates(written):
    parsed = parse_statement(
        _statement("01/12/2026;TRF A;1.000", f"{written};TRF B;2.000", "2026-12-07;TRF C;3.000"),
        today=date(2027, 6, 30),  # the statement's own dates decide, not the upload day
    )
    assert parsed.errors == []
    assert [line.date for line in parsed.lines] == [
        date(2026, 12, 1),
        date(2026, 12, 4),
        date(2026, 12, 7),
    ]


def test_a_statement_over_new_year_dates_december_in_the_old_year():
    parsed = parse_statement(
        _statement("30/12;TRF A;1.000", "02/01/2027;TRF B;2.000"), today=date(2027, 1, 5)
    )
    assert [line.date for line in parsed.lines] == [date(2026, 12, 30), date(2027, 1, 2)]


def test_without_full_dates_a_day_after_the_upload_belongs_to_the_year_before():
    parsed = parse_statement(
        _statement("28/12;TRF A;1.000", "02/01;TRF B;2.000"), today=date(2027, 1, 3)
    )
    assert [line.date for line in parsed.lines] == [date(2026, 12, 28), date(2027, 1, 2)]


def test_an_impossible_day_and_month_is_an_error_for_that_row():
    parsed = parse_statement(_statement("31/04;TRF A;1.000", "01/12/2026;TRF B;2.000"))
    assert [(e.row, "Date not understood" in str(e.message)) for e in parsed.errors] == [(2, True)]
    assert [line.row for line in parsed.lines] == [3]


def test_every_outcome_has_a_label():
    assert [code for code in OUTCOMES if f"statement.{code}" not in LABELS] == []


STATEMENT = _statement(
    "01/12/2026;TRF PJS-209901-ABCDEF;16800",
    "02/12;TRF tanpa referensi;5000",
    "02/12/2026;BIAYA ADM;-6500",
    "kemarin;TRF lain;1000",
)


def _import(client) -> str:  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/staff/transfers")
    response = client.post(
        "/staff/transfers/statement",
        data={"csrf_token": token, "statement": (io.BytesIO(STATEMENT), "mutasi-des.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    return str(response.headers["Location"])


def test_the_result_shows_translated_outcomes_and_survives_leaving_the_page(actors, logged_in):
    client = english(logged_in(actors.staff))
    result = _import(client)
    assert re.fullmatch(r"/staff/transfers/statements/\d+", result)
    client.get("/staff/pledges")  # somewhere else, then back
    transfers = client.get("/staff/transfers").get_data(as_text=True)
    assert f'href="{result}"' in transfers and "mutasi-des.csv" in transfers
    page = client.get(result).get_data(as_text=True)
    outcomes = re.findall(r'data-outcome="([a-z_]+)">([^<]+)<', page)
    assert [code for code, _ in outcomes] == [
        "unknown_reference",
        "unknown_reference",
        "ignored",
        "error",
    ]
    assert all(not shown.startswith(code) for code, shown in outcomes)
    assert "No pending transfer with this reference" in page and "Not read" in page


def test_a_dismissed_result_is_gone_for_every_staff_member(actors, logged_in):
    client = english(logged_in(actors.staff))
    result = _import(client)
    other = english(logged_in(actors.staff2))
    assert f'href="{result}"' in other.get("/staff/transfers").get_data(as_text=True)
    token = csrf_token(other, result)
    dismissed = other.post(result + "/dismiss", data={"csrf_token": token})
    assert dismissed.status_code == 302 and dismissed.headers["Location"] == "/staff/transfers"
    for someone in (client, other):
        assert f'href="{result}"' not in someone.get("/staff/transfers").get_data(as_text=True)
    page = client.get(result).get_data(as_text=True)
    assert 'id="statement-dismissed"' in page and 'id="dismiss-statement"' not in page


def test_dismissing_needs_the_form_token(actors, logged_in):
    client = logged_in(actors.staff)
    result = _import(client)
    assert client.post(result + "/dismiss", data={}).status_code == 400
    assert f'href="{result}"' in client.get("/staff/transfers").get_data(as_text=True)


def test_row_details_are_kept_as_messages_and_shown_in_the_readers_words(actors, logged_in):
    client = english(logged_in(actors.staff))
    result = _import(client)
    kept = db.session.get(StatementImport, int(result.rsplit("/", 1)[1]))
    details = {r["outcome"]: r["detail"] for r in kept.results if r["detail"]}
    assert details["ignored"] == _m("Debit ignored.").as_data()
    assert details["error"]["msgid"].startswith("Date not understood")
    page = client.get(result).get_data(as_text=True)
    assert "Ignored: Debit ignored." in page and "Not read: Date not understood" in page
    assert "msgid" not in page  # never the stored data itself
