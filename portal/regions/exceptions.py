"""Errors of the regions package."""

from __future__ import annotations


class RegionError(Exception):
    """A region cannot be added or changed; the message says why."""
