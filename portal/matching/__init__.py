"""Matching: the city assigns waiting workers to city quotas and paid pledge slots (R3-R5)."""
