"""Organizations and who may act for them: tokens with a role and an expiry, delegations."""
