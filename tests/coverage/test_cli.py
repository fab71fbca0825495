"""`flask coverage ...` and `flask remittance ...`: summaries, files, and exit codes."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select

from portal.coverage.models import Coverage, Funder, MonthClose, Remittance
from portal.coverage.queries import month_end
from portal.extensions import db
from portal.ledger.checks import check_ledger
from portal.pledges.models import PledgeStatus
from portal.pledges.pricing import add_months
from portal.workers.services import worker_nik
from tests import factories
from tests.coverage import helpers

MONTH = date.today().replace(day=1)
KEY = f"{MONTH:%Y-%m}"


def _run(app, *args: str):  # type: ignore[no-untyped-def]
    """The data prepared so far is committed first, as it would be before a real command."""
    db.session.commit()
    return app.test_cli_runner().invoke(args=list(args))


def _count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model))


def test_close_month_prints_totals_and_refuses_a_second_close(app):
    pledge, _ = helpers.covered_pledge(2, 1, MONTH)
    helpers.city_workers(Funder.APBD, MONTH, 1)
    result = _run(app, "coverage", "close-month", KEY)
    assert result.exit_code == 0, result.output
    assert f"{KEY} closed." in result.output
    assert "pledge          2 workers  Rp33,600" in result.output
    assert "apbd            1 workers  Rp16,800" in result.output
    assert pledge.status == PledgeStatus.COMPLETED
    again = _run(app, "coverage", "close-month", KEY)
    assert again.exit_code == 1 and "closed already" in again.output
    assert _count(MonthClose) == 1


def test_close_month_refuses_bad_and_far_months(app):
    bad = _run(app, "coverage", "close-month", "2026-13")
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output
    far = _run(app, "coverage", "close-month", f"{add_months(MONTH, 3):%Y-%m}")
    assert far.exit_code == 1 and "after next month" in far.output
    assert _count(MonthClose) == 0


def test_import_city_checks_then_imports(app, tmp_path: Path):
    people = [factories.worker() for _ in range(2)]
    path = tmp_path / "apbd.csv"
    path.write_text(
        "nik;nama\n" + "".join(f"{worker_nik(w)};x\n" for w in people), encoding="utf-8-sig"
    )
    month = f"{add_months(MONTH, 1):%Y-%m}"
    args = ["coverage", "import-city", str(path), "--funder", "apbd", "--month", month]
    checked = _run(app, *args, "--months", "3", "--dry-run")
    assert checked.exit_code == 0, checked.output
    assert "2 workers would be covered by apbd for 3 month(s)" in checked.output
    assert "Rp100,800" in checked.output and _count(Coverage) == 0
    done = _run(app, *args, "--months", "3")
    assert done.exit_code == 0, done.output
    assert "6 coverage rows" in done.output and _count(Coverage) == 6


def test_import_city_lists_refused_rows_and_exits_non_zero(app, tmp_path: Path):
    worker = factories.worker()
    path = tmp_path / "dbhcht.csv"
    path.write_text(f"NIK\n{worker_nik(worker)}\nabc\n", encoding="utf-8")
    result = _run(app, "coverage", "import-city", str(path), "--funder", "dbhcht", "--month", KEY)
    assert result.exit_code == 1
    assert "row 2" in result.output and "DBHCHT does not fund category becak" in result.output
    assert "row 3, abc: not a valid NIK" in result.output
    assert "2 row(s) refused; nothing written." in result.output
    assert _count(Coverage) == 0


def test_offer_renewals_reports_the_pledges(app, outbox):
    pledge, _ = helpers.covered_pledge(1, 1, MONTH)
    assert month_end(MONTH) - date.today() <= timedelta(days=30)
    result = _run(app, "coverage", "offer-renewals")
    assert (
        result.exit_code == 0
        and f"33.74 Kota Semarang: renewal offered for 1 pledge(s): #{pledge.id}" in result.output
    )
    assert len(outbox) == 1
    assert "for 0 pledge(s)." in _run(app, "coverage", "offer-renewals").output


def test_remittance_export_writes_the_file_and_mark_books_it(app, tmp_path: Path, monkeypatch):
    helpers.covered_pledge(1, 1, MONTH)
    apbd = helpers.city_workers(Funder.APBD, MONTH, 2)
    refused = _run(app, "remittance", "export", KEY, "--funder", "apbd")
    assert refused.exit_code == 1 and "not closed" in refused.output
    assert _run(app, "coverage", "close-month", KEY).exit_code == 0
    out = tmp_path / "apbd.xlsx"
    result = _run(
        app,
        "remittance",
        "export",
        KEY,
        "--funder",
        "apbd",
        "--format",
        "xlsx",
        "--output",
        str(out),
    )
    assert result.exit_code == 0 and f"2 workers written to {out}." in result.output
    sheet = load_workbook(out).active
    assert {sheet["A2"].value, sheet["A3"].value} == {worker_nik(w) for w in apbd}
    monkeypatch.chdir(tmp_path)
    default = _run(app, "remittance", "export", KEY, "--funder", "csr")
    assert default.exit_code == 0, default.output
    rows = list(
        csv.reader(
            io.StringIO((tmp_path / f"remittance-{KEY}-csr.csv").read_text(encoding="utf-8-sig"))
        )
    )
    assert len(rows) == 2 and rows[1][4] == "csr"
    marked = _run(app, "remittance", "mark", KEY, "--funder", "apbd", "--reference", "BPD-1")
    assert marked.exit_code == 0
    assert "apbd " + KEY + " remitted: 2 workers, Rp33,600, reference BPD-1." in marked.output
    twice = _run(app, "remittance", "mark", KEY, "--funder", "apbd", "--reference", "BPD-2")
    assert twice.exit_code == 1 and "remitted already" in twice.output
    assert _count(Remittance) == 1 and check_ledger() == []
