"""Regions (kota and kabupaten) that run a scheme on this installation."""
