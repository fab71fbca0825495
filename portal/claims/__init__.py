"""Claims: JKK (work accident) and JKM (death) benefits BPJS TK paid to covered workers."""
