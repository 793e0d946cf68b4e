"""How features hear of what the core changes, without the core importing them.

The core calls each hook inside the transaction that makes the change, so what a feature
records (a webhook delivery, a dataset's search words) commits or rolls back with it; and the
views a feature adds to a version's description appear wherever the core describes one. The
features are plugged in once, by ``datacommune.catalog.features.install``, before anything runs.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from datacommune.catalog.tables import Dataset, OpenedRelease, Resource, Version
from datacommune.shared.storage import ObjectStore


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
# Puts a version's missing file back in storage if the feature can (True), e.g. pooled data,
# which keeps only its newest versions' files and writes an older one again when asked.
Restore = Callable[[async_sessionmaker[AsyncSession], ObjectStore, Version], Awaitable[bool]]
_Hook = TypeVar("_Hook")


@dataclass
class Hooks:
    opened: list[OnOpened] = field(default_factory=list)
    changed: list[OnChanged] = field(default_factory=list)
    version_views: list[VersionView] = field(default_factory=list)
    restorers: list[Restore] = field(default_factory=list)

    async def dataset_opened(self, session: AsyncSession, opened: Opened) -> None:
        for hook in self.opened:
            await hook(session, opened)

    async def dataset_changed(self, session: AsyncSession, dataset: Dataset) -> None:
        """After a dataset's description, files or visibility changed (flushed already)."""
        for hook in self.changed:
            await hook(session, dataset)

    async def restore(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        store: ObjectStore,
        version: Version,
    ) -> bool:
        """Whether a feature put the version's missing file back (outside any transaction)."""
        for hook in self.restorers:
            if await hook(sessionmaker, store, version):
                return True
        return False

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
    restore: Restore | None = None,
) -> None:
    """Add a feature's hooks; plugging the same function twice keeps one."""
    _add(HOOKS.opened, opened)
    _add(HOOKS.changed, changed)
    _add(HOOKS.version_views, version_view)
    _add(HOOKS.restorers, restore)


def _add(hooks: list[_Hook], hook: _Hook | None) -> None:
    if hook is not None and hook not in hooks:
        hooks.append(hook)
