"""Sponsor companies and their verification by city staff."""
