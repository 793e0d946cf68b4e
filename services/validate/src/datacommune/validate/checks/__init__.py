"""Checks beyond frictionless's own: the French custom checks schemas declare, column mapping,
safe repairs, and the table shape catalog reads rows with."""
