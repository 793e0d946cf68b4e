"""Schemathesis against the OpenAPI documents of the four running services: every operation,
with an organization's token so the authenticated routes are reached, bounded (``MAX_EXAMPLES``
per operation) and derandomized (Hypothesis draws from a seed fixed by the test itself), so a
run is the same run every time.

Each answer must be no 500, and match its document: a documented status code, a documented
content type, and the declared schema where one is. Where the document was wrong, the code or
the document was fixed; nothing is silenced here.
"""

import importlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from datacommune.cli.platform import SERVICES
from tests.platform import Running, running_platform

pytestmark = pytest.mark.e2e

# Enough for the coverage phase's boundary cases plus some fuzzing on every operation, within
# about a minute for the four services on a 2-core machine.
MAX_EXAMPLES = 15


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, str]]:
    """A platform of its own (what schemathesis creates stays there), with an organization."""
    with running_platform(
        tmp_path_factory.mktemp("fuzzed"),
        # The per-client request limit has its own test (test_hostile); here every request must
        # reach its route. Webhooks and harvest sources stay on public addresses only, so the
        # addresses schemathesis invents are refused, never called.
        env={"HTTP__REQUESTS_PER_SECOND": "0"},
        per_service_env={
            "catalog": {"ALLOW_PRIVATE_WEBHOOKS": "false", "ALLOW_PRIVATE_HARVEST": "false"}
        },
    ) as running:
        yield running, running.organization("fuzz")


def document(service: str) -> dict[str, Any]:
    """The service's OpenAPI document, made from its code at collection time (the test below
    checks that the running service serves this very document)."""
    module = importlib.import_module(f"datacommune.{service}.app")
    config = importlib.import_module(f"datacommune.{service}.settings").Settings()
    doc: dict[str, Any] = module.create_app(config).openapi()
    return doc


DOCUMENTS = {service: document(service) for service in SERVICES}


def fuzz_schema(service: str) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_dict(DOCUMENTS[service])
    schema.config.generation.update(deterministic=True, max_examples=MAX_EXAMPLES, database="none")
    return schema


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_serves_the_document_fuzzed(fuzzed: tuple[Running, str], service: str) -> None:
    running, _ = fuzzed
    served = running.client.get(running.url(service) + "/openapi.json").json()
    assert served == json.loads(json.dumps(DOCUMENTS[service]))


@schemathesis.check
def no_internal_error(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """No 500. Other 5xx are documented problems that say a dependency is missing, and are
    right: 502 when a feed schemathesis names (``mairie.example``) cannot be fetched, 503 while
    a file's rows are still loading."""
    assert response.status_code != 500, f"{case.method} {case.formatted_path}: {response.text}"
    return None


@schemathesis.pytest.parametrize(**{service: fuzz_schema(service) for service in SERVICES})
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_matches_its_document(
    case: schemathesis.Case, fuzzed: tuple[Running, str]
) -> None:
    running, token = fuzzed
    service = next(s for s in SERVICES if case.operation.schema.raw_schema is DOCUMENTS[s])
    case.call_and_validate(
        base_url=running.url(service),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        checks=[
            no_internal_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
