"""Property tests of matching: R3-R5 on random instances, against a worker-level max-flow oracle.

The engine is checked on plain values; propose + approve is checked against the database, each
example inside its own savepoint that is rolled back, so examples never see each other's rows.
"""

from __future__ import annotations

from datetime import date, timedelta

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.matching import engine, queries, services
from portal.pledges.pricing import add_months
from portal.pledges.services import earliest_start
from portal.reference.models import Category, Kelurahan
from portal.workers.models import Worker
from tests import factories
from tests.matching import builders

CATEGORIES = ("becak", "ojek", "petani", "pkl")
KECAMATAN = ("33.74.01", "33.74.02", "33.74.03")


# ---------------------------------------------------------------- engine, on plain values

candidates = st.lists(
    st.builds(
        lambda worker_id, category, kecamatan, lapsing, weight, decile, days: engine.Candidate(
            worker_id,
            category,
            kecamatan,
            lapsing,
            weight,
            decile,
            date(2025, 1, 1) + timedelta(days=days),
        ),
        st.integers(1, 10_000),
        st.sampled_from(CATEGORIES),
        st.sampled_from(KECAMATAN),
        st.booleans(),
        st.integers(1, 3),
        st.none() | st.integers(1, 10),
        st.integers(0, 30),
    ),
    max_size=30,
    unique_by=lambda c: c.worker_id,
)

targets = st.frozensets(st.sampled_from(CATEGORIES), max_size=2)
areas = st.frozensets(st.sampled_from(KECAMATAN), max_size=2)
demands = st.lists(
    st.builds(engine.Demand, st.integers(1, 10**6), st.integers(0, 8), targets, areas),
    max_size=6,
    unique_by=lambda d: d.pledge_id,
)


def max_placements(demands: list[engine.Demand], waiting: list[engine.Candidate]) -> int:
    """The oracle: source -> pledge (slots) -> each worker who fits it (1) -> sink (1)."""
    graph = nx.DiGraph()
    graph.add_node("source")
    graph.add_node("sink")
    for d in demands:
        graph.add_edge("source", ("pledge", d.pledge_id), capacity=d.slots)
        for c in waiting:
            if d.fits(c.category, c.kecamatan):
                graph.add_edge(("pledge", d.pledge_id), ("worker", c.worker_id), capacity=1)
    for c in waiting:
        graph.add_edge(("worker", c.worker_id), "sink", capacity=1)
    return int(nx.maximum_flow_value(graph, "source", "sink"))


@settings(max_examples=400, deadline=None)
@given(candidates, demands)
def test_place_is_a_maximum_placement_that_respects_priority(waiting, wanted):
    ranked = engine.by_priority(waiting)
    by_id = {c.worker_id: c for c in waiting}
    result = engine.place(wanted, ranked)

    assert set(result) == {d.pledge_id for d in wanted}
    placed = [w for workers in result.values() for w in workers]
    assert len(placed) == len(set(placed)), "a worker placed twice"
    assert len(placed) == max_placements(wanted, waiting)
    unplaced = [c for c in waiting if c.worker_id not in set(placed)]
    for demand in wanted:
        mine = [by_id[w] for w in result[demand.pledge_id]]
        assert len(mine) <= demand.slots
        assert all(demand.fits(c.category, c.kecamatan) for c in mine)
        for other in unplaced:
            if demand.fits(other.category, other.kecamatan):
                assert all(c.priority < other.priority for c in mine), (demand, other)


@settings(max_examples=400, deadline=None)
@given(candidates, st.data())
def test_fill_city_keeps_quotas_categories_continuity_and_rank(waiting, data):
    ids = [c.worker_id for c in waiting]
    quotas = {"apbd": data.draw(st.integers(0, 12)), "dbhcht": data.draw(st.integers(0, 12))}
    already = {"apbd": data.draw(st.integers(0, 6)), "dbhcht": data.draw(st.integers(0, 6))}
    continuing = (
        data.draw(
            st.dictionaries(
                st.sampled_from(ids), st.sampled_from(["apbd", "dbhcht"]), max_size=len(ids)
            )
        )
        if ids
        else {}
    )
    dbhcht_categories = data.draw(st.frozensets(st.sampled_from(CATEGORIES)))
    ranked = engine.by_priority(waiting)
    by_id = {c.worker_id: c for c in waiting}

    fill = engine.fill_city(ranked, quotas, already, continuing, dbhcht_categories)

    allowed = {"apbd": set(CATEGORIES), "dbhcht": set(dbhcht_categories)}
    room = {f: max(quotas[f] - already[f], 0) for f in quotas}
    placed = [w for workers in fill.placed.values() for w in workers]
    assert len(placed) == len(set(placed)) and set(placed) <= set(ids)
    for funder, workers in fill.placed.items():
        assert len(workers) <= room[funder], "quota exceeded"
        assert all(by_id[w].category in allowed[funder] for w in workers)
        kept = workers[: fill.continuing[funder]]
        new = [by_id[w] for w in workers[fill.continuing[funder] :]]
        assert all(continuing.get(w) == funder for w in kept)
        for c in waiting:  # continuing workers keep their funder first
            if (
                continuing.get(c.worker_id) == funder
                and c.category in allowed[funder]
                and c.worker_id not in kept
            ):
                assert len(kept) == room[funder]
                assert all(by_id[w].priority < c.priority for w in kept)
        for c in waiting:  # then the city takes the best-ranked of those left
            if c.worker_id not in placed and c.category in allowed[funder]:
                assert len(workers) == room[funder]
                assert all(n.priority < c.priority for n in new)


