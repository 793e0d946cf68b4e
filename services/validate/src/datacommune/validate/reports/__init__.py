"""The validation report: checking a file with frictionless into the report's stable JSON, each
finding's words in French and English, and the report's other shapes (HTML, Validata)."""
