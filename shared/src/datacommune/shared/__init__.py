"""Code the datacommune services share: event contracts, settings, bus, storage and database adapters."""
