"""How features hear of what the core changes, without the core importing them.

The core calls each hook inside the transaction that makes the change, so what a feature
records (a webhook delivery, a dataset's search words) commits or rolls back with it; and the
views a feature adds to a version's description appear wherever the core describes one. The
features are plugged in once, by ``datacommune.catalog.features.install``, before anything runs.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog.tables import Dataset, OpenedRelease, Resource, Version


@dataclass(frozen=True)
class Opened:
    """Versions of one dataset that have just become public, with the release that opened
    them (None for a publication that was public at once)."""

    dataset: Dataset
    versions: list[tuple[Resource, Version]]
    release: OpenedRelease | None
    public_url: str


OnOpened = Callable[[AsyncSession, Opened], Awaitable[object]]
OnChanged = Callable[[AsyncSession, Dataset], Awaitable[object]]
VersionView = Callable[[Version, str], dict[str, Any]]
_Hook = TypeVar("_Hook")


@dataclass
class Hooks:
    opened: list[OnOpened] = field(default_factory=list)
    changed: list[OnChanged] = field(default_factory=list)
    version_views: list[VersionView] = field(default_factory=list)

    async def dataset_opened(self, session: AsyncSession, opened: Opened) -> None:
        for hook in self.opened:
            await hook(session, opened)

    async def dataset_changed(self, session: AsyncSession, dataset: Dataset) -> None:
        """After a dataset's description, files or visibility changed (flushed already)."""
        for hook in self.changed:
            await hook(session, dataset)

    def version_view(self, version: Version, public_url: str) -> dict[str, Any]:
        view: dict[str, Any] = {}
        for hook in self.version_views:
            view.update(hook(version, public_url))
        return view


HOOKS = Hooks()


def plug(
    *,
    opened: OnOpened | None = None,
    changed: OnChanged | None = None,
    version_view: VersionView | None = None,
) -> None:
    """Add a feature's hooks; plugging the same function twice keeps one."""
    _add(HOOKS.opened, opened)
    _add(HOOKS.changed, changed)
    _add(HOOKS.version_views, version_view)


def _add(hooks: list[_Hook], hook: _Hook | None) -> None:
    if hook is not None and hook not in hooks:
        hooks.append(hook)
