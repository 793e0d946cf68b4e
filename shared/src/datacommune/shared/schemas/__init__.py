"""The committed JSON Schema of every event contract (``events.json``)."""
