"""Errors of a region's reference data."""

from __future__ import annotations


class ReferenceError(Exception):
    """A category or rate cannot be saved as given; the message says why."""


class DuplicateCategory(ReferenceError):
    """The region has a category with this code already."""


class RateRefused(ReferenceError):
    """A rate would change a month that has passed or overlap a later rate."""
