"""Pledges: a company's commitment to fund N workers for M months."""
