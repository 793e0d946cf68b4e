"""`datacommune up` honours what the operator exported: PostgreSQL (per service too), storage,
NATS; and refuses, saying what to do, a setting that cannot apply to four services at once."""

import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from datacommune.cli.platform import SERVICES, Platform, environment_problems
from tests import servers
from tests.cli.test_commands import CLI, ROOT, cli


def test_exported_settings_win_over_embedded_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE__URL", "postgresql+asyncpg://pg/dc_{service}")
    monkeypatch.setenv("DATACOMMUNE_EVENTS__DATABASE__URL", "postgresql+asyncpg://pg/calendar")
    monkeypatch.setenv("STORAGE__ROOT", "/srv/files")
    monkeypatch.setenv("SITE__CATALOG_URL", "https://data.example.fr")
    platform = Platform(var=tmp_path)
    env = {name: platform.service_env(name) for name in SERVICES}
    assert env["catalog"]["DATABASE__URL"] == "postgresql+asyncpg://pg/dc_catalog"
    assert env["ingest"]["DATABASE__URL"] == "postgresql+asyncpg://pg/dc_ingest"
    assert env["events"]["DATABASE__URL"] == "postgresql+asyncpg://pg/calendar"
    assert {e["STORAGE__ROOT"] for e in env.values()} == {"/srv/files"}
    assert env["ingest"]["SITE__CATALOG_URL"] == "https://data.example.fr"
    # Each service still listens on its own port.
    assert len({e["HTTP__PORT"] for e in env.values()}) == 4


def test_settings_that_cannot_apply_to_all_four_are_refused_with_what_to_do() -> None:
    assert environment_problems({"DATABASE__URL": "postgresql+asyncpg://pg/dc_{service}"}) == []
    one_database = environment_problems({"DATABASE__URL": "postgresql+asyncpg://pg/one"})
    assert len(one_database) == 1
    assert "{service}" in one_database[0]
    assert environment_problems({"HTTP__PORT": "9000"})
    answered = cli("up", env=dict(os.environ, DATABASE__URL="sqlite+aiosqlite:///one.db"))
    assert answered.returncode == 2
    assert "DATABASE__URL" in answered.stdout


def test_up_refuses_a_port_another_program_holds_and_says_which(tmp_path: Path) -> None:
    env = dict(os.environ, DATACOMMUNE_VAR=str(tmp_path / "var"))
    for name in (*SERVICES, "nats"):
        env[f"DATACOMMUNE_{name.upper()}_PORT"] = str(servers.free_port())
    taken = int(env["DATACOMMUNE_CATALOG_PORT"])
    with socket.create_server(("127.0.0.1", taken)):
        answered = cli("up", "--no-demo", env=env)
    assert answered.returncode == 1
    assert f"port {taken} (catalog)" in answered.stdout
    assert "DATACOMMUNE_CATALOG_PORT" in answered.stdout
    assert not (tmp_path / "var" / "nats").exists(), "nothing starts before the ports are free"


@pytest.mark.e2e
def test_up_runs_on_postgresql_when_told(tmp_path: Path, postgres_available: None) -> None:
    import asyncpg

    prefix = f"dc_up_{uuid.uuid4().hex[:8]}"
    env = dict(
        os.environ,
        DATACOMMUNE_VAR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
        DATABASE__URL=servers.PG_URL.rsplit("/", 1)[0].replace(
            "postgresql://", "postgresql+asyncpg://", 1
        )
        + f"/{prefix}_{{service}}",
    )
    for name in (*SERVICES, "nats"):
        env[f"DATACOMMUNE_{name.upper()}_PORT"] = str(servers.free_port())
    try:
        with subprocess.Popen(
            [*CLI, "up", "--no-demo"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as up:
            assert up.stdout is not None
            lines: list[str] = []
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and "Ctrl-C" not in "".join(lines[-1:]):
                lines.append(up.stdout.readline())
            assert "datacommune est prêt" in "".join(lines), "".join(lines)
            assert sum(f"{prefix}_" in line for line in lines) == 4, "".join(lines)
            created = cli("org", "create", "--slug", "roques", "--name", "Roques", env=env)
            assert created.returncode == 0, created.stderr
            up.send_signal(signal.SIGINT)
            up.wait(timeout=30)
        assert not (tmp_path / "var" / "catalog.db").exists(), "no SQLite file for catalog"

        found: list[str] = []

        async def read() -> None:
            conn = await asyncpg.connect(f"{servers.PG_URL.rsplit('/', 1)[0]}/{prefix}_catalog")
            try:
                found.extend(r[0] for r in await conn.fetch("SELECT slug FROM organizations"))
            finally:
                await conn.close()

        servers._run(read)
        assert found == ["roques"]
    finally:

        async def drop() -> None:
            conn = await asyncpg.connect(servers.PG_URL)
            try:
                for name in SERVICES:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{prefix}_{name}" WITH (FORCE)')
            finally:
                await conn.close()

        servers._run(drop)
