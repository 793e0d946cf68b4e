"""``datacommune up``: the whole platform on embedded defaults, until Ctrl-C."""

import json
import os
import time
from pathlib import Path
from typing import Any

import httpx

from datacommune.cli.platform import (
    DEFAULT_PORTS,
    SERVICES,
    Platform,
    create_missing_databases,
    environment_problems,
    stop_on_signals,
)
from datacommune.shared import tokens

DEMO = {"slug": "roques", "name": "Roques", "kind": "commune", "insee_code": "31458"}


def ports() -> dict[str, int]:
    """Ports from ``DATACOMMUNE_<SERVICE>_PORT``, else the documented defaults."""
    return {
        name: int(os.environ.get(f"DATACOMMUNE_{name.upper()}_PORT", default))
        for name, default in DEFAULT_PORTS.items()
    }


def host() -> str:
    return os.environ.get("DATACOMMUNE_HOST", "127.0.0.1")


def urls() -> dict[str, str]:
    """Each service's base URL: from ``DATACOMMUNE_HOST``/``…_PORT`` when set, else where the
    platform ``datacommune up`` started last says it is (any terminal, any folder), else the
    documented defaults."""
    chosen = ["DATACOMMUNE_HOST", *(f"DATACOMMUNE_{n.upper()}_PORT" for n in DEFAULT_PORTS)]
    if not any(name in os.environ for name in chosen) and (state := started()):
        return dict(state["urls"])
    return {name: f"http://{host()}:{port}" for name, port in ports().items() if name != "nats"}


def pointer() -> Path:
    """Where ``up`` says which platform runs, for commands typed in another terminal."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "datacommune" / "current.json"


def started() -> dict[str, Any] | None:
    """The running platform ``up`` recorded: its state folder and its services' URLs."""
    try:
        state: dict[str, Any] = json.loads(pointer().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state.get("urls"), dict) else None


def _remember(platform: Platform, var: Path) -> None:
    state = {"var": str(var), "urls": {name: platform.url(name) for name in SERVICES}}
    text = json.dumps(state, indent=2)
    (var / "platform.json").write_text(text, encoding="utf-8")
    try:
        pointer().parent.mkdir(parents=True, exist_ok=True)
        pointer().write_text(text, encoding="utf-8")
    except OSError:
        pass  # a read-only home: commands then need --var or the DATACOMMUNE_* variables


def _forget(var: Path) -> None:
    (var / "platform.json").unlink(missing_ok=True)
    if (state := started()) and state.get("var") == str(var):
        pointer().unlink(missing_ok=True)


def run(*, var: Path, demo: bool) -> int:
    """Start, print what to do next, supervise, and stop cleanly on Ctrl-C or SIGTERM."""
    from datacommune.cli import credentials

    var = var.resolve()
    if problems := environment_problems(os.environ):
        print("\n".join(["Configuration à corriger / settings to fix:", *problems]))
        return 2
    admin = credentials.ensure_admin_token(var)
    platform = Platform(
        var=var,
        host=host(),
        ports=ports(),
        nats_url=os.environ.get("DATACOMMUNE_NATS_URL") or os.environ.get("NATS__URL"),
        # A hub for ingest nodes: a port for their leaf links, and the nodes it takes in.
        leaf_port=int(os.environ["DATACOMMUNE_LEAF_PORT"])
        if os.environ.get("DATACOMMUNE_LEAF_PORT")
        else None,
        per_service_env={
            "catalog": {"ADMIN_TOKEN_HASH": tokens.hash_token(admin)},
            **(
                {"ingest": {"NATS__HUB_NODES": os.environ["DATACOMMUNE_NODES"]}}
                if os.environ.get("DATACOMMUNE_NODES")
                else {}
            ),
        },
        quiet=True,
    )
    stopping = stop_on_signals()
    print("datacommune : démarrage… / starting…", flush=True)
    try:
        urls = [platform.service_env(name)["DATABASE__URL"] for name in SERVICES]
        try:
            for database in create_missing_databases(urls):
                print(f"  base créée / database created: {database}")
        except Exception as exc:
            raise RuntimeError(
                f"PostgreSQL : bases à créer à la main ? / databases to create by hand? ({exc!r})"
            ) from exc
        platform.start()
        _remember(platform, var)
        org = _demo_organization(var, platform) if demo else None
        _banner(platform, var, org)
        platform.supervise(stopping)
    except (RuntimeError, TimeoutError) as exc:
        print(f"Échec du démarrage / start failed: {exc}. Journaux / logs: {var / 'logs'}")
        return 1
    finally:
        print("Arrêt… / stopping…", flush=True)
        _forget(var)
        platform.stop()
    print("Arrêté proprement. / Stopped cleanly.")
    return 0


def _demo_organization(var: Path, platform: Platform) -> dict[str, str]:
    from datacommune.cli import credentials

    saved = var / "credentials" / f"{DEMO['slug']}.json"
    if saved.exists():
        org: dict[str, str] = json.loads(saved.read_text())
    else:
        # url=None: the local platform, whose token is kept under var (urls() finds it: up
        # recorded it just before).
        org = credentials.create_organization(var=var, url=None, admin_token=None, body=DEMO)
    # ingest learns tokens from the bus: wait until it knows this one before saying "ready".
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        response = httpx.get(
            platform.url("ingest") + "/api/v1/whoami",
            headers={"Authorization": f"Bearer {org['token']}"},
            timeout=5,
        )
        if response.status_code == 200:
            break
        time.sleep(0.1)
    return org


def _banner(platform: Platform, var: Path, org: dict[str, str] | None) -> None:
    lines = ["", "datacommune est prêt / is ready", ""]
    for name in SERVICES:
        lines.append(f"  {name:<9} {platform.url(name)}   (API : {platform.url(name)}/docs)")
    lines.append(f"  nats      {platform.nats}")
    lines += [
        "",
        "Pages (navigateur / browser):",
        f"  catalogue            {platform.url('catalog')}/",
        f"  espace des communes  {platform.url('ingest')}/espace",
        f"  à paraître           {platform.url('events')}/a-paraitre",
    ]
    lines.append(f"  état / state: {var}   journaux / logs: {var / 'logs'}")
    if org:
        lines += [
            "",
            f"Organisation de démonstration / demo organization: {org['slug']} ({org['name']})",
            f"  jeton / token: {org['token']}",
            "",
            "Publier l'exemple / publish the example (dans un autre terminal / in another terminal):",
            "  .venv/bin/datacommune publish examples/roques-subventions-2025.csv "
            "--dataset subventions-roques --schema scdl-subventions --org roques",
        ]
    lines += ["", "Ctrl-C pour tout arrêter / to stop everything.", ""]
    print("\n".join(lines), flush=True)
