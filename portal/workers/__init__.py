"""The register of vulnerable workers: personal data protected at rest."""
