"""Match runs: propose (a dry run that writes only the proposal), approve (coverage for every
placement in one transaction), discard. Approval re-checks everything the proposal relied on."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from portal.audit.services import record_event
from portal.auth.models import User
from portal.coverage.models import Coverage, Funder
from portal.coverage.services import covered_elsewhere
from portal.db import utcnow
from portal.events import MatchApprovalRequested, MatchProposalRequested, PledgeActivated, emit
from portal.extensions import db
from portal.jobs import set_progress
from portal.mail import queue_mail
from portal.matching import engine, queries
from portal.matching.exceptions import (
    InvalidRules,
    MonthNotOpen,
    RunNotOpen,
    SameApprover,
    StaleProposal,
)
from portal.matching.models import MatchPlacement, MatchRun, RunStatus, failure_text
from portal.matching.rules import Rules, current_rules, current_version
from portal.messages import Message, _m, as_text, english, message_of
from portal.payments.unused import mark_unused
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months, rate_for, term_rates
from portal.pledges.services import transition_pledge
from portal.reports.figures import placement as sponsor_placement
from portal.workers.models import Worker

INSERT_BATCH = 50_000
PLACEMENT_COLUMNS = ("run_id", "worker_id", "funder", "pledge_id", "slot", "months")
COVERAGE_COLUMNS = (
    "worker_id",
    "month",
    "funder",
    "amount",
    "rule_version",
    "pledge_id",
    "slot",
    "run_id",
    "created_at",
    "region_code",
    "person_key",
)
NO_FIT = "no_fit"


def matchable_months(today: date | None = None) -> list[date]:
    """This month and next: contributions for informal workers are paid ahead of the month."""
    this_month = (today or date.today()).replace(day=1)
    return [this_month, add_months(this_month, 1)]


def check_month_open(month: date, today: date | None = None) -> None:
    """Raises MonthNotOpen."""
    if month.day != 1 or month not in matchable_months(today):
        raise MonthNotOpen(_m("%(month)s is not this month or next month", month=f"{month:%Y-%m}"))
    if queries.is_closed(month):
        raise MonthNotOpen(_m("%(month)s is closed", month=f"{month:%Y-%m}"))


def run_subject(run_id: int) -> str:
    """What the run's jobs and their follow-ups (certificates, e-mails) are filed under."""
    return f"match_run:{run_id}"


def request_proposal(month: date, actor: User) -> MatchRun:
    """Ask for a proposal from a page: checked now, placed by a job worker (at full scale the
    waiting list is hundreds of thousands of workers); the run's page follows it.
    Raises MonthNotOpen, InvalidRules."""
    check_month_open(month)
    run = MatchRun(
        month=month,
        status=RunStatus.PREPARING,
        rule_version=current_rules().version,
        proposed_by_id=actor.id,
    )
    db.session.add(run)
    db.session.flush()
    record_event("match.propose_requested", run, actor=actor, after={"month": f"{month:%Y-%m}"})
    emit(db.session, MatchProposalRequested(run.id, actor.id), subject=run_subject(run.id))
    return run


def prepare_requested(run_id: int, actor: User | None) -> str:
    """The job: place the waiting list into the run asked for; a month closed meanwhile or
    rules that no longer hold end the run with the reason. Returns the outcome."""
    run = db.session.get(MatchRun, run_id)
    if run is None or run.status != RunStatus.PREPARING:
        return "not_preparing"  # done already (a second delivery) or discarded meanwhile
    try:
        with db.session.begin_nested():
            _place(run, actor)
    except (MonthNotOpen, InvalidRules) as error:
        run.status = RunStatus.DISCARDED
        why = message_of(error)
        run.failure = as_text(why)
        run.decided_at = utcnow()
        db.session.flush()
        record_event("match.propose_refused", run, actor=actor, after={"why": english(why)})
        return "refused"
    return "proposed"


