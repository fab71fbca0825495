"""A region: a kota or kabupaten by its Kemendagri code, owning its scheme on this installation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, utcnow
from portal.extensions import Model

SEMARANG = "33.74"
SEMARANG_REGULATION = "Peraturan Wali Kota Semarang Nomor 26 Tahun 2025"


class Region(Model):
    """A kota or kabupaten (code `33.74`). Its areas are the kecamatan whose `region_code` is
    its code, and their kelurahan and desa; the scheme (regulation, account, sender) is set by
    its admins."""

    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    regulation: Mapped[str] = mapped_column(String(200), default="", server_default="")
    bank_name: Mapped[str] = mapped_column(String(80), default="", server_default="")
    bank_account_number: Mapped[str] = mapped_column(String(40), default="", server_default="")
    bank_account_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    mail_sender: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def id(self) -> str:
        """The code, as the audit trail names an object by its id."""
        return self.code

    @property
    def short_name(self) -> str:
        """ "Semarang" for "Kota Semarang", "Kudus" for "Kabupaten Kudus"."""
        for prefix in ("Kota Administrasi ", "Kabupaten Administrasi ", "Kota ", "Kabupaten "):
            if self.name.startswith(prefix):
                return self.name.removeprefix(prefix)
        return self.name
