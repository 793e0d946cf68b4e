"""What validate does with events: check each received file once (``validations``)."""

from datacommune.shared import events
from datacommune.shared.process.runtime import Runtime
from datacommune.validate.registry import Registry
from datacommune.validate.settings import Settings
from datacommune.validate.validations import validate_received

DURABLE = "validate"


async def subscribe(runtime: Runtime, registry: Registry, settings: Settings) -> None:
    """Attach validate's durable consumer of ``file.received``."""

    async def on_received(event: events.AnyEvent) -> None:
        assert isinstance(event, events.FileReceived)
        await validate_received(
            event,
            sessionmaker=runtime.sessionmaker,
            store=runtime.store,
            bus=runtime.bus,
            relay=runtime.relay,
            registry=registry,
            work_dir=settings.work_dir,
            source=settings.source,
        )

    await runtime.bus.subscribe(
        DURABLE,
        on_received,
        "file.received.v1",
        concurrency=settings.concurrency,
        ack_wait=settings.ack_wait,
    )
