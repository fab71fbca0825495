"""Typed errors of certificates."""

from __future__ import annotations


class CertificateError(Exception):
    """Base of certificate errors."""


class NotCertifiable(CertificateError):
    """The pledge has no coverage to certify (not active or completed)."""


class UnreadableCertificate(CertificateError):
    """A file that is not a certificate PDF of this portal."""
