"""ingest: takes a collectivité's files, stores them durably and announces them."""
