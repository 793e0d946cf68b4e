"""How features hear that an organization moved in the territory tree, without access
importing them (as ``core.hooks`` does for datasets): called inside the transaction that moves
it, so what a feature records commits with the move."""

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

# The organization, and the parent it had before.
OnMoved = Callable[[AsyncSession, str, str | None], Awaitable[object]]
MOVED: list[OnMoved] = []


def plug(moved: OnMoved) -> None:
    """Add a feature's hook; plugging the same function twice keeps one."""
    if moved not in MOVED:
        MOVED.append(moved)


async def organization_moved(session: AsyncSession, slug: str, before: str | None) -> None:
    for hook in MOVED:
        await hook(session, slug, before)
