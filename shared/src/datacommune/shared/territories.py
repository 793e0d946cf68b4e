"""Territories: an organization and every organization under it (commune → EPCI →
département), from each organization's parent. catalog and events each keep the parents."""

from collections.abc import Mapping


def members(parents: Mapping[str, str | None], slug: str) -> set[str]:
    """``slug`` and every organization whose chain of parents reaches it."""
    inside = {slug}
    grew = True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in inside and child not in inside:
                inside.add(child)
                grew = True
    return inside
