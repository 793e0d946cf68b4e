"""``datacommune publish``: send a file, show progress, wait for the outcome."""

import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from datacommune.cli import display
from datacommune.shared import fields

CHUNK = 256 * 1024
# The rule ingest applies, checked here first.
DATASET_SLUG = re.compile(fields.DATASET_SLUG)
DONE = {"published", "invalid", "rejected", "scheduled"}
LABELS = {
    "received": "reçu / received",
    "validating": "vérification / validating",
    "valid": "valide, publication… / valid, publishing…",
    "invalid": "non conforme / invalid",
    "published": "publié / published",
    "scheduled": "programmé / scheduled",
    "rejected": "refusé / rejected",
}


def _progress(path: Path) -> Iterator[bytes]:
    total = path.stat().st_size
    sent = 0
    with path.open("rb") as src:
        while chunk := src.read(CHUNK):
            sent += len(chunk)
            percent = 100 * sent // total if total else 100
            print(
                f"\rEnvoi / upload: {percent:3d} % ({sent} / {total} octets)",
                end="",
                file=sys.stderr,
            )
            yield chunk
    print(file=sys.stderr)


def _multipart(path: Path, fields: dict[str, str], boundary: str) -> Iterator[bytes]:
    # Fields first, so the server knows the dataset before the file streams in.
    for name, value in fields.items():
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    quoted = path.name.replace('"', "%22")
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    yield from _progress(path)
    yield f"\r\n--{boundary}--\r\n".encode()


def run(
    path: Path,
    *,
    dataset: str,
    schema: str | None,
    title: str | None,
    encoding: str | None,
    delimiter: str | None,
    fix: bool,
    token: str,
    url: str,
    timeout: float,
    on_behalf_of: str | None = None,
    as_json: bool = False,
) -> int:
    """Exit code 0 once published; 1 if invalid or refused, with the reason and where the
    report is; with ``as_json``, the upload's final state (and report) on stdout."""
    if not path.is_file():
        print(f"Fichier introuvable / file not found: {path}", file=sys.stderr)
        return 2
    if not DATASET_SLUG.match(dataset):
        # Said before sending: a wrong name would otherwise be refused after the whole upload.
        print(
            f"« {dataset} » n'est pas un identifiant de jeu de données valide : 2 à 100 "
            "caractères parmi a-z, 0-9 et « - » (ex. « subventions-2024 »).\n"
            f"({dataset!r} is not a valid dataset identifier: a-z, 0-9 and '-'.)",
            file=sys.stderr,
        )
        return 2
    fields = {"dataset": dataset, **({"schema": schema} if schema else {})}
    for name, value in (("title", title), ("encoding", encoding), ("delimiter", delimiter)):
        if value:
            fields[name] = value
    if fix:
        fields["fix"] = "true"
    if on_behalf_of:
        fields["on_behalf_of"] = on_behalf_of
    boundary = "datacommune" + str(time.time_ns())
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    with httpx.Client(timeout=60) as client:
        try:
            response = client.post(
                f"{url}/api/v1/uploads",
                content=_multipart(path, fields, boundary),
                headers=headers,
            )
        except httpx.HTTPError as exc:
            print(f"Connexion impossible à {url} / cannot reach {url}: {exc}", file=sys.stderr)
            return 2
        if response.status_code not in (200, 202):
            problem = response.json()
            if as_json:
                print(json.dumps(problem, ensure_ascii=False, indent=2))
            display.problem(problem)
            return 1
        upload: dict[str, Any] = response.json()
        print(f"Dépôt / upload {upload['id']}", file=sys.stderr)
        if upload.get("duplicate"):
            print("Ce fichier avait déjà été déposé / already uploaded.", file=sys.stderr)
        status = _wait(client, upload["status_url"], headers, timeout)
    if as_json:
        print(json.dumps(status, ensure_ascii=False, indent=2))
    return _outcome(status, as_json=as_json)


def _wait(
    client: httpx.Client, status_url: str, headers: dict[str, str], timeout: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last = None
    while True:
        body: dict[str, Any] = client.get(status_url, headers=headers).json()
        if body["status"] != last:
            last = body["status"]
            print(f"État / status: {LABELS.get(last, last)}", file=sys.stderr)
        if last in DONE or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def _outcome(body: dict[str, Any], *, as_json: bool = False) -> int:
    report = body.get("report")
    if body["status"] == "published":
        if report:
            print(report["message"]["fr"], file=sys.stderr)
            # Published without a schema, yet it looks like a national one: say which.
            display.guesses(report, out=sys.stderr)
        # On stdout for a script (``url=$(datacommune publish …)``), unless the JSON is there.
        download = f"Téléchargement / download: {body['download_url']}"
        print(download, file=sys.stderr if as_json else sys.stdout)
        return 0
    if body["status"] == "invalid" and report:
        display.report(report, out=sys.stderr)
        code = 1
    elif body["status"] == "rejected":
        print(f"Refusé / rejected: {body.get('detail')}", file=sys.stderr)
        code = 1
    elif body["status"] == "scheduled":
        print(f"Programmé / scheduled: {body.get('detail') or ''}".rstrip(), file=sys.stderr)
        return 0
    else:
        print(f"Toujours en cours / still in progress: {body['status']}", file=sys.stderr)
        code = 3
    # Never stuck: which upload it was, and where its report is read and fixed.
    print(
        f"Dépôt / upload {body['id']} — rapport / report: {body.get('page_url') or body['status_url']}",
        file=sys.stderr,
    )
    return code
