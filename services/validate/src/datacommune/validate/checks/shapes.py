"""How catalog should read a checked CSV as rows: the encoding, delimiter, column types and
coordinates validate found (checks/coordinates.py), sent in ``file.validated`` so catalog
never guesses again."""

from typing import Any

from datacommune.shared import events


def table_shape(
    report: dict[str, Any], schema: dict[str, Any] | None = None
) -> events.TableShape | None:
    """The shape of the file a report describes, when it is a CSV read as a table; the
    schema's descriptor (if any) gives its primary key."""
    source = report.get("source") or {}
    fatal = any(issue.get("fatal") for issue in report.get("issues") or [])
    if "dialect" not in source or not source.get("header") or fatal:
        return None
    encoding = source["encoding"]
    fields = [
        events.TableField(
            name=f["name"], type=f.get("type") or "string", format=f.get("format") or "default"
        )
        for f in source.get("fields") or []
    ]
    return events.TableShape(
        encoding=encoding["name"],
        bom_bytes=_bom_bytes(encoding.get("bom")),
        delimiter=source["dialect"]["delimiter"],
        fields=fields,
        geo=events.GeoColumns(**source["coordinates"]) if source.get("coordinates") else None,
        primary_key=primary_key(schema or {}),
    )


def primary_key(descriptor: dict[str, Any]) -> list[str]:
    """A Table Schema's primary key as a list (the standard allows one name or a list)."""
    key = descriptor.get("primaryKey") or []
    return [key] if isinstance(key, str) else [str(name) for name in key]


def _bom_bytes(bom: str | None) -> int:
    sizes = {"utf-8": 3, "utf-8-sig": 3, "utf-16-le": 2, "utf-16-be": 2}
    return {**sizes, "utf-32-le": 4, "utf-32-be": 4}.get(bom or "", 0)