def propose_run(month: date, actor: User | None, today: date | None = None) -> MatchRun:
    """Place the waiting list for `month` by R3-R5 and store it as a proposal, now (the
    command line; pages ask a job worker through request_proposal).

    Writes only the run and its placements: no coverage, no pledge changes.
    Raises MonthNotOpen, InvalidRules.
    """
    check_month_open(month, today)
    run = MatchRun(
        month=month,
        status=RunStatus.PREPARING,
        rule_version=current_rules().version,
        proposed_by_id=actor.id if actor else None,
    )
    db.session.add(run)
    db.session.flush()
    return _place(run, actor, today)


PLACE_STEPS = 4  # waiting list read, city quotas filled, pledges filled, proposal saved


def _place(run: MatchRun, actor: User | None, today: date | None = None) -> MatchRun:
    month = run.month
    check_month_open(month, today)
    subject = run_subject(run.id)
    rules = current_rules()
    waiting = queries.waiting_candidates(month, rules)
    elsewhere = covered_elsewhere(month)  # funded in another region: not waiting here
    everyone = engine.by_priority(c for c in waiting if c.worker_id not in elsewhere)
    pledges = queries.open_pledges(month)
    carried = _carried_over(pledges, everyone)  # R7: a renewal keeps its workers first
    kept = {w for workers in carried.values() for w in workers}
    ranked = [c for c in everyone if c.worker_id not in kept]
    set_progress(subject, 1, PLACE_STEPS)
    already = queries.city_counts(month)
    quotas = {f: rules.quota(f, month) for f in ("apbd", "dbhcht")}
    city = engine.fill_city(
        ranked, quotas, already, queries.city_last_month(month), rules.dbhcht_categories
    )
    set_progress(subject, 2, PLACE_STEPS)
    city_taken = {w for workers in city.placed.values() for w in workers}
    rest = [c for c in ranked if c.worker_id not in city_taken]
    demands = [
        replace(p.demand(), slots=p.workers - len(carried.get(p.pledge_id, []))) for p in pledges
    ]
    placed = engine.place(demands, rest)
    for pledge_id, workers in carried.items():
        placed[pledge_id] = workers + placed.get(pledge_id, [])
    set_progress(subject, 3, PLACE_STEPS)

    rows: list[tuple[Any, ...]] = [
        (run.id, w, funder, None, None, 1)
        for funder, workers in city.placed.items()
        for w in workers
    ]
    by_id = {p.pledge_id: p for p in pledges}
    rows += [
        (run.id, w, Funder.PLEDGE.value, pledge_id, slot, by_id[pledge_id].months)
        for pledge_id, workers in placed.items()
        for slot, w in zip(by_id[pledge_id].slots(), workers, strict=False)
    ]
    _insert_many(MatchPlacement.__table__, PLACEMENT_COLUMNS, rows)
    run.status = RunStatus.PROPOSED
    run.rule_version = rules.version
    run.placed = len(rows)
    run.coverage_rows = sum(row_months for *_, row_months in rows)
    run.summary = {
        **_summary(everyone, city, already, quotas, pledges, placed, rest),
        "covered_elsewhere": len(waiting) - len(everyone),
    }
    db.session.flush()
    set_progress(subject, 4, PLACE_STEPS)
    record_event(
        "match.propose",
        run,
        actor=actor,
        after={"month": f"{month:%Y-%m}", "placed": run.placed, "rule_version": rules.version},
    )
    return run


def _carried_over(
    pledges: list[queries.OpenPledge], waiting: list[engine.Candidate]
) -> dict[int, list[int]]:
    """The workers each renewal takes over from the pledge it continues: those still
    waiting (eligible, not covered from this month on) who fit its target, up to its slots."""
    by_id = {c.worker_id: c for c in waiting}
    carried: dict[int, list[int]] = {}
    taken: set[int] = set()
    open_by_id = {p.pledge_id: p for p in pledges}
    for pledge_id, workers in queries.renewal_predecessors(open_by_id).items():
        demand = open_by_id[pledge_id].demand()
        fitting = [
            w
            for w in workers
            if w in by_id and w not in taken and demand.fits(by_id[w].category, by_id[w].kecamatan)
        ][: demand.slots]
        taken.update(fitting)
        carried[pledge_id] = fitting
    return carried


