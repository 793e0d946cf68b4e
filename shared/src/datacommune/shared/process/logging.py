"""structlog set up once per process: JSON in containers, readable lines in a terminal."""

import logging
import sys

import structlog


def configure(*, service: str, json: bool | None = None, level: str = "INFO") -> None:
    """Route stdlib and structlog records through one renderer, tagged with the service name."""
    if json is None:
        json = not sys.stderr.isatty()
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _add_service(service),
            # JSON lines carry the traceback as text (the console renderer prints it itself).
            *([structlog.processors.format_exc_info] if json else []),
            renderer,
        ],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log repeats what our own request logging says.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def _add_service(service: str) -> structlog.typing.Processor:
    def processor(
        _logger: object, _name: str, event_dict: structlog.typing.EventDict
    ) -> structlog.typing.EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return processor
