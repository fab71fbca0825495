"""A worker's rights under UU 27/2022 (PDP): export on request, erasure, and the breach notice."""
