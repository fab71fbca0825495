"""Kecamatan, kelurahan, categories and the rate schedule: reference data staff can edit."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import Model
from portal.regions.scope import RegionOwned


class Kecamatan(Model):
    """A district of a region, keyed by its Kemendagri code (33.74.xx in Kota Semarang)."""

    __tablename__ = "kecamatan"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)

    kelurahan: Mapped[list[Kelurahan]] = relationship(back_populates="kecamatan")


class Kelurahan(Model):
    """A desa or kelurahan (33.74.xx.xxxx); names repeat across kecamatan, codes do not."""

    __tablename__ = "kelurahan"

    code: Mapped[str] = mapped_column(String(13), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), index=True)
    kecamatan_code: Mapped[str] = mapped_column(ForeignKey("kecamatan.code"), index=True)

    kecamatan: Mapped[Kecamatan] = relationship(back_populates="kelurahan")


class Category(RegionOwned, Model):
    """A category of vulnerable work in a region; its admins edit and retire it without a
    deploy. A code is unique within its region (each region has its own `ojek`)."""

    __tablename__ = "category"
    __table_args__ = (
        CheckConstraint("risk_weight >= 0", name="risk_weight_non_negative"),
        UniqueConstraint("region_code", "code", name="uq_category_region_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    name_id: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(200), default="", server_default="")
    risk_weight: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    active: Mapped[bool] = mapped_column(default=True, server_default="1")

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_id


class RateSchedule(RegionOwned, Model):
    """A region's monthly contribution per worker in force from a date until `effective_to`
    (the last day it applies, or open), optionally per sector or funder.

    A null sector or funding source means the rate applies to all of them; a more specific row
    wins over a general one for the same month.
    """

    __tablename__ = "rate_schedule"
    __table_args__ = (
        CheckConstraint("jkk_amount >= 0 AND jkm_amount >= 0", name="amounts_non_negative"),
        CheckConstraint("declared_income > 0", name="declared_income_positive"),
        CheckConstraint(
            "effective_to IS NULL OR effective_to > effective_from", name="period_ordered"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    sector: Mapped[str | None] = mapped_column(String(60))
    funding_source: Mapped[str | None] = mapped_column(String(16))
    declared_income: Mapped[int] = mapped_column(Integer)
    jkk_amount: Mapped[int] = mapped_column(Integer)
    jkm_amount: Mapped[int] = mapped_column(Integer)
    legal_basis: Mapped[str] = mapped_column(String(200), default="", server_default="")

    @property
    def monthly_amount(self) -> int:
        return self.jkk_amount + self.jkm_amount
