"""`flask regions add CODE` makes a region from the national table; `regions list --json`."""

from __future__ import annotations

import csv
import json

from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.pledges.queries import target_choices
from portal.reference.models import Kecamatan, Kelurahan
from portal.reference.seed import DATA_DIR
from portal.regions import wilayah
from portal.regions.models import SEMARANG, Region
from portal.workers.importer import load_lookups
from portal.workers.queries import filter_choices
from tests import factories


def _regions(app) -> dict[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=["regions", "list", "--json"])
    assert result.exit_code == 0, result.output
    return {region["code"]: region for region in json.loads(result.output)}


def test_kota_semarang_is_the_region_of_the_existing_areas(app):
    factories.worker()
    factories.worker()
    assert _regions(app) == {
        SEMARANG: {
            "code": SEMARANG,
            "name": "Kota Semarang",
            "kecamatan": 16,
            "desa_kelurahan": 177,
            "workers": 2,
        }
    }
    assert db.session.get(Region, SEMARANG).regulation.endswith("Nomor 26 Tahun 2025")


def test_adding_kudus_brings_its_kecamatan_and_desa_with_one_command(app):
    result = app.test_cli_runner().invoke(args=["regions", "add", "33.19"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "33.19 Kabupaten Kudus: 9 kecamatan, 132 desa/kelurahan"
    regions = _regions(app)
    assert list(regions) == ["33.19", SEMARANG]
    assert regions["33.19"] == {
        "code": "33.19",
        "name": "Kabupaten Kudus",
        "kecamatan": 9,
        "desa_kelurahan": 132,
        "workers": 0,
    }
    assert regions[SEMARANG]["desa_kelurahan"] == 177
    kudus = db.session.scalars(select(Kecamatan).where(Kecamatan.region_code == "33.19")).all()
    assert {k.code[:6] for k in kudus} == {"33.19."} and len(kudus) == 9
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "region.add")).one()
    assert audit.object_id == "33.19" and audit.after == {
        "kecamatan": 9,
        "desa_kelurahan": 132,
        "categories": 20,
    }


def test_a_region_is_added_once_and_only_from_a_known_code(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["regions", "add", "33.24"]).exit_code == 0
    again = runner.invoke(args=["regions", "add", "33.24"])
    assert again.exit_code == 1 and "Region 33.24 exists already." in again.output
    for code in ("99.99", "33.7", "33.74.01", "semarang"):
        refused = runner.invoke(args=["regions", "add", code])
        assert refused.exit_code == 1, code
        assert "is not the Kemendagri code of a kabupaten or kota" in refused.output
    assert sorted(_regions(app)) == ["33.24", SEMARANG]


def test_another_regions_areas_stay_out_of_semarangs_pages_and_imports(app):
    assert app.test_cli_runner().invoke(args=["regions", "add", "33.19"]).exit_code == 0
    categories, kecamatan = target_choices()
    assert len(kecamatan) == 16 and all(k.region_code == SEMARANG for k in kecamatan)
    assert len(categories) == 20 and {c.region_code for c in categories} == {SEMARANG}
    choices = filter_choices()
    assert len(choices["kecamatan"]) == 16 and len(choices["kelurahan"]) == 177
    kudus_village = db.session.scalars(
        select(Kelurahan).where(Kelurahan.code.startswith("33.19."))
    ).first()
    assert kudus_village is not None
    lookups = load_lookups()
    assert kudus_village.code not in lookups.kelurahan_codes
    assert len(set(lookups.category_by_code.values())) == 20


def test_the_national_table_agrees_with_semarangs_own_seed():
    with (DATA_DIR / "semarang_wilayah.csv").open(encoding="utf-8") as handle:
        seed = {
            (row["kode_kelurahan"], row["nama_kelurahan"], row["kode_kecamatan"])
            for row in csv.DictReader(handle)
        }
    areas = wilayah.region_areas(SEMARANG)
    assert areas is not None and areas.name == "Kota Semarang"
    assert {(v.code, v.name, v.parent) for v in areas.villages} == seed
    assert wilayah.region_areas("33.7") is None and wilayah.region_areas("99.99") is None
