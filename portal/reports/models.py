"""TjslStatement: a sponsor's statement of CSR spending for a year (bukti realisasi TJSL)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, utcnow
from portal.extensions import Model

SERIAL_PREFIX = "TJSL"


class TjslStatement(Model):
    """The company's realised CSR spending in one year, as it stood when issued.

    Never edited: figures that move (another month closed) make a new statement with a new
    serial; asking again with the same figures gives the statement issued already, which the
    unique (company, year, plan, realised) keeps so under concurrent requests too.
    """

    __tablename__ = "tjsl_statement"
    __table_args__ = (
        UniqueConstraint(
            "company_id", "year", "plan_amount", "realised_amount", name="uq_tjsl_statement_figures"
        ),
        CheckConstraint("year BETWEEN 2000 AND 2999", name="year_valid"),
        CheckConstraint("plan_amount >= 0", name="plan_not_negative"),
        CheckConstraint("realised_amount > 0", name="realised_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(40), unique=True)  # TJSL/2026/000042
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    company_name: Mapped[str] = mapped_column(String(200))  # as it was when issued
    plan_amount: Mapped[int] = mapped_column(BigInteger)
    realised_amount: Mapped[int] = mapped_column(BigInteger)
    realised_through: Mapped[date] = mapped_column(Date)  # the last closed month counted
    pledge_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    receipts: Mapped[list[str]] = mapped_column(JSON, default=list)  # receipt serials (KWT/...)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    def as_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "year": self.year,
            "company": self.company_name,
            "plan": self.plan_amount,
            "realised": self.realised_amount,
            "realised_through": f"{self.realised_through:%Y-%m}",
            "pledges": list(self.pledge_ids),
            "receipts": list(self.receipts),
        }
