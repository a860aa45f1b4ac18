"""Sub-national regions."""
