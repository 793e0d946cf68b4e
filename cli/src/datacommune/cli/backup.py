"""``datacommune backup DEST`` and ``datacommune restore SRC``: the platform's state with the
engines' own tools, into a folder an operator copies wherever backups go.

What is kept: each service's database (``pg_dump`` in PostgreSQL's custom format, or SQLite's
online backup) and every stored file (the S3 bucket's objects, or the local folder). JetStream
is not: every state change is in a database, written with the event it causes (the outbox).
On restore, the events still in the outboxes (the last 15 minutes' worth, by default) are
marked to be sent again, so that whatever was in flight when the backup was taken is delivered;
consumers drop what they had already applied. A catalog's row tables on SQLite are rebuilt from
the files by the row loader.

The settings are read as ``datacommune up`` reads them (``--var``, ``DATABASE__URL`` with
``{service}``, ``DATACOMMUNE_<SERVICE>__DATABASE__URL``, ``STORAGE__*``): the same environment
that runs the platform backs it up and restores it.
"""

import asyncio
import contextlib
import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from datacommune.cli.platform import (
    SERVICES,
    Platform,
    create_missing_databases,
    postgres_program,
)
from datacommune.shared.settings import StorageSettings
from datacommune.shared.storage import LocalObjectStore, S3ObjectStore, open_store

MANIFEST = "datacommune-backup.json"


class Refused(Exception):
    """What the operator must change before the command can go on (bilingual)."""


def _databases(var: Path) -> dict[str, str]:
    platform = Platform(var=var)
    return {name: platform.service_env(name)["DATABASE__URL"] for name in SERVICES}


def _storage(var: Path) -> StorageSettings:
    env = Platform(var=var).service_env("catalog")
    fields = {
        name: env[f"STORAGE__{name.upper()}"]
        for name in StorageSettings.model_fields
        if f"STORAGE__{name.upper()}" in env
    }
    return StorageSettings(**fields)


def _postgres_tool(name: str) -> str:
    """pg_dump or pg_restore, or what to install."""
    found = postgres_program(name)
    if found is None:
        raise Refused(
            f"{name} est introuvable : installez les outils clients de PostgreSQL "
            f"(Debian : postgresql-client). / {name} not found: install PostgreSQL's client tools."
        )
    return found


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as pg_dump takes it (no driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    return Path(make_url(url).database or "")


# Backup ---------------------------------------------------------------------------------------


def backup(dest: Path, *, var: Path) -> dict[str, Any]:
    """Write the databases and the files under ``dest`` (which must be empty or absent)."""
    if dest.exists() and any(dest.iterdir()):
        raise Refused(
            f"{dest} n'est pas vide : choisissez un dossier nouveau pour chaque sauvegarde. / "
            f"{dest} is not empty: use a new folder for each backup."
        )
    (dest / "databases").mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"taken_at": datetime.now(UTC).isoformat(), "databases": {}}
    for name, url in _databases(var).items():
        engine = make_url(url).get_backend_name()
        if engine == "postgresql":
            target = dest / "databases" / f"{name}.dump"
            subprocess.run(
                [
                    _postgres_tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--file",
                    str(target),
                    _libpq(url),
                ],
                check=True,
            )
        else:
            target = dest / "databases" / f"{name}.db"
            with (
                contextlib.closing(sqlite3.connect(_sqlite_path(url))) as source,
                contextlib.closing(sqlite3.connect(target)) as copy,
            ):
                source.backup(copy)
        manifest["databases"][name] = {"engine": engine, "file": target.name}
        _say(f"base {name} : {target.stat().st_size} octets / database {name} saved")
    manifest["files"] = _copy_out(_storage(var), dest / "files")
    _say(f"{manifest['files']} fichiers / files saved")
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def _copy_out(settings: StorageSettings, folder: Path) -> int:
    store = asyncio.run(open_store(settings))
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(store, LocalObjectStore):
        # Files being written (.tmp) are not yet anyone's.
        ignore = shutil.ignore_patterns(".tmp")
        shutil.copytree(store.root, folder, dirs_exist_ok=True, ignore=ignore)
        return sum(1 for p in folder.rglob("*") if p.is_file())
    assert isinstance(store, S3ObjectStore)
    count = 0
    for item in store.client.list_objects(store.bucket, recursive=True):
        key = str(item.object_name)
        store.client.fget_object(store.bucket, key, str(folder / key))
        count += 1
    return count


