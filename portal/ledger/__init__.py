"""Double-entry journal of every rupiah."""
