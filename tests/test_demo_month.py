"""On the demo data, next month is matched, approved, closed and remitted from the CLI, and the
ledger check passes afterwards."""

from __future__ import annotations

import csv
import json

from sqlalchemy import func, select

from portal.coverage.models import Coverage, Funder, Remittance
from portal.demo import RUNNING_WORKERS
from portal.extensions import db
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.services import earliest_start


def test_demo_month_is_matched_approved_closed_and_remitted(app, tmp_path):
    cli = app.test_cli_runner()
    assert cli.invoke(args=["seed-demo"]).exit_code == 0
    month = f"{earliest_start():%Y-%m}"

    proposed = cli.invoke(args=["match", "propose", "--month", month, "--json"])
    assert proposed.exit_code == 0, proposed.output
    run = json.loads(proposed.output)
    pledges = run["summary"]["pledges"]
    assert len(pledges) == 2 and all(p["placed"] > 0 for p in pledges)
    city = run["summary"]["city"]
    assert city["apbd"]["after"] <= city["apbd"]["quota"] == 7_500

    approved = cli.invoke(args=["match", "approve", str(run["run_id"])])
    assert approved.exit_code == 0, approved.output
    active = db.session.scalar(
        select(func.count(Pledge.id)).where(Pledge.status == PledgeStatus.ACTIVE)
    )
    assert active == 3  # the two just placed and the one running since five months ago

    closed = cli.invoke(args=["coverage", "close-month", month])
    assert closed.exit_code == 0, closed.output

    out = tmp_path / "csr.csv"
    exported = cli.invoke(
        args=[
            "remittance",
            "export",
            month,
            "--funder",
            "csr",
            "--format",
            "csv",
            "--output",
            str(out),
        ]
    )
    assert exported.exit_code == 0, exported.output
    with out.open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    sponsored = db.session.scalar(
        select(func.count(Coverage.id)).where(
            Coverage.funder == Funder.PLEDGE, Coverage.month == earliest_start()
        )
    )
    # the new placements, and the 40 workers of the pledge running since five months ago
    assert len(rows) - 1 == sponsored == sum(p["placed"] for p in pledges) + RUNNING_WORKERS

    for funder in ("apbd", "dbhcht", "csr"):
        marked = cli.invoke(
            args=[
                "remittance",
                "mark",
                month,
                "--funder",
                funder,
                "--reference",
                f"TRF-{funder}-001",
            ]
        )
        assert marked.exit_code == 0, marked.output
    assert (
        db.session.scalar(
            select(func.count(Remittance.id)).where(Remittance.month == earliest_start())
        )
        == 3
    )

    checked = cli.invoke(args=["ledger", "check"])
    assert checked.exit_code == 0 and "All regions: ledger OK" in checked.output
    assert "33.19 Kabupaten Kudus: ledger OK, 1 entries" in checked.output  # its paid pledge
