"""A sponsor's year for its TJSL and sustainability reports, and the statement of CSR spending.

The figures are the period report's for January to December (services.period_report, the
same cached function the sponsor dashboard uses, small groups merged the same way), with what
only a year has: the plan (the price of the year's months of the company's pledges) and the
realised amount (the money used by the year's closed months, from the ledger).

A company sponsoring in several regions files one year: read across regions, with the plan and
the realised amount of each region beside the total, each region's regulation in the legal
basis, and the beneficiaries per region and in total as the period report gives them (its
total never lets a region's hidden group be worked out, figures.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from portal.audit.services import record_event
from portal.auth.models import User
from portal.auth.permissions import Permission, can
from portal.companies.models import Company
from portal.extensions import db
from portal.i18n import current_locale, month_label, rupiah
from portal.messages import _m
from portal.pledges.models import Pledge
from portal.pledges.pricing import add_months, term_rates
from portal.regions.models import SEMARANG, SEMARANG_REGULATION
from portal.regions.scope import all_regions
from portal.reports import queries
from portal.reports.exceptions import NotAllowed, NothingRealised
from portal.reports.figures import ImpactReport
from portal.reports.models import SERIAL_PREFIX, TjslStatement
from portal.reports.queries import RegionName
from portal.reports.services import cached, period_report

# The regulation when no pledge names a region yet; each region's is its own setting.
REGULATION = SEMARANG_REGULATION
PROGRAMME = "PIJAR SEMAR (Perlindungan Sosial Pekerja Rentan Kota Semarang)"
JKM_BENEFIT = 42_000_000  # rupiah BPJS Ketenagakerjaan pays on a death (JKM)
FIRST_YEAR = 2000


@dataclass(frozen=True)
class CertificateLine:
    serial: str
    kind: str
    pledge_id: int
    issued_on: date
    revoked: bool


@dataclass(frozen=True)
class Note:
    """A titled paragraph: a legal basis line, an SDG target, a line of the method."""

    key: str
    title: str
    text: str


@dataclass(frozen=True)
class TjslRegion:
    """One region's part of the year: its regulation, plan and realised amount."""

    code: str
    name: str
    regulation: str
    plan: int
    realised: int


@dataclass(frozen=True)
class TjslYear:
    """What a company files for one year; `report` is the period report of that year."""

    year: int
    company_name: str
    nib: str
    report: ImpactReport
    plan: int
    realised_by_month: tuple[tuple[date, int], ...]
    pledge_ids: tuple[int, ...]
    certificates: tuple[CertificateLine, ...]
    receipts: tuple[str, ...]
    regions: tuple[TjslRegion, ...] = ()  # every region of the year's pledges, by name

    @property
    def national(self) -> bool:
        return len(self.regions) > 1

    @property
    def regulations(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.regulation for r in self.regions if r.regulation)) or (
            REGULATION,
        )

    @property
    def realised(self) -> int:
        return sum(amount for _, amount in self.realised_by_month)

    @property
    def not_realised(self) -> int:
        """Planned for the year and not used (yet): open months, or slots never filled."""
        return max(self.plan - self.realised, 0)

    @property
    def realised_through(self) -> date | None:
        return self.realised_by_month[-1][0] if self.realised_by_month else None


def valid_year(year: int, today: date | None = None) -> bool:
    """A year a TJSL export can be asked for: from FIRST_YEAR to this year."""
    return FIRST_YEAR <= year <= (today or date.today()).year


def tjsl_year(company: Company, year: int, today: date | None = None) -> TjslYear:
    """The company's year in every region (remembered until something changes in one)."""
    today = today or date.today()
    with all_regions():
        return cached(
            ("tjsl", company.id, year, today, current_locale()),
            lambda: _tjsl_year(company, year, today),
        )


def _tjsl_year(company: Company, year: int, today: date) -> TjslYear:
    first, last = date(year, 1, 1), date(year, 12, 1)
    report = period_report(company.id, company.legal_name, first, last, today)
    pledges = queries.company_pledges_in(company.id, first, last)
    ids = [p.id for p in pledges]
    consumed = queries.consumed_by_month(company.id, year)
    realised: dict[date, int] = {}
    for months in consumed.values():
        for month, amount in months.items():
            realised[month] = realised.get(month, 0) + amount
    codes = sorted({p.region_code for p in pledges} | set(consumed))
    return TjslYear(
        year=year,
        company_name=company.legal_name,
        nib=company.nib,
        report=report,
        plan=sum(_price_in_year(p, year) for p in pledges),
        realised_by_month=tuple(sorted(realised.items())),
        pledge_ids=tuple(ids),
        certificates=tuple(
            CertificateLine(
                c.serial, str(c.kind), c.pledge_id, c.issued_at.date(), c.revoked_at is not None
            )
            for c in queries.pledge_certificates(ids)
        ),
        receipts=tuple(queries.receipt_serials(ids)),
        regions=tuple(
            _region(region, [p for p in pledges if p.region_code == region.code], year, consumed)
            for region in queries.region_names(codes)
        ),
    )


def _region(
    region: RegionName, pledges: list[Pledge], year: int, consumed: dict[str, dict[date, int]]
) -> TjslRegion:
    return TjslRegion(
        region.code,
        region.name,
        region.regulation,
        plan=sum(_price_in_year(p, year) for p in pledges),
        realised=sum(consumed.get(region.code, {}).values()),
    )


def _price_in_year(pledge: Pledge, year: int) -> int:
    """The pledge's price for its months in the year, at the rates it was priced at."""
    start = pledge.coverage_start or pledge.start_month
    return sum(
        pledge.workers * rate
        for k, rate in enumerate(term_rates(pledge))
        if add_months(start, k).year == year
    )


