"""`datacommune node` as a collectivité would run it, linked to a hub started with
`datacommune up`; `datacommune nodes` shows it from the hub."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests import servers
from tests.cli.test_commands import CLI, ROOT, cli

pytestmark = pytest.mark.e2e


def wait_line(process: "subprocess.Popen[str]", text: str, within: float = 90) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + within
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen.append(line)
        if text in line:
            return
        if not line and process.poll() is not None:
            break
    raise AssertionError("".join(seen))


def test_a_node_publishes_to_its_hub(tmp_path: Path) -> None:
    hub_env = dict(os.environ, DATACOMMUNE_VAR=str(tmp_path / "hub"))
    for name in ("ingest", "validate", "catalog", "events", "nats", "leaf"):
        hub_env[f"DATACOMMUNE_{name.upper()}_PORT"] = str(servers.free_port())
    hub_env["DATACOMMUNE_NODES"] = json.dumps(["roques"])
    node_env = dict(os.environ, DATACOMMUNE_VAR=str(tmp_path / "node"))
    node_port = servers.free_port()
    with subprocess.Popen(
        [*CLI, "up"],
        env=hub_env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as hub:
        try:
            wait_line(hub, "Ctrl-C")
            token = json.loads((tmp_path / "hub" / "credentials" / "roques.json").read_text())[
                "token"
            ]
            with subprocess.Popen(
                [
                    *CLI,
                    "node",
                    "--name",
                    "roques",
                    "--hub",
                    f"nats-leaf://127.0.0.1:{hub_env['DATACOMMUNE_LEAF_PORT']}",
                    "--port",
                    str(node_port),
                    "--nats-port",
                    str(servers.free_port()),
                ],
                env=node_env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ) as node:
                try:
                    wait_line(node, "Ctrl-C")
                    node_url = f"http://127.0.0.1:{node_port}"
                    deadline = time.monotonic() + 30
                    while (
                        httpx.get(
                            f"{node_url}/api/v1/whoami",
                            headers={"Authorization": f"Bearer {token}"},
                        ).status_code
                        != 200
                    ):
                        assert time.monotonic() < deadline, "the hub's token never reached the node"
                        time.sleep(0.2)
                    published = cli(
                        "publish",
                        "examples/roques-subventions-2025.csv",
                        "--dataset",
                        "subventions-roques-noeud",
                        "--token",
                        token,
                        "--url",
                        node_url,
                        env=node_env,
                    )
                    assert published.returncode == 0, published.stderr
                    catalog = f"http://127.0.0.1:{hub_env['DATACOMMUNE_CATALOG_PORT']}"
                    dataset = httpx.get(f"{catalog}/api/v1/datasets/subventions-roques-noeud")
                    assert dataset.status_code == 200
                    shown = cli(
                        "nodes",
                        "--url",
                        f"http://127.0.0.1:{hub_env['DATACOMMUNE_INGEST_PORT']}",
                        env=hub_env,
                    )
                    assert shown.returncode == 0, shown.stderr
                    assert "roques" in shown.stdout
                finally:
                    node.send_signal(signal.SIGINT)
                    node.wait(30)
            assert node.returncode == 0
        finally:
            hub.send_signal(signal.SIGINT)
            hub.wait(60)
