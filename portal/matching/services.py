"""Match runs: propose (a dry run that writes only the proposal), approve (coverage for every
placement in one transaction), discard. Approval re-checks everything the proposal relied on."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from portal.audit.services import record_event
from portal.auth.models import User
from portal.coverage.models import Coverage, Funder
from portal.db import utcnow
from portal.extensions import db
from portal.mail import queue_mail
from portal.matching import engine, queries
from portal.matching.exceptions import MonthNotOpen, RunNotOpen, SameApprover, StaleProposal
from portal.matching.models import MatchPlacement, MatchRun, RunStatus
from portal.matching.rules import Rules, current_rules, current_version
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months, rate_for
from portal.pledges.services import transition_pledge

INSERT_BATCH = 50_000
NO_FIT = "no_fit"


def matchable_months(today: date | None = None) -> list[date]:
    """This month and next: contributions for informal workers are paid ahead of the month."""
    this_month = (today or date.today()).replace(day=1)
    return [this_month, add_months(this_month, 1)]


def check_month_open(month: date, today: date | None = None) -> None:
    """Raises MonthNotOpen."""
    if month.day != 1 or month not in matchable_months(today):
        raise MonthNotOpen(f"{month:%Y-%m} is not this month or next month")
    if queries.is_closed(month):
        raise MonthNotOpen(f"{month:%Y-%m} is closed")


def propose_run(month: date, actor: User | None, today: date | None = None) -> MatchRun:
    """Place the waiting list for `month` by R3-R5 and store it as a proposal.

    Writes only the run and its placements: no coverage, no pledge changes.
    Raises MonthNotOpen, InvalidRules.
    """
    check_month_open(month, today)
    rules = current_rules()
    ranked = engine.by_priority(queries.waiting_candidates(month, rules))
    already = queries.city_counts(month)
    quotas = {f: rules.quota(f, month) for f in ("apbd", "dbhcht")}
    city = engine.fill_city(ranked, quotas, already, queries.city_last_month(month),
                            rules.dbhcht_categories)
    city_taken = {w for workers in city.placed.values() for w in workers}
    rest = [c for c in ranked if c.worker_id not in city_taken]
    pledges = queries.open_pledges(month)
    placed = engine.place([p.demand() for p in pledges], rest)

    run = MatchRun(month=month, status=RunStatus.PROPOSED, rule_version=rules.version,
                   proposed_by_id=actor.id if actor else None)
    db.session.add(run)
    db.session.flush()
    rows = [{"run_id": run.id, "worker_id": w, "funder": funder, "pledge_id": None,
             "slot": None, "months": 1}
            for funder, workers in city.placed.items() for w in workers]
    months = {p.pledge_id: p.months for p in pledges}
    rows += [{"run_id": run.id, "worker_id": w, "funder": Funder.PLEDGE.value,
              "pledge_id": pledge_id, "slot": slot, "months": months[pledge_id]}
             for pledge_id, workers in placed.items() for slot, w in enumerate(workers, 1)]
    for start in range(0, len(rows), INSERT_BATCH):
        db.session.execute(insert(MatchPlacement), rows[start:start + INSERT_BATCH])
    run.placed = len(rows)
    run.coverage_rows = sum(row["months"] for row in rows)
    run.summary = _summary(ranked, city, already, quotas, pledges, placed, rest)
    db.session.flush()
    record_event("match.propose", run, actor=actor,
                 after={"month": f"{month:%Y-%m}", "placed": run.placed,
                        "rule_version": rules.version})
    return run


def _summary(ranked: list[engine.Candidate], city: engine.CityFill, already: dict[str, int],
             quotas: dict[str, int], pledges: list[queries.OpenPledge],
             placed: dict[int, list[int]], rest: list[engine.Candidate]) -> dict[str, Any]:
    by_id = {c.worker_id: c for c in ranked}
    chosen = [w for workers in city.placed.values() for w in workers]
    chosen += [w for workers in placed.values() for w in workers]
    pledge_rows = []
    for pledge in pledges:
        demand = pledge.demand()
        got = len(placed.get(pledge.pledge_id, []))
        fitting = sum(1 for c in rest if demand.fits(c.category, c.kecamatan))
        pledge_rows.append({
            "id": pledge.pledge_id, "company": pledge.company_name, "slots": pledge.workers,
            "months": pledge.months, "placed": got, "unfilled": pledge.workers - got,
            "fitting": fitting, "categories": list(pledge.categories),
            "kecamatan": list(pledge.kecamatan),
            "reason": NO_FIT if got < pledge.workers else "",
        })
    return {
        "waiting_before": len(ranked), "waiting_after": len(ranked) - len(chosen),
        "city": {f: {"quota": quotas[f], "before": already.get(f, 0),
                     "continuing": city.continuing.get(f, 0),
                     "new": len(city.placed[f]) - city.continuing.get(f, 0),
                     "after": already.get(f, 0) + len(city.placed[f])} for f in quotas},
        "pledges": pledge_rows,
        "by_category": dict(Counter(by_id[w].category for w in chosen)),
        "by_kecamatan": dict(Counter(by_id[w].kecamatan for w in chosen)),
        "lapsing_placed": sum(1 for w in chosen if by_id[w].lapsing),
    }


def approve_run(run: MatchRun, actor: User | None) -> int:
    """Write the coverage of every placement of a proposal in this transaction; pledges become
    active and their sponsors are told what was placed (counts, never who).

    Returns the number of coverage rows. Raises RunNotOpen, SameApprover, and StaleProposal
    when anything the proposal relied on changed; the caller then rolls back (nothing was
    written) and may call mark_stale.
    """
    claimed = db.session.execute(
        update(MatchRun).where(MatchRun.id == run.id, MatchRun.status == RunStatus.PROPOSED)
        .values(status=RunStatus.APPROVED), execution_options={"synchronize_session": False})
    if claimed.rowcount != 1:
        raise RunNotOpen(f"run {run.id} is not a proposal")
    db.session.refresh(run)
    rules = current_rules()
    _check_approver(run, actor, rules)
    pledges = _check_unchanged(run)
    rows = _coverage_rows(run, pledges)
    try:
        with db.session.begin_nested():
            for start in range(0, len(rows), INSERT_BATCH):
                db.session.execute(insert(Coverage), rows[start:start + INSERT_BATCH])
    except IntegrityError:
        raise StaleProposal(["a worker in this proposal was covered by another approval"]) \
            from None
    for pledge in pledges.values():
        pledge.coverage_start = run.month
        transition_pledge(pledge, PledgeStatus.ACTIVE, actor, note=f"match run #{run.id}")
    run.approved_by_id = actor.id if actor else None
    run.decided_at = utcnow()
    run.coverage_rows = len(rows)
    db.session.flush()
    record_event("match.approve", run, actor=actor,
                 after={"month": f"{run.month:%Y-%m}", "coverage_rows": len(rows)})
    _tell_sponsors(run, pledges)
    return len(rows)


def _check_approver(run: MatchRun, actor: User | None, rules: Rules) -> None:
    if rules.require_second_approver and (actor is None or actor.id == run.proposed_by_id):
        raise SameApprover("the rules require a different staff member to approve")


def _check_unchanged(run: MatchRun) -> dict[int, Pledge]:
    """Raises StaleProposal listing every change found; returns the run's pledges, locked."""
    reasons = []
    if current_version() != run.rule_version:
        reasons.append(f"the rules changed (proposal used version {run.rule_version}, "
                       f"now {current_version()})")
    if queries.is_closed(run.month):
        reasons.append(f"{run.month:%Y-%m} was closed")
    pledge_ids = set(db.session.scalars(select(MatchPlacement.pledge_id).where(
        MatchPlacement.run_id == run.id, MatchPlacement.pledge_id.is_not(None)).distinct()))
    pledges = {p.id: p for p in db.session.scalars(
        select(Pledge).where(Pledge.id.in_(pledge_ids)).order_by(Pledge.id).with_for_update())}
    for pledge in pledges.values():
        if pledge.status != PledgeStatus.PAID:
            reasons.append(f"pledge #{pledge.id} is now {pledge.status}")
    covered = queries.placements_already_covered(run)
    if covered:
        reasons.append(f"{covered} placed worker(s) were covered since the proposal")
    ineligible = queries.placements_not_eligible(run)
    if ineligible:
        reasons.append(f"{ineligible} placed worker(s) are no longer eligible")
    if reasons:
        raise StaleProposal(reasons)
    return pledges