def _summary(
    ranked: list[engine.Candidate],
    city: engine.CityFill,
    already: dict[str, int],
    quotas: dict[str, int],
    pledges: list[queries.OpenPledge],
    placed: dict[int, list[int]],
    rest: list[engine.Candidate],
) -> dict[str, Any]:
    by_id = {c.worker_id: c for c in ranked}
    chosen = [w for workers in city.placed.values() for w in workers]
    chosen += [w for workers in placed.values() for w in workers]
    waiting_cells = Counter((c.category, c.kecamatan) for c in rest)
    pledge_rows = []
    for pledge in pledges:
        demand = pledge.demand()
        got = len(placed.get(pledge.pledge_id, []))
        fitting = sum(n for cell, n in waiting_cells.items() if demand.fits(*cell))
        pledge_rows.append(
            {
                "id": pledge.pledge_id,
                "company": pledge.company_name,
                "slots": pledge.workers,
                "months": pledge.months,
                "placed": got,
                "unfilled": pledge.workers - got,
                "fitting": fitting,
                "categories": list(pledge.categories),
                "kecamatan": list(pledge.kecamatan),
                "reason": NO_FIT if got < pledge.workers else "",
            }
        )
    return {
        "waiting_before": len(ranked),
        "waiting_after": len(ranked) - len(chosen),
        "city": {
            f: {
                "quota": quotas[f],
                "before": already.get(f, 0),
                "continuing": city.continuing.get(f, 0),
                "new": len(city.placed[f]) - city.continuing.get(f, 0),
                "after": already.get(f, 0) + len(city.placed[f]),
            }
            for f in quotas
        },
        "pledges": pledge_rows,
        "by_category": dict(Counter(by_id[w].category for w in chosen)),
        "by_kecamatan": dict(Counter(by_id[w].kecamatan for w in chosen)),
        "lapsing_placed": sum(1 for w in chosen if by_id[w].lapsing),
    }


def request_approval(run: MatchRun, actor: User) -> None:
    """Approve a proposal from a page: checked now, written by a job worker (at 250,000
    workers an approval writes hundreds of thousands of rows). Raises RunNotOpen, SameApprover.
    """
    if run.status != RunStatus.PROPOSED or run.approval_requested_at is not None:
        raise RunNotOpen(_m("run %(run)s is not a proposal waiting for approval", run=run.id))
    _check_approver(run, actor, current_rules())
    run.approval_requested_at = utcnow()
    run.approval_requested_by_id = actor.id
    db.session.flush()
    record_event("match.approval_requested", run, actor=actor)
    emit(db.session, MatchApprovalRequested(run.id, actor.id), subject=run_subject(run.id))


def approve_requested(run_id: int, actor: User | None) -> str:
    """The job: approve, or record why the proposal went stale (in its own savepoint, so a
    stale proposal leaves nothing of the approval). Returns the outcome."""
    run = db.session.get(MatchRun, run_id)
    if run is None or run.status != RunStatus.PROPOSED:
        return "not_open"
    try:
        with db.session.begin_nested():
            approve_run(run, actor)
    except StaleProposal as error:
        mark_stale(run_id, error.reasons, actor)
        return "stale"
    except (SameApprover, RunNotOpen) as error:
        mark_stale(run_id, [message_of(error)], actor)
        return "refused"
    return "approved"


