"""A soak and chaos run of the whole platform, as an operator lives it: a stream of uploads of
every kind (valid, invalid, repaired, embargoed for a release that opens mid-run, sent through a
collectivité's node, first uploads racing to new datasets) while services, NATS and the whole
platform are restarted again and again; then a ledger of what became of every accepted file.

``tests/e2e/test_soak.py`` runs it bounded, in CI, on SQLite and on PostgreSQL;
``bench/soak.py`` runs it for an hour and prints the same ledger with latency and memory over
time (docs/operations.md).
"""
