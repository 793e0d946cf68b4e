"""Releases timed to a local event: the embargo holds on every read path, then the bundle opens
at its time, together, once."""

import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest

from tests.figures import OPENAPI_WAIT
from tests.platform import Running

pytestmark = pytest.mark.e2e

SECRET_TITLE = "Budget Secret Q9"
SECRET_CELL = "CelluleSecreteQ9"
DATASET = "budget-embargo"


def upload(embedded: Running, token: str, content: bytes, **fields: str) -> dict[str, Any]:
    response = embedded.client.post(
        embedded.url("ingest") + "/api/v1/uploads",
        data={"dataset": DATASET, **fields},
        files={"file": ("budget.csv", content, "text/csv")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


def read_paths(embedded: Running, service: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """Every GET of a service's OpenAPI document, so that a new endpoint is checked too."""
    spec = httpx.get(embedded.url(service) + "/openapi.json", timeout=OPENAPI_WAIT).json()
    return [
        (path, ops["get"].get("parameters", []))
        for path, ops in spec["paths"].items()
        if "get" in ops and not path.startswith("/problems")
    ]


def urls(path: str, parameters: list[dict[str, Any]], known: dict[str, str]) -> list[str]:
    """The path with its parameters filled with the embargoed things' names, every enum value
    tried; an unknown parameter fails the test, so the matrix grows with the API."""
    filled = [path]
    for p in parameters:
        if p["in"] != "path":
            continue
        name = p["name"]
        choices = p.get("schema", {}).get("enum") or [known.get(name)]
        assert choices != [None], f"the embargo matrix does not know how to fill {name!r}"
        filled = [u.replace("{" + name + "}", str(c)) for u in filled for c in choices]
    return filled


QUERIES = [
    {},
    {"q": "budget secret"},
    {"id": DATASET},
    {"organization": "roques-embargo"},
    {"fq": "organization:roques-embargo"},
    {"territory": "roques-embargo"},
]


def leaks(body: str, echoed: list[str]) -> list[str]:
    """The secrets a body shows, beyond what the request itself said."""
    text = body.lower()
    for value in echoed:
        text = text.replace(value.lower(), "")
    return [s for s in (SECRET_TITLE.lower(), SECRET_CELL.lower(), DATASET) if s in text]


class Receiver(BaseHTTPRequestHandler):
    """A subscriber's server: it fails the first delivery, then accepts."""

    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(500 if len(self.received) == 1 else 204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_embargo_then_one_opening_at_the_event(embedded: Running) -> None:
    token = embedded.organization("roques-embargo")
    other = embedded.organization("voisine-embargo")
    events_api = embedded.url("events") + "/api/v1"
    headers = {"Authorization": f"Bearer {token}"}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hooks = embedded.url("catalog") + "/api/v1/webhooks"
    subscription = httpx.post(
        hooks,
        json={
            "url": f"http://127.0.0.1:{server.server_address[1]}/hook",
            "scope": "territory",
            "value": "roques-embargo",
        },
    ).json()
    unrelated = httpx.post(
        hooks,
        json={"url": "http://127.0.0.1:9/never", "scope": "schema", "value": "scdl-deliberations"},
    ).json()
    # Planned far ahead; moved closer once the matrix has run (moving the event moves it).
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    council = httpx.post(
        f"{events_api}/local-events",
        json={
            "title": "Conseil municipal",
            "kind": "conseil-municipal",
            "starts_at": (starts + timedelta(hours=1)).isoformat(),
            "location": "Mairie de Roques",
        },
        headers=headers,
    ).json()
    plan = httpx.post(
        f"{events_api}/releases",
        json={
            "title": SECRET_TITLE,
            "local_event_id": council["id"],
            "offset_minutes": -60,  # an hour before the council
            "announce": False,
        },
        headers=headers,
    )
    assert plan.status_code == 201, plan.text
    release = plan.json()
    assert release["opens_at"] == starts.isoformat()

    first = upload(
        embedded,
        token,
        f"poste,montant\n{SECRET_CELL},1000\nvoirie,2000\n".encode(),
        title=SECRET_TITLE,
        release=release["id"],
    )
    second = upload(
        embedded,
        token,
        b"poste,montant\nannexe,5\n",
        title="Annexe du budget",
        release=release["id"],
    )
    for u in (first, second):
        embedded.wait_status(token, u["id"], {"scheduled"})
    status = embedded.status(token, first["id"])
    version_id = status["download_url"].rsplit("/", 2)[-2]

    # The plan lists what it will open, for its organization (the leak check below runs as
    # anyone else): both versions, as catalog announced them to events.
    plan_url = f"{events_api}/releases/{release['id']}"

    def contents() -> list[dict[str, str]]:
        held: list[dict[str, str]] = httpx.get(plan_url, headers=headers).json()["contents"]
        return held

    embedded._wait(lambda: len(contents()) == 2)
    assert {c["dataset"] for c in contents()} == {DATASET}
    assert version_id in {c["version_id"] for c in contents()}
    assert status["download_url"] in {c["download_url"] for c in contents()}

    # Every read path of every service, anonymous and as another organization: nothing shows.
    known = {
        "slug": DATASET,
        "version_id": version_id,
        "key": "budget-secret-q9",
        "upload_id": first["id"],
        "release_id": release["id"],
        "event_id": council["id"],
        "request_id": "00000000-0000-0000-0000-000000000000",
        "schema_id": "scdl-subventions",
        "webhook_id": subscription["id"],
        "source_id": "00000000-0000-0000-0000-000000000000",
        "insee_code": "31458",
    }
    checked = 0
    client = httpx.Client()
    for service in ("catalog", "ingest", "validate", "events"):
        for path, parameters in read_paths(embedded, service):
            for url in urls(path, parameters, known):
                for query in QUERIES:
                    for auth in ({}, {"Authorization": f"Bearer {other}"}):
                        response = client.get(
                            embedded.url(service) + url, params=query, headers=auth
                        )
                        assert response.status_code < 500, (url, response.text)
                        echoed = [url, *query.values(), *(v for v in known.values() if v in url)]
                        assert not leaks(response.text, echoed), (service, url, query)
                        checked += 1
    client.close()
    assert checked > 300
    # Writing to its name tells another organization neither whose it is nor that it is
    # waiting: the answer any taken name gets, without the owner.
    taken = embedded.upload(other, b"poste,montant\nx,1\n", dataset=DATASET)
    assert taken.status_code == 409, taken.text
    assert "roques-embargo" not in taken.text
    assert not leaks(taken.text, [DATASET])

    # Its organization sees its plan; the public sees no announcement (announce is false).
    assert httpx.get(f"{events_api}/releases/upcoming").json()["items"] == [] or all(
        i["id"] != release["id"]
        for i in httpx.get(f"{events_api}/releases/upcoming").json()["items"]
    )
    mine = httpx.get(f"{events_api}/releases", headers=headers).json()["items"]
    assert [r["id"] for r in mine] == [release["id"]]

    # The council moves to tomorrow evening… then to an hour and three seconds from now.
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    moved = httpx.patch(
        f"{events_api}/local-events/{council['id']}",
        json={"starts_at": (starts + timedelta(hours=1)).isoformat()},
        headers=headers,
    )
    assert moved.json()["status"] == "moved"
    again = httpx.get(f"{events_api}/releases/{release['id']}", headers=headers).json()
    assert again["opens_at"] == starts.isoformat()

    # It opens at its time, not before, both files together.
    catalog = embedded.url("catalog") + "/api/v1"
    while httpx.get(f"{catalog}/datasets/{DATASET}").status_code == 404:
        assert datetime.now(UTC) < starts + timedelta(seconds=10), "never opened"
        time.sleep(0.05)
    seen = datetime.now(UTC)
    assert seen >= starts, "opened early"
    assert (seen - starts).total_seconds() < 2.0
    dataset = httpx.get(f"{catalog}/datasets/{DATASET}").json()
    assert {r["title"] for r in dataset["resources"]} == {SECRET_TITLE, "Annexe du budget"}
    assert SECRET_CELL in httpx.get(f"{catalog}/versions/{version_id}/download").text
    for u in (first, second):
        embedded.wait_status(token, u["id"], {"published"})
    done = httpx.get(f"{events_api}/releases/{release['id']}", headers=headers).json()
    assert done["status"] == "opened"
    assert 0 <= done["delay_seconds"] < 2.0
    feed = httpx.get(f"{catalog}/feeds/datasets.atom").text
    assert feed.count(f"/api/v1/datasets/{DATASET}#") == 1
    assert "Conseil municipal" in feed

    # One signed webhook per subscriber, delivered after one retry; none to the unrelated one.
    deadline = time.monotonic() + 30
    while len(Receiver.received) < 2:
        assert time.monotonic() < deadline, "the webhook was not retried"
        time.sleep(0.1)
    time.sleep(1)
    server.shutdown()
    server.server_close()
    assert len(Receiver.received) == 2
    (first_try, _), (sent, body) = Receiver.received
    assert first_try["X-Datacommune-Delivery"] == sent["X-Datacommune-Delivery"]
    expected = hmac.new(
        subscription["secret"].encode(),
        sent["X-Datacommune-Timestamp"].encode() + b"." + body,
        hashlib.sha256,
    ).hexdigest()
    assert sent["X-Datacommune-Signature"] == f"sha256={expected}"
    payload = json.loads(body)
    assert payload["event"] == "dataset.opened"
    assert payload["dataset"] == DATASET
    assert payload["release"]["title"] == SECRET_TITLE
    assert len(payload["versions"]) == 2
    log = httpx.get(
        f"{hooks}/{subscription['id']}/deliveries",
        headers={"X-Webhook-Secret": subscription["secret"]},
    ).json()["items"]
    assert [(d["status"], d["attempts"], d["last_status"]) for d in log] == [("delivered", 2, 204)]
    nothing = httpx.get(
        f"{hooks}/{unrelated['id']}/deliveries",
        headers={"X-Webhook-Secret": unrelated["secret"]},
    ).json()["items"]
    assert nothing == []
    wrong = httpx.get(f"{hooks}/{subscription['id']}/deliveries", headers={"X-Webhook-Secret": "x"})
    assert wrong.status_code == 404


def test_a_territory_sees_its_communes_announcements_and_a_cancel_is_told(
    embedded: Running,
) -> None:
    embedded.organization("sicoval-t", kind="epci")
    token = embedded.organization("roques-t", parent="sicoval-t")
    headers = {"Authorization": f"Bearer {token}"}
    events_api = embedded.url("events") + "/api/v1"
    council = httpx.post(
        f"{events_api}/local-events",
        json={"title": "Conseil de décembre", "starts_at": "2027-12-14T20:30:00"},
        headers=headers,
    ).json()
    for title, announce in (("Budget annoncé", True), ("Budget discret", False)):
        made = httpx.post(
            f"{events_api}/releases",
            json={"title": title, "local_event_id": council["id"], "announce": announce},
            headers=headers,
        )
        assert made.status_code == 201, made.text
    announced = httpx.get(f"{events_api}/releases/upcoming", params={"territory": "sicoval-t"})
    items = announced.json()["items"]
    assert [i["title"] for i in items] == ["Budget annoncé"]
    assert set(items[0]) == {"id", "organization", "title", "opens_at", "opens_at_local"}
    assert items[0]["opens_at_local"] == "2027-12-14T20:30:00+01:00"
    calendar = httpx.get(f"{events_api}/releases.ics", params={"territory": "sicoval-t"}).text
    assert "Budget annoncé" in calendar
    assert "Budget discret" not in calendar
    # The page says who and at which meeting, by name, and links to the organization.
    page = httpx.get(embedded.url("events") + "/a-paraitre", params={"organization": "roques-t"})
    assert '/organisations/roques-t">Roques-T</a>' in page.text
    assert "occasion de Conseil de décembre" in page.text
    assert "Budget discret" not in page.text

    # The council is cancelled: the commune's scheduled upload says its release is held.
    release_id = httpx.get(f"{events_api}/releases", headers=headers).json()["items"][0]["id"]
    response = embedded.client.post(
        embedded.url("ingest") + "/api/v1/uploads",
        data={"dataset": "budget-roques-t", "release": release_id},
        files={"file": ("budget.csv", b"poste,montant\nvoirie,10\n", "text/csv")},
        headers=headers,
    )
    upload_id = response.json()["id"]
    embedded.wait_status(token, upload_id, {"scheduled"})
    httpx.patch(
        f"{events_api}/local-events/{council['id']}", json={"status": "cancelled"}, headers=headers
    )
    deadline = time.monotonic() + 30
    while not (embedded.status(token, upload_id).get("detail") or "").startswith("L'événement"):
        assert time.monotonic() < deadline, "the organization was not told"
        time.sleep(0.1)
    assert "annulé" in embedded.status(token, upload_id)["detail"]
    held = httpx.get(f"{events_api}/releases/{release_id}", headers=headers).json()
    assert held["status"] == "held"