def term_rates(pledge: Pledge) -> list[int]:
    """The per-worker price of each month of the term, as the sponsor paid it."""
    rates = [int(line["rate"]) for line in pledge.price_breakdown or []]
    if len(rates) == pledge.months:
        return rates
    return [pledge.price_total // (pledge.workers * pledge.months)] * pledge.months


def _coverage_rows(run: MatchRun, pledges: dict[int, Pledge]) -> list[dict[str, Any]]:
    city_rate = rate_for(run.month, funding_source="city").monthly_amount
    months = {p.id: [add_months(run.month, k) for k in range(p.months)] for p in pledges.values()}
    rates = {p.id: term_rates(p) for p in pledges.values()}
    rows: list[dict[str, Any]] = []
    placements = db.session.execute(
        select(MatchPlacement.worker_id, MatchPlacement.funder, MatchPlacement.pledge_id,
               MatchPlacement.slot).where(MatchPlacement.run_id == run.id))
    for worker_id, funder, pledge_id, slot in placements:
        if pledge_id is None:
            rows.append({"worker_id": worker_id, "month": run.month, "funder": funder,
                         "amount": city_rate, "rule_version": run.rule_version,
                         "pledge_id": None, "slot": None, "run_id": run.id})
            continue
        for month, rate in zip(months[pledge_id], rates[pledge_id], strict=True):
            rows.append({"worker_id": worker_id, "month": month, "funder": funder,
                         "amount": rate, "rule_version": run.rule_version,
                         "pledge_id": pledge_id, "slot": slot, "run_id": run.id})
    return rows


def mark_stale(run_id: int, reasons: list[str], actor: User | None) -> None:
    """After a failed approval was rolled back: record why, so nobody approves it again."""
    result = db.session.execute(
        update(MatchRun).where(MatchRun.id == run_id, MatchRun.status == RunStatus.PROPOSED)
        .values(status=RunStatus.STALE, failure="; ".join(reasons)[:2000], decided_at=utcnow()),
        execution_options={"synchronize_session": False})
    if result.rowcount == 1:
        run = db.session.get(MatchRun, run_id)
        db.session.refresh(run)
        record_event("match.stale", run, actor=actor, after={"reasons": reasons})


def discard_run(run: MatchRun, actor: User | None) -> None:
    """Raises RunNotOpen."""
    if run.status != RunStatus.PROPOSED:
        raise RunNotOpen(f"run {run.id} is not a proposal")
    run.status = RunStatus.DISCARDED
    run.decided_at = utcnow()
    db.session.flush()
    record_event("match.discard", run, actor=actor, after={"month": f"{run.month:%Y-%m}"})


def _tell_sponsors(run: MatchRun, pledges: dict[int, Pledge]) -> None:
    owners = db.session.execute(select(User.email, User.full_name, User.company_id).where(
        User.company_id.in_({p.company_id for p in pledges.values()}),
        User.active.is_(True))).all()
    for pledge in pledges.values():
        profile = queries.placement_profile(pledge.id)
        placed = sum(profile["category"].values())
        for owner in owners:
            if owner.company_id == pledge.company_id:
                queue_mail(db.session, owner.email, "PIJAR SEMAR: pekerja ditempatkan",
                           "emails/placement.txt", pledge=pledge, user=owner, placed=placed,
                           profile=profile, month=run.month)
