"""catalog's settings, read from the environment (``ADMIN_TOKEN_HASH``, ``NATS__URL``, …)."""

from datacommune.shared.settings import DatabaseSettings, HttpSettings, ServiceSettings


class Settings(ServiceSettings):
    """Everything catalog needs to run; defaults are the embedded platform's."""

    http: HttpSettings = HttpSettings(port=8083, public_url="http://127.0.0.1:8083")
    database: DatabaseSettings = DatabaseSettings(url="sqlite+aiosqlite:///var/catalog.db")
    # SHA-256 of the platform administrator's token; empty disables organization creation.
    admin_token_hash: str = ""
    # The catalogue's name in its DCAT feed (e.g. « Données ouvertes de la Haute-Garonne »).
    catalog_title: str = "datacommune"
    # Where the validate service's schemas are published (Data Packages point at them).
    validate_public_url: str = "http://127.0.0.1:8082"
    source: str = "catalog"
    # Let webhooks call private or loopback addresses (tests, a closed network); off, they
    # cannot be made to call the platform's own network.
    allow_private_webhooks: bool = False
    # Votes for data requests one network address may cast per hour (per replica).
    votes_per_hour: int = 60
    # Webhook subscriptions one network address may make per hour (per replica).
    webhooks_per_hour: int = 20
    # Let harvest sources be private or loopback addresses (tests, a closed network); off, a
    # source cannot make the catalogue call its own network.
    allow_private_harvest: bool = False
    # Limits of each request a harvest makes: seconds to answer, bytes of one page.
    harvest_timeout_seconds: float = 10.0
    harvest_max_page_bytes: int = 20 * 1024 * 1024
    # On SQLite, the folder of each version's rows (a SQLite file per version, rebuilt from
    # storage if lost); empty: beside the database, ``var/catalog.db`` -> ``var/catalog-rows/``.
    # On PostgreSQL rows stay in the database and this is not used.
    rows_dir: str = ""
    # The pooler (pooled data) in a process of its own, which catalog starts and watches
    # (docs/consolidation.md); off, it runs as one of catalog's own tasks (tests that serve
    # the app in-process; updates are then slower while catalog is busy).
    pooler_process: bool = True
