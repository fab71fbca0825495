"""`flask claims import`: a summary or one JSON object, and exit codes a script can trust."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy import select

from portal.claims.models import Claim
from portal.coverage.models import Funder
from portal.extensions import db
from portal.workers.services import worker_nik
from tests.claims.files import claim_csv
from tests.coverage import helpers

MONTH = date.today().replace(day=1)
DAY = f"{MONTH:%d/%m/%Y}"


def _run(app, *args: str):  # type: ignore[no-untyped-def]
    """The data prepared so far is committed first, as it would be before a real command."""
    db.session.commit()
    return app.test_cli_runner().invoke(args=["claims", "import", *args])


def _claims() -> list[tuple[int, str, int]]:
    return list(
        db.session.execute(
            select(Claim.worker_id, Claim.kind, Claim.amount).order_by(Claim.id)
        ).tuples()
    )


def test_json_import_records_every_claim(app, tmp_path: Path):
    people = helpers.city_workers(Funder.APBD, MONTH, 2)
    path = tmp_path / "klaim.csv"
    path.write_bytes(
        claim_csv(
            (worker_nik(people[0]), DAY, "jkk", "Rp1.500.000", ""),
            (worker_nik(people[1]), DAY, "JKM", "42000000", ""),
        )
    )
    result = _run(app, str(path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"rows": 2, "recorded": 2, "rejected": 0, "errors": []}
    assert _claims() == [(people[0].id, "jkk", 1_500_000), (people[1].id, "jkm", 42_000_000)]


def test_json_lists_refused_rows_exits_1_and_writes_nothing(app, tmp_path: Path):
    (worker,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    path = tmp_path / "klaim.csv"
    path.write_bytes(
        claim_csv(
            (worker_nik(worker), DAY, "jkk", "1000", ""),
            (worker_nik(worker), DAY, "jkk", "nol", ""),
            ("123", DAY, "jkm", "1000", ""),
            header="nik,date,type,amount,story",
        )
    )
    result = _run(app, str(path), "--json")
    assert result.exit_code == 1
    assert json.loads(result.output) == {
        "rows": 3,
        "recorded": 0,
        "rejected": 2,
        "errors": [
            {"row": 3, "column": "amount", "message": "Not an amount in whole rupiah above 0."},
            {
                "row": 4,
                "column": "nik",
                "message": "Not a valid NIK (16 digits holding a real birth date).",
            },
        ],
    }
    assert _claims() == []


def test_dry_run_prints_a_summary_and_writes_nothing(app, tmp_path: Path):
    (worker,) = helpers.city_workers(Funder.DBHCHT, MONTH, 1)
    path = tmp_path / "klaim.csv"
    path.write_bytes(claim_csv((worker_nik(worker), DAY, "jkk", "Rp2.500.000", "")))
    result = _run(app, str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "1 rows checked: 1 claims would be recorded (Rp2,500,000). Nothing written."
    )
    assert _claims() == []
    again = _run(app, str(path))
    assert again.exit_code == 0 and again.output.strip() == "1 claims recorded (Rp2,500,000)."
    assert _claims() == [(worker.id, "jkk", 2_500_000)]
    twice = _run(app, str(path))
    assert twice.exit_code == 1
    assert twice.output.splitlines() == [
        "1 of 1 rows refused; nothing written.",
        f"  row 2, nik: Recorded already (claim #{db.session.scalar(select(Claim.id))}).",
    ]


def test_an_unreadable_file_exits_2(app, tmp_path: Path):
    path = tmp_path / "klaim.csv"
    path.write_bytes(b"nik,jumlah\r\n")
    result = _run(app, str(path), "--json")
    assert result.exit_code == 2
    assert json.loads(result.output)["errors"] == [
        {
            "row": 0,
            "column": "",
            "message": "The first row lacks the column(s): tanggal/date, jenis/type.",
        }
    ]
