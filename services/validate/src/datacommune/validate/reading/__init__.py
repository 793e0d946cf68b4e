"""Reading a file as a table: what it really is (encoding, dialect), the limits it must stay
within, and the UTF-8 CSV frictionless reads, from CSV, XLSX, ODS or JSON."""
