"""Errors validate answers with beyond the shared ones (see docs/problems.md). A file's own
faults are not errors here: they are findings in its report."""

from datacommune.shared.problems import NotFound


def schema_not_found(schema_id: str) -> NotFound:
    """No schema by that id: the 404 says where the list is."""
    return NotFound(
        f"Aucun schéma « {schema_id} ». La liste est sur /api/v1/schemas.",
        f"No schema {schema_id!r}. The list is at /api/v1/schemas.",
    )