# --- the statement of CSR spending ------------------------------------------------------------


def issue_statement(
    company: Company, year: int, actor: User, today: date | None = None
) -> TjslStatement:
    """The company's statement of the year's realised spending as it stands, with a serial.

    The same figures asked for again give the statement issued already (also when two
    requests race); new figures give a new statement. Raises NotAllowed, NothingRealised.
    """
    if not can(actor, Permission.COMPANY_VIEW_OWN, company):
        raise NotAllowed(
            _m(
                "%(email)s may not act for %(company)s",
                email=actor.email,
                company=company.legal_name,
            )
        )
    figures = tjsl_year(company, year, today)
    if figures.realised_through is None:
        raise NothingRealised(
            _m(
                "no month of %(year)s is closed for %(company)s",
                year=year,
                company=company.legal_name,
            )
        )
    found = queries.statement_with_figures(company.id, year, figures.plan, figures.realised)
    if found is not None:
        return found
    statement = TjslStatement(
        serial=f"tmp-{uuid.uuid4().hex}",  # the serial holds the id, known after the insert
        company_id=company.id,
        year=year,
        company_name=company.legal_name,
        plan_amount=figures.plan,
        realised_amount=figures.realised,
        realised_through=figures.realised_through,
        pledge_ids=list(figures.pledge_ids),
        receipts=list(figures.receipts),
        issued_by_id=actor.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(statement)
            db.session.flush()
    except IntegrityError:
        winner = queries.statement_with_figures(company.id, year, figures.plan, figures.realised)
        if winner is None:
            raise
        return winner
    statement.serial = format_serial(year, statement.id)
    db.session.flush()
    _audit_statement(statement, actor)
    return statement


def format_serial(year: int, statement_id: int) -> str:
    """TJSL/2026/000042: the year reported on, then the statement's number."""
    return f"{SERIAL_PREFIX}/{year}/{statement_id:06d}"


def _audit_statement(statement: TjslStatement, actor: User) -> None:
    record_event("report.tjsl_statement", statement, actor=actor, after=statement.as_json())


# --- words shared by the page, the PDF and the workbook -----------------------------------------


def legal_basis(regions: Sequence[RegionName | TjslRegion] = ()) -> tuple[Note, ...]:
    """The regulation of each region (Kota Semarang's when none is named), the programme,
    what is funded and the reports it is shaped for."""
    named = [r for r in regions if r.regulation]
    regulations = "; ".join(f"{r.name}: {r.regulation or '—'}" for r in regions)
    if len(regions) <= 1:
        regulations = named[0].regulation if named else REGULATION
    if [r.code for r in regions] in ([], [SEMARANG]):
        funds = _(
            "BPJS Ketenagakerjaan contributions for work-accident (JKK) and death (JKM) "
            "insurance of vulnerable informal workers of Kota Semarang, assigned by the "
            "city from its waiting list."
        )
    else:
        funds = _(
            "BPJS Ketenagakerjaan contributions for work-accident (JKK) and death (JKM) "
            "insurance of vulnerable informal workers of %(regions)s, assigned by each region "
            "from its waiting list.",
            regions=", ".join(r.name for r in regions),
        )
    return (
        Note("regulation", _("Legal basis of the programme"), regulations),
        Note("programme", _("Programme"), PROGRAMME),
        Note("contribution", _("What the company funds"), funds),
        Note(
            "reporting",
            _("Shaped for"),
            _(
                "The TJSL report (UU 40/2007 art. 74, PP 47/2012) and the sustainability "
                "report (POJK 51/2017, SEOJK 16/2021)."
            ),
        ),
    )


def sdg_targets() -> tuple[Note, ...]:
    return (
        Note(
            "1.3",
            _("SDG target 1.3: social protection systems for all"),
            _(
                "Informal workers without social security are enrolled in BPJS "
                "Ketenagakerjaan and kept covered month after month."
            ),
        ),
        Note(
            "8.8",
            _("SDG target 8.8: safe and secure working environments for all workers"),
            _(
                "Workers in precarious informal jobs are insured against work accidents (JKK) "
                "and death (JKM)."
            ),
        ),
    )


def benefits_note() -> str:
    return _(
        "JKM pays %(jkm)s on a death (lump sum, periodic and funeral parts). JKK pays medical "
        "care without a ceiling, income while the worker cannot work, and 48 times the declared "
        "income on a death from a work accident. BPJS Ketenagakerjaan pays the benefits.",
        jkm=rupiah(JKM_BENEFIT),
    )


def method_notes(figures: TjslYear) -> tuple[Note, ...]:
    first, last = month_label(date(figures.year, 1, 1)), month_label(date(figures.year, 12, 1))
    return (
        Note(
            "source",
            _("Source"),
            _(
                "Recomputed from the portal's coverage, claims and ledger when generated; the "
                "figures equal the impact report for %(first)s to %(last)s.",
                first=first,
                last=last,
            ),
        ),
        Note(
            "plan",
            _("Plan"),
            _(
                "The price of the months of %(year)s of the company's paid, active and "
                "completed pledges, at the rates they were priced at.",
                year=figures.year,
            ),
        ),
        Note(
            "realised",
            _("Realised"),
            _(
                "The paid money used by the months of %(year)s the city has closed so far, "
                "from the ledger.",
                year=figures.year,
            ),
        ),
        Note(
            "beneficiaries",
            _("Beneficiaries"),
            _(
                "Distinct workers covered by the company's pledges in %(year)s; the age band "
                "is the age in the first month covered.",
                year=figures.year,
            ),
        ),
    )