def approve_run(run: MatchRun, actor: User | None) -> int:
    """Write the coverage of every placement of a proposal in this transaction; pledges become
    active and their sponsors are told what was placed (counts, never who).

    Returns the number of coverage rows. Raises RunNotOpen, SameApprover, and StaleProposal
    when anything the proposal relied on changed; the caller then rolls back (nothing was
    written) and may call mark_stale.
    """
    _check_approver(run, actor, current_rules())
    claimed = db.session.execute(
        update(MatchRun)
        .where(MatchRun.id == run.id, MatchRun.status == RunStatus.PROPOSED)
        .values(status=RunStatus.APPROVED),
        execution_options={"synchronize_session": False},
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult
        raise RunNotOpen(_m("run %(run)s is not a proposal", run=run.id))
    db.session.refresh(run)
    pledges = _check_unchanged(run)
    rows, skipped = _skip_covered_elsewhere(run, _coverage_rows(run, pledges))
    _check_money(rows, pledges)
    try:
        _insert_coverage(run, rows)
    except IntegrityError:
        # Another region may have funded one of the people meanwhile, its rows now committed:
        # they are skipped too, once. Any other clash makes the proposal stale.
        rows, more = _skip_covered_elsewhere(run, rows)
        if not more:
            raise StaleProposal([COVERED_MEANWHILE]) from None
        skipped |= more
        try:
            _insert_coverage(run, rows)
        except IntegrityError:
            raise StaleProposal([COVERED_MEANWHILE]) from None
    for pledge in pledges.values():
        if pledge.status == PledgeStatus.ACTIVE:  # empty slots filled for the rest of the term
            record_event(
                "pledge.slots_filled",
                pledge,
                actor=actor,
                after={"run_id": run.id, "month": f"{run.month:%Y-%m}"},
            )
            continue
        pledge.coverage_start = run.month
        transition_pledge(pledge, PledgeStatus.ACTIVE, actor, note=f"match run #{run.id}")
        emit(
            db.session,
            PledgeActivated(pledge.id, actor.id if actor else None),
            subject=run_subject(run.id),
        )
    run.approved_by_id = actor.id if actor else None
    run.decided_at = utcnow()
    run.coverage_rows = len(rows)
    run.summary = {**(run.summary or {}), "skipped_elsewhere": len(skipped)}
    db.session.flush()
    record_event(
        "match.approve",
        run,
        actor=actor,
        after={
            "month": f"{run.month:%Y-%m}",
            "coverage_rows": len(rows),
            "skipped_elsewhere": len(skipped),
        },
    )
    _tell_sponsors(run, pledges)
    return len(rows)


COVERED_MEANWHILE = _m("a worker in this proposal was covered by another approval")


def _insert_coverage(run: MatchRun, rows: list[tuple[Any, ...]]) -> None:
    """Raises IntegrityError, with nothing written, when a row clashes with coverage there."""
    with db.session.begin_nested():
        _insert_many(
            Coverage.__table__,
            COVERAGE_COLUMNS,
            rows,
            progress=lambda done: set_progress(run_subject(run.id), done, len(rows)),
        )


def _skip_covered_elsewhere(
    run: MatchRun, rows: list[tuple[Any, ...]]
) -> tuple[list[tuple[Any, ...]], set[int]]:
    """The rows without those of workers whose person another region funds in one of the
    rows' months (a worker registered there before moving here), and those workers."""
    stored = _stored(Coverage.month)
    taken = {
        (worker_id, stored(month))
        for worker_id, months in covered_elsewhere(run.month).items()
        for month in months
    }
    skipped = {row[0] for row in rows if (row[0], row[1]) in taken}
    return [row for row in rows if row[0] not in skipped], skipped


def _check_approver(run: MatchRun, actor: User | None, rules: Rules) -> None:
    if rules.require_second_approver and (actor is None or actor.id == run.proposed_by_id):
        raise SameApprover(_m("the rules require a different staff member to approve"))


def _check_unchanged(run: MatchRun) -> dict[int, Pledge]:
    """Raises StaleProposal listing every change found; returns the run's pledges, locked."""
    reasons: list[Message] = []
    if current_version() != run.rule_version:
        reasons.append(
            _m(
                "the rules changed (proposal used version %(used)s, now %(now)s)",
                used=run.rule_version,
                now=current_version(),
            )
        )
    if queries.is_closed(run.month):
        reasons.append(_m("%(month)s was closed", month=f"{run.month:%Y-%m}"))
    pledge_ids = set(
        db.session.scalars(
            select(MatchPlacement.pledge_id)
            .where(MatchPlacement.run_id == run.id, MatchPlacement.pledge_id.is_not(None))
            .distinct()
        )
    )
    pledges = {
        p.id: p
        for p in db.session.scalars(
            select(Pledge).where(Pledge.id.in_(pledge_ids)).order_by(Pledge.id).with_for_update()
        )
    }
    for pledge in pledges.values():
        if pledge.status not in (PledgeStatus.PAID, PledgeStatus.ACTIVE):
            reasons.append(_m("pledge #%(pledge)s is no longer paid or active", pledge=pledge.id))
        elif pledge.on_hold:
            reasons.append(_m("pledge #%(pledge)s is on hold (a card dispute)", pledge=pledge.id))
    filled = queries.placements_in_filled_slots(run)
    if filled:
        reasons.append(_m("%(n)s pledge slot(s) were filled since the proposal", n=filled))
    covered = queries.placements_already_covered(run)
    if covered:
        reasons.append(_m("%(n)s placed worker(s) were covered since the proposal", n=covered))
    ineligible = queries.placements_not_eligible(run)
    if ineligible:
        reasons.append(_m("%(n)s placed worker(s) are no longer eligible", n=ineligible))
    if reasons:
        raise StaleProposal(reasons)
    return pledges


def _check_money(rows: list[tuple[Any, ...]], pledges: dict[int, Pledge]) -> None:
    """Each pledge's new coverage must be paid for by its unassigned money (a refund since
    the proposal may have taken it): closing a month can then never lack money."""
    cost: Counter[int] = Counter()
    for row in rows:
        if row[5] is not None:
            cost[row[5]] += row[3]
    money = queries.unassigned_money(list(cost))
    short = [pledge_id for pledge_id, amount in sorted(cost.items()) if amount > money[pledge_id]]
    if short:
        raise StaleProposal(
            [
                _m(
                    "pledge #%(pledge)s no longer has the money for its placements",
                    pledge=pledge_id,
                )
                for pledge_id in short
            ]
        )


def _coverage_rows(run: MatchRun, pledges: dict[int, Pledge]) -> list[tuple[Any, ...]]:
    """Rows in COVERAGE_COLUMNS order, values already in stored form (see _insert_many)."""
    month_value, created = _stored(Coverage.month), _stored(Coverage.created_at)
    now = created(utcnow())
    city_rate = rate_for(run.month, funding_source="city").monthly_amount
    terms = {
        p.id: [
            (month_value(add_months(run.month, k)), rate)
            for k, rate in enumerate(term_rates(p)[_term_offset(p, run.month) :])
        ]
        for p in pledges.values()
    }
    month, version, run_id = month_value(run.month), run.rule_version, run.id
    region = run.region_code
    rows: list[tuple[Any, ...]] = []
    # In (person, month) order: two approvals racing on PostgreSQL, in one region or in two,
    # then wait for each other's rows in the same order, so the loser fails on a unique
    # constraint, never in a deadlock (a person's worker ids differ between regions).
    placements = db.session.execute(
        select(
            MatchPlacement.worker_id,
            MatchPlacement.funder,
            MatchPlacement.pledge_id,
            MatchPlacement.slot,
            Worker.nik_hash,
        )
        .join(Worker, Worker.id == MatchPlacement.worker_id)
        .where(MatchPlacement.run_id == run.id)
        .order_by(Worker.nik_hash)
    )
    for worker_id, funder, pledge_id, slot, person in placements:
        if pledge_id is None:
            rows.append(
                (
                    worker_id,
                    month,
                    funder,
                    city_rate,
                    version,
                    None,
                    None,
                    run_id,
                    now,
                    region,
                    person,
                )
            )
        else:
            rows.extend(
                [
                    (
                        worker_id,
                        term_month,
                        funder,
                        rate,
                        version,
                        pledge_id,
                        slot,
                        run_id,
                        now,
                        region,
                        person,
                    )
                    for term_month, rate in terms[pledge_id]
                ]
            )
    return rows


def _term_offset(pledge: Pledge, month: date) -> int:
    """How many months of the term lie before `month` (0 for a pledge starting with it)."""
    if pledge.coverage_start is None:
        return 0
    return queries.months_between(pledge.coverage_start, month)


def _stored(column: Any) -> Callable[[Any], Any]:
    """The column type's conversion of a Python value to what the driver is given."""
    dialect = db.session.connection().dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process or (lambda value: value)


def _insert_many(
    table: Table,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    progress: Callable[[int], object] = lambda done: None,
) -> None:
    """executemany of plain tuples on the session's connection. At hundreds of thousands of
    rows, SQLAlchemy's per-row parameter and type processing costs more than the inserts, so
    the rows must hold values as the driver takes them (see _stored)."""
    connection = db.session.connection()
    compiled = insert(table).compile(
        dialect=connection.dialect, column_keys=list(columns), for_executemany=True
    )
    params: list[Any] = rows
    if not compiled.positional:
        params = [dict(zip(columns, row, strict=True)) for row in rows]
    elif list(compiled.positiontup or ()) != list(columns):
        order = [columns.index(name) for name in compiled.positiontup or ()]
        params = [tuple(row[i] for i in order) for row in rows]
    for start in range(0, len(params), INSERT_BATCH):
        connection.exec_driver_sql(str(compiled), params[start : start + INSERT_BATCH])
        progress(min(start + INSERT_BATCH, len(params)))


def mark_stale(run_id: int, reasons: Sequence[Message | str], actor: User | None) -> None:
    """After a failed approval was rolled back: record why, so nobody approves it again.
    The reasons are kept as data (MatchRun.failure_reasons), shown in the reader's language."""
    result = db.session.execute(
        update(MatchRun)
        .where(MatchRun.id == run_id, MatchRun.status == RunStatus.PROPOSED)
        .values(status=RunStatus.STALE, failure=failure_text(reasons), decided_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]  # a CursorResult
        run = db.session.get(MatchRun, run_id)
        db.session.refresh(run)
        record_event(
            "match.stale", run, actor=actor, after={"reasons": [english(r) for r in reasons]}
        )


def discard_run(run: MatchRun, actor: User | None) -> None:
    """Raises RunNotOpen."""
    if run.status != RunStatus.PROPOSED:
        raise RunNotOpen(_m("run %(run)s is not a proposal", run=run.id))
    run.status = RunStatus.DISCARDED
    run.decided_at = utcnow()
    db.session.flush()
    record_event("match.discard", run, actor=actor, after={"month": f"{run.month:%Y-%m}"})


def _tell_sponsors(run: MatchRun, pledges: dict[int, Pledge]) -> None:
    """Each sponsor of the run hears what was placed (counts, never who) and how many slots
    stayed empty and why; money for empty slots then waits for the sponsor's decision."""
    owners: dict[int, list[Any]] = defaultdict(list)
    rows = {int(row["id"]): row for row in (run.summary or {}).get("pledges", [])}
    everyone = {
        **pledges,
        **{
            p.id: p
            for p in db.session.scalars(
                select(Pledge).where(Pledge.id.in_(set(rows) - set(pledges)))
            )
        },
    }
    for owner in db.session.execute(
        select(User.email, User.full_name, User.company_id).where(
            User.company_id.in_({p.company_id for p in everyone.values()}), User.active.is_(True)
        )
    ):
        owners[owner.company_id].append(owner)
    profiles = queries.run_placement_profiles(run.id)
    empty: dict[str, dict[str, int]] = {"category": {}, "kecamatan": {}}
    for pledge in everyone.values():
        row = rows.get(pledge.id, {})
        unfilled = int(row.get("unfilled", 0))
        waiting = mark_unused(pledge, f"run #{run.id}: {unfilled} slot(s) empty") if unfilled else 0
        shown = sponsor_placement(profiles.get(pledge.id, empty), 0)  # as a sponsor may see
        template = "emails/placement.txt" if pledge.id in pledges else "emails/not_placed.txt"
        for owner in owners[pledge.company_id]:
            queue_mail(
                db.session,
                owner.email,
                "PIJAR SEMAR: hasil penempatan pekerja",
                template,
                pledge=pledge,
                user=owner,
                placed=shown.workers,
                placement=shown,
                month=run.month,
                unfilled=unfilled,
                slots=int(row.get("slots", pledge.workers)),
                waiting=waiting,
            )
