"""Bad input gets a precise problem JSON, never a 500, and harms nothing else."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.figures import OPENAPI_WAIT
from tests.platform import MAX_UPLOAD, Running

PROBLEM = "application/problem+json"
pytestmark = pytest.mark.e2e


def assert_problem(response: httpx.Response, status: int, type_: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, object] = response.json()
    assert body["type"] == type_
    assert body["status"] == status
    for member in ("title", "detail", "title_en", "detail_en"):
        assert isinstance(body[member], str)
        assert body[member]
    return body


def staging_is_empty(running: Running) -> bool:
    staging = running.platform.var / "staging"
    return not any(staging.iterdir())


def test_no_token_is_401(embedded: Running) -> None:
    response = embedded.upload(None, b"a\n1\n", dataset="sans-jeton")
    body = assert_problem(response, 401, "/problems/unauthorized")
    assert "Authorization" in str(body["detail"])
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_foreign_token_is_401(embedded: Running) -> None:
    response = embedded.upload("dc_not-a-real-token", b"a\n1\n", dataset="faux-jeton")
    assert_problem(response, 401, "/problems/unauthorized")


def test_a_dataset_of_another_organization_is_409_without_naming_it(embedded: Running) -> None:
    owner = embedded.organization("proprietaire")
    other = embedded.organization("voisine")
    first = embedded.upload(owner, b"a\n1\n", dataset="budget-proprietaire")
    assert first.status_code == 202
    response = embedded.upload(other, b"a\n2\n", dataset="budget-proprietaire")
    body = assert_problem(response, 409, "/problems/dataset-name-taken")
    # Who holds the name is not the caller's to learn (it may hold data under embargo).
    assert "proprietaire" not in response.text.replace("budget-proprietaire", "")
    assert body["suggestion"] == "voisine-budget-proprietaire"
    assert staging_is_empty(embedded)
    # Nor can the other organization read the owner's upload.
    status = embedded.client.get(
        embedded.url("ingest") + f"/api/v1/uploads/{first.json()['id']}",
        headers={"Authorization": f"Bearer {other}"},
    )
    assert_problem(status, 404, "/problems/not-found")


def test_an_empty_file_is_400(embedded: Running) -> None:
    token = embedded.organization("vide")
    response = embedded.upload(token, b"", dataset="vide-data")
    assert_problem(response, 400, "/problems/empty-file")


def test_missing_fields_are_named(embedded: Running) -> None:
    token = embedded.organization("champs")
    response = embedded.client.post(
        embedded.url("ingest") + "/api/v1/uploads",
        files={"file": ("a.csv", b"a\n1\n")},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = assert_problem(response, 422, "/problems/invalid-field")
    assert body["field"] == "dataset"
    bad = embedded.upload(token, b"a\n1\n", dataset="../../etc")
    assert_problem(bad, 422, "/problems/invalid-field")
    not_form = embedded.client.post(
        embedded.url("ingest") + "/api/v1/uploads",
        json={"dataset": "x"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_problem(not_form, 400, "/problems/malformed-upload")


def _chunked_upload(boundary: str, size: int) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="dataset"\r\n\r\ngros\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="gros.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    chunk = b"x" * 65536
    for _ in range(size // len(chunk)):
        yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def test_a_file_over_the_limit_is_413_while_streaming(embedded: Running) -> None:
    token = embedded.organization("gros")
    response = embedded.client.post(
        embedded.url("ingest") + "/api/v1/uploads",
        content=_chunked_upload("b0undary", 3 * MAX_UPLOAD),  # no Content-Length: chunked
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "multipart/form-data; boundary=b0undary",
        },
    )
    body = assert_problem(response, 413, "/problems/upload-too-large")
    assert body["limit_bytes"] == MAX_UPLOAD
    assert "1.0 Mio" in str(body["detail"])
    assert staging_is_empty(embedded)
    files = embedded.platform.var / "files" / "files"
    assert not files.exists() or all(p.stat().st_size <= MAX_UPLOAD for p in files.rglob("*"))


def test_a_declared_length_over_the_limit_is_refused_before_reading(embedded: Running) -> None:
    token = embedded.organization("declare")
    response = embedded.upload(token, b"x" * (2 * MAX_UPLOAD), dataset="declare-gros")
    assert_problem(response, 413, "/problems/upload-too-large")


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("../../../etc/passwd", "../../../etc/passwd"),
        ("a\x00b.csv", "a\\x00b.csv"),
        ("..\\..\\windows\\evil.csv", "..\\\\..\\\\windows\\\\evil.csv"),
    ],
)
def test_a_path_in_a_filename_is_only_escaped_metadata(
    embedded: Running, sent: str, stored: str
) -> None:
    slug = f"chemin{sum(sent.encode())}"
    token = embedded.organization(slug)
    content = f"nom\n{sent!r}\n".encode()
    # Built by hand so that the name reaches the server exactly as a hostile client sends it.
    body = (
        (
            f'--b0undary\r\nContent-Disposition: form-data; name="dataset"\r\n\r\n{slug}\r\n'
            f'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="{sent}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + b"\r\n--b0undary--\r\n"
    )
    response = embedded.client.post(
        embedded.url("ingest") + "/api/v1/uploads",
        content=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "multipart/form-data; boundary=b0undary",
        },
    )
    assert response.status_code == 202, response.text
    upload = response.json()
    assert upload["filename"] == stored
    done = embedded.wait_status(token, upload["id"], {"published"})
    var: Path = embedded.platform.var
    [stored_file] = [
        p for p in (var / "files").rglob("*") if p.is_file() and p.read_bytes() == content
    ]
    assert stored_file.relative_to(var / "files").parts[:2] == ("files", "sha256")
    assert stored_file.name == upload["sha256"]
    download = httpx.get(done["download_url"])
    assert download.content == content
    disposition = download.headers["content-disposition"]
    assert "/" not in disposition.split("filename=")[1].split(";")[0]
    assert "\x00" not in disposition


def test_unknown_routes_and_bad_queries_are_problems(embedded: Running) -> None:
    nowhere = assert_problem(httpx.get(embedded.url("catalog") + "/nowhere"), 404, "about:blank")
    assert nowhere["title"] == "Adresse inconnue"
    slash = httpx.get(embedded.url("events") + "/api/v1/local-events/")
    assert_problem(slash, 404, "about:blank")
    method = httpx.delete(embedded.url("catalog") + "/api/v1/datasets")
    assert assert_problem(method, 405, "about:blank")["title"] == "Méthode non acceptée"
    bad_page = httpx.get(embedded.url("catalog") + "/api/v1/datasets", params={"page_size": 0})
    body = assert_problem(bad_page, 422, "/problems/invalid-request")
    assert body["errors"]
    missing = httpx.get(embedded.url("catalog") + "/api/v1/datasets/absent")
    assert_problem(missing, 404, "/problems/not-found")


def test_only_the_administrator_creates_organizations(embedded: Running) -> None:
    response = httpx.post(
        embedded.url("catalog") + "/api/v1/organizations",
        json={"slug": "pirate", "name": "Pirate"},
        headers={"Authorization": "Bearer dc_whatever"},
    )
    assert_problem(response, 403, "/problems/forbidden")


def _raw_post(running: Running, token: str, body: bytes, boundary: str) -> httpx.Response:
    return running.client.post(
        running.url("ingest") + "/api/v1/uploads",
        content=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )


def test_odd_multipart_bodies_are_400_not_500(embedded: Running) -> None:
    token = embedded.organization("multipart")
    long_boundary = "b" * 300
    body = f"--{long_boundary}\r\n".encode()
    assert_problem(
        _raw_post(embedded, token, body, long_boundary), 400, "/problems/malformed-upload"
    )
    truncated = (
        b'--b0undary\r\nContent-Disposition: form-data; name="dataset"\r\n\r\ntronque\r\n'
        b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="t.csv"\r\n\r\na,b\n'
    )
    assert_problem(
        _raw_post(embedded, token, truncated, "b0undary"), 400, "/problems/malformed-upload"
    )
    assert staging_is_empty(embedded)
    wrong_field = embedded.client.post(
        embedded.url("ingest") + "/api/v1/uploads",
        data={"dataset": "mauvais-champ"},
        files={"upload": ("a.csv", b"a\n1\n")},
        headers={"Authorization": f"Bearer {token}"},
    )
    body_ = assert_problem(wrong_field, 400, "/problems/malformed-upload")
    assert body_["field"] == "upload"


def test_overlong_fields_are_422(embedded: Running) -> None:
    token = embedded.organization("champslongs")
    title = embedded.upload(token, b"a\n1\n", dataset="longs", title="t" * 301)
    assert assert_problem(title, 422, "/problems/invalid-field")["field"] == "title"
    schema = embedded.upload(token, b"a\n1\n", dataset="longs", schema="s" * 201)
    assert assert_problem(schema, 422, "/problems/invalid-field")["field"] == "schema"


def test_a_declared_media_type_is_never_trusted_blindly(embedded: Running) -> None:
    token = embedded.organization("typemedia")
    response = embedded.client.post(
        embedded.url("ingest") + "/api/v1/uploads",
        data={"dataset": "type-media"},
        files={"file": ("page.bin", b"<script>alert(1)</script>", "text/html")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 202, response.text
    assert response.json()["media_type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("service", "type_"),
    [
        ("ingest", "/problems/upload-too-large"),
        ("ingest", "/problems/unauthorized"),
        ("catalog", "/problems/not-found"),
        ("events", "/problems/invalid-time"),
    ],
)
def test_problem_types_resolve(embedded: Running, service: str, type_: str) -> None:
    described = httpx.get(embedded.url(service) + type_)
    assert described.status_code == 200
    assert described.json()["type"] == type_
    assert described.json()["title"]


def test_openapi_declares_the_bearer_token_and_problem_answers(embedded: Running) -> None:
    spec = httpx.get(embedded.url("ingest") + "/openapi.json", timeout=OPENAPI_WAIT).json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    post = spec["paths"]["/api/v1/uploads"]["post"]
    assert post["security"] == [{"HTTPBearer": []}]
    assert "application/problem+json" in post["responses"]["4XX"]["content"]


def test_deep_json_upload_ends_refused_not_retried(embedded: Running) -> None:
    token = embedded.organization("profond")
    content = b"[" * 100_000 + b"]" * 100_000
    response = embedded.upload(token, content, dataset="profond", filename="profond.json")
    assert response.status_code == 202, response.text
    body = embedded.wait_status(token, response.json()["id"], {"invalid", "published"})
    assert body["status"] == "invalid"
    report = body["report"]
    assert report["summary"]["error_types"] == {"limit-exceeded": 1}
    assert report["issues"][0]["limit"] == "json-depth"
    assert "plus de 64 niveaux" in report["message"]["fr"]
    assert "more than 64 levels" in report["message"]["en"]


def test_a_nul_bytes_upload_is_refused_not_published(embedded: Running) -> None:
    token = embedded.organization("octetsnuls")
    response = embedded.upload(token, b"\0" * 65536, dataset="octets-nuls")
    assert response.status_code == 202, response.text
    body = embedded.wait_status(token, response.json()["id"], {"invalid", "published"})
    assert body["status"] == "invalid"
    report = body["report"]
    assert report["summary"]["error_types"] == {"format-error": 1}
    assert "n'est fait que d'octets nuls" in report["message"]["fr"]
    missing = httpx.get(embedded.url("catalog") + "/api/v1/datasets/octets-nuls")
    assert missing.status_code == 404
