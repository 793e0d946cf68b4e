"""Tokens kept under ``./var`` on a local platform, so commands need no extra flag there."""

import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import httpx

from datacommune.cli import display, up


def admin_token_path(var: Path) -> Path:
    return var / "admin.token"


def ensure_admin_token(var: Path) -> str:
    """The local administrator's token, made on first start and readable only by its owner."""
    path = admin_token_path(var)
    if path.exists():
        return path.read_text().strip()
    var.mkdir(parents=True, exist_ok=True)
    token = "dcadmin_" + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    return token


def _save(var: Path, created: dict[str, Any]) -> Path:
    folder = var / "credentials"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{created['slug']}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(created, out, ensure_ascii=False, indent=2)
    return path


def fail(message: str) -> None:
    print(message, file=sys.stderr)
    sys.exit(2)


def platform_admin_token(var: Path, given: str | None) -> str:
    """The platform administrator's token: given, in ``DATACOMMUNE_ADMIN_TOKEN``, or the local
    platform's under ``var``."""
    token = given or os.environ.get("DATACOMMUNE_ADMIN_TOKEN")
    if token is None:
        path = admin_token_path(var)
        if not path.exists():
            fail(
                f"Jeton administrateur introuvable ({path}). Lancez « make run » d'abord, ou "
                "passez --url et --admin-token pour une plateforme distante.\n"
                f"Admin token not found ({path}): run 'make run' first, or pass --url and "
                "--admin-token for a remote platform."
            )
        token = path.read_text().strip()
    return token


def _as_admin(
    var: Path,
    url: str | None,
    admin_token: str | None,
    call: tuple[str, str, int],
    body: object,
) -> dict[str, Any]:
    """Call the catalog as the platform administrator (``call``: method, path, the status it
    answers on success); any other answer is shown as its problem and ends the command."""
    method, path, expected = call
    token = platform_admin_token(var, admin_token)
    base = url or os.environ.get("DATACOMMUNE_CATALOG_URL") or up.urls()["catalog"]
    response = httpx.request(
        method,
        f"{base}/api/v1{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    if response.status_code != expected:
        display.problem(response.json())
        sys.exit(2)
    answer: dict[str, Any] = response.json()
    return answer


def create_organization(
    *, var: Path, url: str | None, admin_token: str | None, body: dict[str, Any]
) -> dict[str, Any]:
    """Register an organization on the catalog; on a local platform, keep its token."""
    wanted = {k: v for k, v in body.items() if v is not None}
    created = _as_admin(var, url, admin_token, ("POST", "/organizations", 201), wanted)
    if url is None:
        path = _save(var, created)
        print(
            f"Jeton enregistré dans {path} ; publiez avec « datacommune publish FICHIER "
            f"--dataset JEU --org {created['slug']} ».\n"
            f"(Token saved in {path}.)",
            file=sys.stderr,
        )
    return created


def move_organization(
    *, var: Path, url: str | None, admin_token: str | None, slug: str, parent: str | None
) -> dict[str, Any]:
    """Put an organization under another territory (its files follow it in pooled data)."""
    call = ("PATCH", f"/organizations/{slug}", 200)
    return _as_admin(var, url, admin_token, call, {"parent": parent})


def organization_token(*, var: Path, org: str | None, token: str | None) -> str:
    """The token to publish with: given, in the environment, or saved under ``var``."""
    token = token or os.environ.get("DATACOMMUNE_TOKEN")
    if token:
        return token
    folder = var / "credentials"
    saved = sorted(folder.glob("*.json")) if folder.exists() else []
    if org:
        saved = [p for p in saved if p.stem == org]
    if len(saved) != 1:
        names = ", ".join(p.stem for p in saved) or "aucune"
        fail(
            "Précisez l'organisation avec --org (jetons connus : "
            f"{names}) ou donnez --token / DATACOMMUNE_TOKEN.\n"
            "Name the organization with --org, or give --token / DATACOMMUNE_TOKEN."
        )
    return str(json.loads(saved[0].read_text())["token"])
