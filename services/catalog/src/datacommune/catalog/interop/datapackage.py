"""A dataset as a Frictionless Data Package: ``frictionless validate`` checks its files against
their schemas."""

from typing import Any

from datacommune.catalog.core import formats, metadata
from datacommune.catalog.core.datasets import download_path, slugify
from datacommune.catalog.tables import Dataset, Resource, Version

# frictionless reads a workbook through its library, never as bytes: it counts none and would
# report every sheet's ``bytes`` and ``hash`` as mismatched. Both stay in the catalogue's API and
# in the download's headers (``ETag``, ``X-Content-SHA256``, ``Content-Length``).
SHEETS = {"xlsx", "xls", "ods"}


def describe(
    dataset: Dataset,
    public_url: str,
    schemas_url: str,
    *,
    only: Version | None = None,
    pooled: bool = False,
) -> dict[str, Any]:
    """A Frictionless Data Package of the dataset's latest files (``only``: of that version
    alone), for ``frictionless``; ``pooled`` for pooled data, whose files describe their own
    columns (the schema's fields and the provenance columns). Each path is its version's own URL, which serves the same
    bytes forever: a descriptor saved today still matches its hashes after the next version."""
    base = f"{public_url}/api/v1/datasets/{dataset.slug}"
    resources = []
    for resource in dataset.resources:
        if not resource.versions:
            continue
        version = resource.versions[-1] if only is None else only
        if version.resource_id != resource.id:
            continue
        resources.append(_file(resource, version, public_url, schemas_url, pooled=pooled))
    for position, remote in enumerate(dataset.remote_resources if only is None else []):
        link: dict[str, Any] = {
            "name": f"{slugify(remote.title)[:90]}-{position}",
            "title": remote.title,
            "path": remote.url,
        }
        if remote.format:
            link["format"] = remote.format
        if remote.media_type:
            link["mediatype"] = remote.media_type
        if remote.size is not None:
            link["bytes"] = remote.size
        resources.append(link)
    package: dict[str, Any] = {
        "name": dataset.slug,
        "title": dataset.title,
        "description": dataset.description,
        "homepage": base,
        "keywords": dataset.keywords or [],
        "licenses": [
            {
                "name": dataset.licence,
                "title": metadata.LICENCES.get(dataset.licence, dataset.licence),
                "path": metadata.LICENCE_URIS.get(dataset.licence, dataset.licence),
            }
        ],
        "resources": resources,
    }
    if only is not None:
        package["version"] = str(only.number)
    return package


def _file(
    resource: Resource, version: Version, public_url: str, schemas_url: str, *, pooled: bool
) -> dict[str, Any]:
    """One published file as a Data Package resource: its format, so frictionless reads an
    XLSX as a sheet and checks it against its schema, and its encoding, so it reads a
    Windows-1252 CSV right."""
    item: dict[str, Any] = {
        "name": resource.key,
        "title": resource.title,
        "path": public_url + download_path(version.id),
    }
    found = formats.of(version.media_type, version.filename)
    if found:
        item["format"] = found.name
    item["mediatype"] = formats.bare(version.media_type)
    if found is None or found.name not in SHEETS:
        item.update(bytes=version.size, hash=f"sha256:{version.sha256}")
    if version.charset:
        item["encoding"] = version.charset
    if pooled and version.row_table is not None:
        # The national schema's fields then the provenance columns, as the file has them: the
        # national schema itself would call those columns extra. No primary key: two sources
        # sharing one is reported on the pool, and kept.
        item["schema"] = {"fields": [_pooled_field(f) for f in version.row_table.shape["fields"]]}
    elif version.schema_id:
        item["schema"] = f"{schemas_url}/api/v1/schemas/{version.schema_id}/schema.json"
    return item


# Types whose reading depends on options the table shape does not carry (a boolean's
# « oui »/« non », a number's decimal and group characters): text in a pooled file's schema.
_OPTIONED = {"boolean", "number"}


def _pooled_field(field: dict[str, Any]) -> dict[str, str]:
    kind = field.get("type", "string")
    if kind in _OPTIONED:
        return {"name": field["name"], "type": "string", "format": "default"}
    return {"name": field["name"], "type": kind, "format": field.get("format", "default")}
