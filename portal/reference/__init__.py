"""Reference data: areas, categories of vulnerable work and the contribution rate schedule."""
