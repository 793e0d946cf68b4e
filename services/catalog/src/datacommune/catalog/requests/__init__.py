"""Data requests and their votes, and the coverage of a territory by national schemas."""
