"""Rows of tabular versions: loaded into their own tables, queried, exported."""
