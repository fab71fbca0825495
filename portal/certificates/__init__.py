"""Certificates: what a sponsor funded, signed with Ed25519 so anyone can verify it."""
