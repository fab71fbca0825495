"""Accounts, roles, sessions and permissions."""
