"""Every request parameter is checked at the edge: slugs against their one pattern, texts
without control characters, years within 1900–2200. What does not fit is a 422 problem naming
the field, never a 500, and never a line break inside a calendar."""

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from datacommune.catalog.problems import InvalidFilter
from datacommune.catalog.rows import query as rowquery
from datacommune.events.calendars import export
from datacommune.events.tables import LocalEvent, Release
from tests.platform import Running

pytestmark = pytest.mark.e2e


def assert_invalid(response: httpx.Response, *where: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/invalid-request"
    assert [str(part) for part in body["errors"][0]["loc"]][-len(where) :] == list(where)


@pytest.fixture(scope="module")
def token(embedded: Running) -> str:
    return embedded.organization("parametres")


def test_a_request_for_an_empty_or_odd_territory_is_refused(embedded: Running) -> None:
    url = embedded.url("catalog") + "/api/v1/requests"
    for territory in ("", "Roques", "roques\n", "a"):
        response = embedded.client.post(url, json={"title": "Les budgets", "territory": territory})
        assert_invalid(response, "body", "territory")
    response = embedded.client.post(url, json={"title": "Les budgets\r\nSet-Cookie: x"})
    assert_invalid(response, "body", "title")
    # An unknown but well-formed territory is a 404 problem, as before.
    response = embedded.client.post(url, json={"title": "Les budgets", "territory": "inconnue"})
    assert response.status_code == 404, response.text


@pytest.mark.parametrize("path", ["/api/v1/releases.ics", "/api/v1/local-events.ics"])
@pytest.mark.parametrize("value", ["\n", "x\rBEGIN:VEVENT", "x\r\nBEGIN:VEVENT", "\x00", "ROQUES"])
def test_calendars_refuse_an_organization_that_is_not_a_slug(
    embedded: Running, path: str, value: str
) -> None:
    response = embedded.client.get(embedded.url("events") + path, params={"organization": value})
    assert_invalid(response, "query", "organization")


@pytest.mark.parametrize("path", ["/api/v1/releases.ics", "/api/v1/local-events.ics"])
def test_calendars_take_an_empty_organization_as_none(embedded: Running, path: str) -> None:
    response = embedded.client.get(embedded.url("events") + path, params={"organization": ""})
    assert response.status_code == 200, response.text
    assert b"\r\n" in response.content
    assert b"\r" not in response.content.replace(b"\r\n", b"")


@pytest.mark.parametrize(
    "starts_at",
    ["0001-01-01T00:00:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59", "1899-12-31T23:00:00"],
)
def test_an_event_outside_1900_2200_is_refused(
    embedded: Running, token: str, starts_at: str
) -> None:
    response = embedded.client.post(
        embedded.url("events") + "/api/v1/local-events",
        json={"title": "Conseil", "kind": "autre", "starts_at": starts_at},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_invalid(response, "body", "starts_at")
    assert "1900" in response.json()["errors"][0]["msg"]


def test_a_release_in_year_1_is_refused(embedded: Running, token: str) -> None:
    response = embedded.client.post(
        embedded.url("events") + "/api/v1/releases",
        json={"title": "Budget", "at": "0001-01-01T00:00:00"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_invalid(response, "body", "at")


@pytest.mark.parametrize(("field", "value"), [("title", "a\rb"), ("location", "a\nb")])
def test_an_event_with_a_control_character_in_a_line_is_refused(
    embedded: Running, token: str, field: str, value: str
) -> None:
    body = {"title": "Conseil", "starts_at": "2030-01-01T20:00:00", field: value}
    response = embedded.client.post(
        embedded.url("events") + "/api/v1/local-events",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_invalid(response, "body", field)


@pytest.mark.parametrize(
    ("service", "path", "where"),
    [
        ("catalog", "/api/v1/organizations/Roques", ("path", "slug")),
        ("catalog", "/api/v1/datasets/a%0Ab", ("path", "slug")),
        ("catalog", "/api/v1/datasets?organization=x%0D", ("query", "organization")),
        ("catalog", "/api/v1/datasets?q=a%00b", ("query", "q")),
        ("catalog", "/api/v1/requests?territory=%0A", ("query", "territory")),
        ("catalog", "/api/v1/coverage?territory=-x", ("query", "territory")),
        ("events", "/api/v1/releases/upcoming?territory=x%0D%0A", ("query", "territory")),
        ("events", "/api/v1/local-events?organization=%00", ("query", "organization")),
    ],
)
def test_slugs_and_lines_in_paths_and_queries_are_checked(
    embedded: Running, service: str, path: str, where: tuple[str, ...]
) -> None:
    assert_invalid(embedded.client.get(embedded.url(service) + path), *where)


def test_an_upload_title_on_two_lines_is_refused(embedded: Running, token: str) -> None:
    response = embedded.client.post(
        embedded.url("ingest") + "/api/v1/uploads",
        data={"dataset": "lignes", "title": "Budget\r\n2025"},
        files={"file": ("a.csv", b"a,b\n1,2\n", "text/csv")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "title"


def test_calendars_never_carry_a_raw_line_break_from_stored_text() -> None:
    # Imported calendars and rows written before the API refused them may hold any character.
    now = datetime(2030, 1, 1, tzinfo=UTC)
    event = LocalEvent(
        id=uuid.uuid4(),
        organization="roques",
        title="Conseil\rBEGIN:VEVENT",
        kind="autre",
        starts_at=now,
        timezone="Europe/Paris",
        location="Mairie\x00\nde Roques",
        description="Ordre du jour\r\n1. budget\rEND:VCALENDAR",
        status="planned",
        updated_at=now,
    )
    release = Release(
        id=uuid.uuid4(),
        organization="roques",
        title="Budget\r\nX-INJECTED:1",
        timezone="Europe/Paris",
        due_at=now,
        updated_at=now,
        local_event_id=event.id,
    )
    for content in (
        export.local_events_calendar([event], name="Événements\r\nX-A:1"),
        export.releases_calendar([release], {event.id: event}, full=True, name="x\rY"),
    ):
        lines = content.split(b"\r\n")
        assert all(
            b"\r" not in line and b"\n" not in line and b"\x00" not in line for line in lines
        )
        assert not any(line.startswith((b"X-A", b"X-INJECTED", b"Y")) for line in lines)
        assert lines.count(b"BEGIN:VEVENT") == 1


@pytest.mark.postgres
def test_a_nul_never_reaches_postgresql(on_postgres: Running) -> None:
    # PostgreSQL text cannot hold NUL: each is refused before the database is asked.
    catalog = on_postgres.url("catalog")
    for action in ("package_show", "organization_show", "resource_show"):
        response = on_postgres.client.get(f"{catalog}/api/3/action/{action}?id=a%00b")
        assert response.status_code == 409, response.text
        assert response.json()["error"]["__type"] == "Validation Error"
    response = on_postgres.client.get(f"{catalog}/api/v1/datasets?q=a%00b")
    assert_invalid(response, "query", "q")


def test_a_row_filter_with_a_nul_is_a_problem() -> None:
    columns = [{"name": "commune", "column": "c0", "type": "string", "stored": "string"}]
    with pytest.raises(InvalidFilter):
        rowquery.parse([("commune", "Roques\x00")], columns)