# Restore --------------------------------------------------------------------------------------


def restore(source: Path, *, var: Path, replace: bool = False) -> None:
    """Put a backup back: databases first, then files, then the outboxes to be sent again."""
    manifest = json.loads((source / MANIFEST).read_text())
    urls = _databases(var)
    for name, url in urls.items():
        kept = manifest["databases"][name]
        engine = make_url(url).get_backend_name()
        if engine != kept["engine"]:
            raise Refused(
                f"{name} : la sauvegarde vient de {kept['engine']}, la cible est {engine}. / "
                f"{name}: the backup is from {kept['engine']}, the target is {engine}."
            )
        file = source / "databases" / kept["file"]
        if engine == "postgresql":
            create_missing_databases([url])
            if not replace:
                _refuse_if_used(name, url)
            subprocess.run(
                [
                    _postgres_tool("pg_restore"),
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--exit-on-error",
                    "--dbname",
                    _libpq(url),
                    str(file),
                ],
                check=True,
            )
        else:
            path = _sqlite_path(url)
            if path.exists() and not replace:
                raise Refused(_in_use(name))
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, path)
        _say(f"base {name} restaurée / database {name} restored")
    count = _copy_in(_storage(var), source / "files")
    _say(f"{count} fichiers restaurés / files restored")
    for url in urls.values():
        asyncio.run(_send_again(url))


def _in_use(name: str) -> str:
    return (
        f"la base de {name} contient déjà des données : restaurez sur des bases neuves, ou "
        f"ajoutez --replace pour les écraser. / {name}'s database already holds data: restore "
        f"onto fresh databases, or add --replace to overwrite it."
    )


def _refuse_if_used(name: str, url: str) -> None:
    async def used() -> bool:
        import asyncpg

        conn = await asyncpg.connect(_libpq(url))
        try:
            return bool(await conn.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL"))
        finally:
            await conn.close()

    if asyncio.run(used()):
        raise Refused(_in_use(name))


def _copy_in(settings: StorageSettings, folder: Path) -> int:
    store = asyncio.run(open_store(settings))
    files = [p for p in folder.rglob("*") if p.is_file()]
    if isinstance(store, LocalObjectStore):
        shutil.copytree(folder, store.root, dirs_exist_ok=True)
        return len(files)
    assert isinstance(store, S3ObjectStore)
    for path in files:
        key = path.relative_to(folder).as_posix()
        store.client.fput_object(store.bucket, key, str(path))
    return len(files)


async def _send_again(url: str) -> None:
    """Mark the events still in a service's outbox as unsent: its relay publishes them again
    (same ids, so JetStream and the consumers drop any they had)."""
    from sqlalchemy import text

    from datacommune.shared.db import make_engine
    from datacommune.shared.settings import DatabaseSettings

    engine = make_engine(DatabaseSettings(url=url))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE outbox SET published_at = NULL"))
    finally:
        await engine.dispose()


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def run(command: str, folder: Path, *, var: Path, replace: bool = False) -> int:
    try:
        if command == "backup":
            backup(folder, var=var)
            print(f"Sauvegarde dans {folder}. / Backup in {folder}.")
        else:
            restore(folder, var=var, replace=replace)
            print(
                f"Restauré depuis {folder} : démarrez la plateforme. / Restored from {folder}: "
                "start the platform."
            )
    except Refused as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0
