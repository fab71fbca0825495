"""`flask certificates verify SERIAL_OR_PDF`: check a certificate, offline for a PDF."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from portal.certificates import services, signing
from portal.certificates.exceptions import UnreadableCertificate
from portal.certificates.pdf import read_signed_payload
from portal.regions.scope import all_regions

certificates_cli = AppGroup("certificates", help="Signed certificates of pledges.")


@certificates_cli.command("verify")
@click.argument("serial_or_pdf")
@click.option(
    "--public-key",
    "key_file",
    type=click.Path(exists=True, dir_okay=False),
    help="PEM public key (from /verify/public-key); default: this portal's key.",
)
def verify_command(serial_or_pdf: str, key_file: str | None) -> None:
    """Verify a certificate PDF offline (signature only) or a serial against this portal.

    Exits 0 for a valid certificate, 1 otherwise.
    """
    path = Path(serial_or_pdf)
    if path.suffix.lower() == ".pdf" or path.is_file():
        try:
            payload, signature = read_signed_payload(path.read_bytes())
        except (OSError, UnreadableCertificate) as error:
            raise click.ClickException(str(error)) from error
        key = (
            signing.load_public_pem(Path(key_file).read_bytes())
            if key_file
            else services.public_key()
        )
        verdict = services.verdict_offline(payload, signature, key)
    else:
        with all_regions():  # a serial is unique on the installation, whatever its region
            verdict = services.verdict_for(serial_or_pdf)
    click.echo(f"status: {verdict.status}")
    for name, value in (verdict.facts or {}).items():
        click.echo(f"{name}: {value}")
    if verdict.certificate is not None and verdict.certificate.revoked_at is not None:
        click.echo(
            f"revoked: {verdict.certificate.revoked_at:%Y-%m-%d} "
            f"({verdict.certificate.revoke_reason})"
        )
    if verdict.status != "valid":
        click.get_current_context().exit(1)
