"""Journal entries and their lines; every entry sums to zero, and nothing is ever deleted."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import UTCDateTime, enum_check, utcnow
from portal.extensions import Model
from portal.regions.scope import RegionOwned


class Account(enum.StrEnum):
    CASH = "cash"  # the city's programme account
    SPONSOR_PREPAID = "sponsor_prepaid"  # money sponsors paid and not yet used (per company)
    PAYABLE_BPJS = "payable_bpjs"  # contributions owed to BPJS TK
    CITY_FUNDING = "city_funding"  # APBD / DBHCHT spending


class EntryKind(enum.StrEnum):
    PAYMENT_RECEIVED = "payment_received"
    REFUND = "refund"
    COVERAGE_CONSUMED = "coverage_consumed"
    REMITTANCE = "remittance"


class LedgerEntry(RegionOwned, Model):
    """One journal entry; source_key makes applying the same event twice impossible."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        # A month's keys ("city:apbd:2027-01") repeat in every region; each books them once.
        UniqueConstraint(
            "region_code", "kind", "source_key", name="uq_ledger_entry_region_kind_source"
        ),
        CheckConstraint(enum_check("kind", EntryKind), name="kind_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[EntryKind] = mapped_column(String(24))
    source_key: Mapped[str] = mapped_column(String(80))
    memo: Mapped[str] = mapped_column(String(200), default="", server_default="")
    booked_on: Mapped[date] = mapped_column(Date, default=date.today)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[LedgerLine]] = relationship(back_populates="entry")


class LedgerLine(Model):
    """A signed amount on one account: debit positive, credit negative, whole rupiah."""

    __tablename__ = "ledger_line"
    __table_args__ = (
        CheckConstraint(enum_check("account", Account), name="account_valid"),
        CheckConstraint("amount <> 0", name="amount_non_zero"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"), index=True)
    account: Mapped[Account] = mapped_column(String(20), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"), index=True)
    pledge_id: Mapped[int | None] = mapped_column(ForeignKey("pledge.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"), index=True)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refund.id"))

    entry: Mapped[LedgerEntry] = relationship(back_populates="lines")
