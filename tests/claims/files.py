"""Claim files for tests."""

from __future__ import annotations


def claim_csv(
    *rows: tuple[str, ...],
    header: str = "nik,tanggal,jenis,jumlah,cerita",
    delimiter: str = ",",
    bom: bool = False,
) -> bytes:
    """A CSV file: the header, then one line per row (cells joined by the delimiter)."""
    lines = [header] + [delimiter.join(row) for row in rows]
    text = "\r\n".join(lines) + "\r\n"
    return (("\ufeff" if bom else "") + text).encode()
