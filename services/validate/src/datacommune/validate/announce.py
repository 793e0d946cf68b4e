"""What validate tells the other services about itself: the schemas it checks files against.

Announced through the outbox when validate starts, so that ingest can offer them on its upload
page without calling validate. The id follows what the list says (``announcement_id``): a
restart or a second replica with the same schemas adds nothing; a changed list is a new event.
"""

import uuid

from datacommune.shared import events
from datacommune.shared.outbox import announcement_id, enqueue_once
from datacommune.shared.process.runtime import Runtime
from datacommune.validate.registry import Registry
from datacommune.validate.tables import Outbox

_ANNOUNCED = uuid.UUID("5b1c3f4e-2a7d-4c1e-9a0b-6f3e8d2c1a90")


def summary(registry: Registry, *, source: str) -> events.SchemasAnnounced:
    """The newest version of each schema, by name."""
    newest = [registry.get(name) for name in sorted({e.name for e in registry.all()})]
    return events.SchemasAnnounced(
        source=source,
        schemas=[
            events.SchemaSummary(
                name=e.name,
                version=e.version,
                title=e.title,
                fields=[f["name"] for f in e.descriptor.get("fields", []) if "name" in f],
            )
            for e in newest
            if e is not None
        ],
    )


async def schemas(runtime: Runtime, registry: Registry, *, source: str) -> bool:
    """Put the schema list in the outbox unless this very list is there already."""
    event = summary(registry, source=source)
    event = event.model_copy(update={"id": announcement_id(_ANNOUNCED, "schemas", event)})
    async with runtime.sessionmaker.begin() as session:
        added = await enqueue_once(session, Outbox, event)
    if added:
        runtime.relay.wake()
    return added
