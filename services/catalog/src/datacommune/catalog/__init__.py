"""catalog: the public catalogue of datasets, and the register of organizations and tokens."""
