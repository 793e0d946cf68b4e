"""Backup and restore on PostgreSQL and S3: a running platform is backed up with
``datacommune backup``, its engines destroyed, and ``datacommune restore`` puts it back on fresh
ones; the catalogue, the downloads byte for byte, the tokens and the release still to open are
all there."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from datacommune.cli.platform import SERVICES, create_missing_databases
from tests import servers
from tests.platform import Running, csv_rows, running_platform
from tests.production import engines

pytestmark = pytest.mark.e2e


def _environment(postgres: engines.PostgresServer, s3: engines.RestartableS3) -> dict[str, str]:
    """The settings an operator exports for the platform, and for backup and restore."""
    return {
        "DATABASE__URL": postgres.url("dc_{service}"),
        **s3.server.env("datacommune"),
    }


def _cli(*argv: str, env: dict[str, str], expect: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "datacommune.cli.main", *argv],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == expect, done.stdout + done.stderr
    return done


def _state(hub: Running, token: str, release: str) -> dict[str, Any]:
    """What a reuser and the commune see; compared before and after."""
    auth = {"Authorization": f"Bearer {token}"}
    catalog = hub.url("catalog") + "/api/v1"
    return {
        "datasets": httpx.get(f"{catalog}/datasets").json(),
        "budget": httpx.get(f"{catalog}/datasets/budget").json(),
        "embargoed": httpx.get(f"{catalog}/datasets/budget-a-venir").status_code,
        "whoami": httpx.get(hub.url("ingest") + "/api/v1/whoami", headers=auth).json(),
        "release": httpx.get(
            hub.url("events") + f"/api/v1/releases/{release}", headers=auth
        ).json(),
    }


def test_backup_then_restore_onto_fresh_engines(tmp_path: Path) -> None:
    if reason := engines.missing():
        pytest.skip(reason)
    ports = {name: servers.free_port() for name in (*SERVICES, "nats")}
    folder = tmp_path / "sauvegarde"
    with engines.postgres_server() as postgres, engines.s3_server() as s3:
        env = _environment(postgres, s3)
        create_missing_databases([postgres.url(f"dc_{name}") for name in SERVICES])
        databases = {name: postgres.url(f"dc_{name}") for name in SERVICES}
        with running_platform(
            tmp_path / "avant", databases=databases, env=s3.server.env("datacommune"), ports=ports
        ) as hub:
            token = hub.organization("roques")
            content = csv_rows(50, "sauvegarde")
            upload = hub.upload(token, content, dataset="budget").json()["id"]
            download = hub.wait_status(token, upload, {"published"})["download_url"]
            assert httpx.get(download).content == content
            at = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=2)
            release = httpx.post(
                hub.url("events") + "/api/v1/releases",
                json={"title": "Conseil municipal", "at": at.isoformat(), "timezone": "UTC"},
                headers={"Authorization": f"Bearer {token}"},
            ).json()["id"]
            held = hub.client.post(
                hub.url("ingest") + "/api/v1/uploads",
                data={"dataset": "budget-a-venir", "release": release},
                files={"file": ("a.csv", csv_rows(5, "a-venir"), "text/csv")},
                headers={"Authorization": f"Bearer {token}"},
            ).json()["id"]
            hub.wait_status(token, held, {"scheduled"})
            before = _state(hub, token, release)
            assert before["embargoed"] == 404
            assert before["release"]["status"] == "scheduled"
            _cli("backup", str(folder), "--var", str(tmp_path / "avant"), env=env)
        # Everything the platform ran on is gone with the engines' folders.

    with engines.postgres_server() as postgres, engines.s3_server() as s3:
        env = _environment(postgres, s3)
        _cli("restore", str(folder), "--var", str(tmp_path / "apres"), env=env)
        databases = {name: postgres.url(f"dc_{name}") for name in SERVICES}
        with running_platform(
            tmp_path / "apres", databases=databases, env=s3.server.env("datacommune"), ports=ports
        ) as hub:
            after = _state(hub, token, release)
            assert after == before
            assert httpx.get(download).content == content
            # Restoring again onto databases in use is refused, in French and English.
            refused = _cli("restore", str(folder), env=env, expect=2)
            assert "--replace" in refused.stderr