# ---------------------------------------------------------------- propose + approve, in the db

KELURAHAN = ("33.74.01.1001", "33.74.01.1002", "33.74.02.1001", "33.74.03.1001")
workers_spec = st.lists(
    st.tuples(
        st.sampled_from(CATEGORIES[:3]),
        st.sampled_from(KELURAHAN),
        st.sampled_from(
            ["waiting", "waiting", "waiting", "lapsing", "covered", "covered_later", "registered"]
        ),
    ),
    max_size=14,
)
pledges_spec = st.lists(
    st.tuples(
        st.integers(1, 5),
        st.sampled_from([1, 2, 3]),
        st.frozensets(st.sampled_from(CATEGORIES[:3]), max_size=2),
        st.frozensets(st.sampled_from(KECAMATAN), max_size=1),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=50, deadline=None)
@given(workers_spec, pledges_spec)
def test_approved_run_is_optimal_and_within_every_bound(app, spec_workers, spec_pledges):
    savepoint = db.session.begin_nested()
    try:
        _check_approved_run(spec_workers, spec_pledges)
    finally:
        savepoint.rollback()


def _check_approved_run(spec_workers, spec_pledges) -> None:  # type: ignore[no-untyped-def]
    month = earliest_start()
    staff = factories.user(Role.STAFF)
    builders.rules(city_quotas={})
    assert db.session.scalar(select(func.count(Worker.id))) == 0, "an example saw another's rows"
    waiting = []
    for category, kelurahan, state in spec_workers:
        worker = factories.worker(
            category_code=category,
            kelurahan_code=kelurahan,
            status="registered" if state == "registered" else "eligible",
        )
        covered = {"lapsing": -1, "covered": 0, "covered_later": 2}.get(state)
        if covered is not None:
            builders.city_coverage(worker.id, add_months(month, covered))
        if state in ("waiting", "lapsing"):
            waiting.append(engine.Candidate(worker.id, category, kelurahan[:8]))
    company = builders.sponsor()
    pledges = [
        builders.paid_pledge(
            company,
            workers=n,
            months=months,
            start=month,
            categories=tuple(cats),
            kecamatan=tuple(kecs),
        )
        for n, months, cats, kecs in spec_pledges
    ]

    run = services.propose_run(month, staff)
    services.approve_run(run, staff)

    assert _duplicate_worker_months() == []
    profiles = queries.run_placement_profiles(run.id)
    assert profiles == {
        p.id: queries.placement_profile(p.id)
        for p in pledges
        if p.id in profiles or queries.covered_slot_months(p.id)
    }
    best = max_placements(
        [
            engine.Demand(
                p.id, p.workers, frozenset(p.target_categories), frozenset(p.target_kecamatan)
            )
            for p in pledges
        ],
        waiting,
    )
    rows = db.session.execute(
        select(
            Coverage.pledge_id,
            Coverage.slot,
            Coverage.worker_id,
            Coverage.month,
            Category.code,
            Kelurahan.kecamatan_code,
        )
        .join(Worker, Worker.id == Coverage.worker_id)
        .join(Category, Category.id == Worker.category_id)
        .join(Kelurahan, Kelurahan.code == Worker.kelurahan_code)
        .where(Coverage.funder == Funder.PLEDGE)
    ).all()
    assert len({r.worker_id for r in rows}) == best
    assert {r.worker_id for r in rows} <= {c.worker_id for c in waiting}
    for pledge in pledges:
        mine = [r for r in rows if r.pledge_id == pledge.id]
        assert len(mine) <= pledge.workers * pledge.months
        for slot in {r.slot for r in mine}:
            months = sorted(r.month for r in mine if r.slot == slot)
            assert months == [add_months(month, k) for k in range(pledge.months)]
            assert len({r.worker_id for r in mine if r.slot == slot}) == 1
        assert {r.slot for r in mine} <= set(range(1, pledge.workers + 1))
        demand = engine.Demand(
            pledge.id,
            pledge.workers,
            frozenset(pledge.target_categories),
            frozenset(pledge.target_kecamatan),
        )
        assert all(demand.fits(r.code, r.kecamatan_code) for r in mine), "target ignored"
    written = db.session.scalars(select(Coverage.created_at).where(Coverage.run_id == run.id))
    assert all(at.tzinfo is not None for at in written)


def _duplicate_worker_months() -> list[tuple[int, date]]:
    return [
        tuple(row)
        for row in db.session.execute(
            select(Coverage.worker_id, Coverage.month)
            .group_by(Coverage.worker_id, Coverage.month)
            .having(func.count() > 1)
        )
    ]
