"""File I/O shared by every stage: atomic writes, hashing."""
