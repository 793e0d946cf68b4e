"""``datacommune node``: a collectivité's ingest node — its own NATS leaf server and ingest,
files and state on this machine — linked to the département's hub, taking uploads even while
the link is down. ``datacommune nodes``: the hub's view of its nodes."""

import os
import sys
from pathlib import Path

import httpx

from datacommune.cli.platform import Platform, stop_on_signals


def run(*, name: str, hub: str, var: Path, port: int, nats_port: int, host: str) -> int:
    """Start the node, supervise it, stop it cleanly on Ctrl-C or SIGTERM."""
    var = var.resolve()
    node = Platform(
        var=var,
        host=host,
        ports={"ingest": port, "nats": nats_port},
        leaf_remote=hub,
        node_name=name,
        per_service_env={"ingest": {"NATS__NODE": name, "NATS__HUB_DOMAIN": "hub"}},
        quiet=True,
    )
    stopping = stop_on_signals()
    try:
        var.mkdir(parents=True, exist_ok=True)
        node.start_nats()
        node.start_service("ingest")
        node.wait_ready("ingest")
        print(
            f"Nœud « {name} » prêt / node ready: {node.url('ingest')} (API /docs)\n"
            f"  lien vers le hub / hub link: {hub}\n"
            f"  état / state: {var}   journaux / logs: {var / 'logs'}\n"
            "Les dépôts sont acceptés même sans lien ; ils partent quand il revient.\n"
            "Ctrl-C pour arrêter / to stop.",
            flush=True,
        )
        node.supervise(stopping)
    except (RuntimeError, TimeoutError) as exc:
        print(f"Échec du démarrage / start failed: {exc}. Journaux / logs: {var / 'logs'}")
        return 1
    finally:
        node.stop()
    print("Arrêté proprement. / Stopped cleanly.")
    return 0


def show(url: str) -> int:
    """Print each node of the hub: its link, its files waiting and the oldest one's age."""
    try:
        items = httpx.get(f"{url}/api/v1/nodes", timeout=10).json()["items"]
    except httpx.HTTPError as exc:
        print(f"Hub injoignable / hub unreachable ({url}): {exc}", file=sys.stderr)
        return 2
    if not items:
        print("Aucun nœud déclaré (NATS__HUB_NODES) / no node declared.")
        return 0
    print(f"{'nœud':<16} {'lien':<10} {'en attente':>10} {'plus ancien':>12}  dernier signe")
    for n in items:
        link = "ok" if n["reachable"] else "coupé"
        waiting = "?" if n["files_waiting"] is None else str(n["files_waiting"])
        oldest = (
            "-" if n["oldest_waiting_seconds"] is None else f"{n['oldest_waiting_seconds']:.0f} s"
        )
        print(
            f"{n['node']:<16} {link:<10} {waiting:>10} {oldest:>12}  {n['last_heartbeat'] or '-'}"
        )
    return 0


def default_hub_ingest() -> str:
    return os.environ.get("DATACOMMUNE_INGEST_URL", "http://127.0.0.1:8081")
