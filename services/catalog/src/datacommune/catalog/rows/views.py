"""What a version's description says of its rows: whether they are loaded, and where they are
queried and exported (plugged into the core's version view, see ``core.hooks``)."""

from typing import Any

from datacommune.catalog.rows import exports
from datacommune.catalog.tables import Version
from datacommune.shared import events


def version_view(version: Version, public_url: str) -> dict[str, Any]:
    return {"rows": describe_rows(version, public_url)}


def describe_rows(version: Version, public_url: str) -> dict[str, Any] | None:
    """Where a tabular version's rows are queried and exported, once they are loaded."""
    table = version.row_table
    if table is None:
        return None
    base = f"{public_url}/api/v1/versions/{version.id}/rows"
    body: dict[str, Any] = {"status": table.status}
    if table.status == "failed":
        body["error"] = table.error
    if table.status == "ready" and table.columns is not None:
        body["count"] = table.row_count
        body["columns"] = [{"name": c["name"], "type": c["type"]} for c in table.columns]
        body["url"] = base
        # GeoJSON only where the rows have coordinates: no link to an export that is a 404.
        mapped = exports.geometry_reader(
            events.TableShape.model_validate(table.shape).geo, table.columns
        )
        body["exports"] = {
            fmt: f"{base}.{fmt}"
            for fmt in exports.MEDIA_TYPES
            if fmt != "geojson" or mapped is not None
        }
    return body
