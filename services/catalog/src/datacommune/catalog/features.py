"""catalog's features, plugged into the core: search words kept with each change, webhooks told
of each opening, rows described with each version, pooled data kept current (see
``core.hooks``)."""

from fastapi import APIRouter

from datacommune.catalog import search
from datacommune.catalog.access import hooks as access_hooks
from datacommune.catalog.access import routes as access_routes
from datacommune.catalog.core import hooks
from datacommune.catalog.core import routes as core_routes
from datacommune.catalog.harvest import routes as harvest_routes
from datacommune.catalog.interop import feeds
from datacommune.catalog.interop import routes as interop_routes
from datacommune.catalog.places import routes as places_routes
from datacommune.catalog.pooling import files as pool_files
from datacommune.catalog.pooling import membership as pooling
from datacommune.catalog.pooling import routes as pooling_routes
from datacommune.catalog.requests import routes as requests_routes
from datacommune.catalog.rows import routes as rows_routes
from datacommune.catalog.rows import views as rows_views
from datacommune.catalog.search import routes as search_routes
from datacommune.catalog.webhooks import deliveries
from datacommune.catalog.webhooks import routes as webhooks_routes

# The JSON API, domain by domain (CKAN's, mounted at several prefixes, and the pages apart).
ROUTERS: tuple[APIRouter, ...] = (
    access_routes.router,
    search_routes.router,
    core_routes.router,
    interop_routes.router,
    requests_routes.router,
    rows_routes.router,
    feeds.router,
    webhooks_routes.router,
    harvest_routes.router,
    places_routes.router,
    pooling_routes.router,
)


def install() -> None:
    """Plug every feature into the core's hooks; calling it again changes nothing."""
    hooks.plug(
        changed=search.reindex,
        opened=deliveries.notify_opened,
        version_view=rows_views.version_view,
    )
    hooks.plug(opened=pooling.on_opened, changed=pooling.on_changed, restore=pool_files.restore)
    access_hooks.plug(pooling.on_moved)
