"""The ``datacommune`` command: run the platform, register organizations, publish, validate."""
