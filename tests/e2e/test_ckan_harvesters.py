"""The catalogue as the harvesters of the ecosystem read it through CKAN's Action API:
data.gouv.fr's (udata) schema on every package, ckanext-harvest's gather stage with its
include/exclude filters and incremental range, ckanapi with Solr syntax, facets and sorts."""

import json
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import ckanapi
import httpx
import pytest

from tests.platform import SESSION_PLATFORMS, Running, session_platform

pytestmark = pytest.mark.e2e

# udata's CKAN harvester validates each package_show result with a voluptuous schema
# (opendatateam/udata, udata/harvest/backends/ckan/schemas/ckan.py at commit
# 6b9ca6ff0930689c3eb83534ee6d447e9b24b33a; the same keys as udata-ckan's
# udata_ckan/schemas/ckan.py at 0bfaf77be03ffed34e46971c355570d976d54d3c). Every key below is
# Required there (extra keys allowed); the checks after them are its validators'.
UDATA_PACKAGE = {
    "id", "name", "title", "notes", "license_id", "license_title", "tags", "metadata_created",
    "metadata_modified", "organization", "resources", "private", "type", "author",
    "author_email", "maintainer", "maintainer_email", "state",
}  # fmt: skip
UDATA_RESOURCE = {
    "id", "position", "name", "description", "format", "mimetype", "size", "hash", "created",
    "last_modified", "url", "resource_type",
}  # fmt: skip
UDATA_TAG = {"id", "name"}
UDATA_ORGANIZATION = {
    "id", "description", "title", "state", "image_url", "revision_id", "name", "created",
    "revision_timestamp", "is_organization", "type", "approval_status",
}  # fmt: skip
# udata keeps the resources of these types (the others pass the schema but are skipped).
UDATA_KEPT_TYPES = {"dkan", "file", "file.upload", "api", "metadata"}


def date_string(value: Any) -> bool:
    try:
        datetime.fromisoformat(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def udata_accepts(package: dict[str, Any]) -> list[str]:
    """What udata's schema would refuse in ``package`` (nothing, for it to be harvested)."""
    wrong = [f"missing {k}" for k in sorted(UDATA_PACKAGE - set(package))]
    if wrong:
        return wrong
    checks = {
        "id/name/title are text": all(isinstance(package[k], str) for k in ("id", "name", "title")),
        "type is dataset": package["type"] == "dataset",
        "license_id is text": isinstance(package["license_id"], str),
        "dates": date_string(package["metadata_created"])
        and date_string(package["metadata_modified"]),
        "private is a boolean": isinstance(package["private"], bool),
        "e-mails": all(
            package[k] is None or "@" in package[k] for k in ("author_email", "maintainer_email")
        ),
        "revision_id, if any, is text": isinstance(package.get("revision_id", ""), str),
        "at least one resource udata keeps": any(
            r.get("resource_type") in UDATA_KEPT_TYPES for r in package["resources"]
        ),
    }
    wrong += [name for name, ok in checks.items() if not ok]
    for tag in package["tags"]:
        wrong += [f"tag missing {k}" for k in sorted(UDATA_TAG - set(tag))]
    if (org := package["organization"]) is not None:
        wrong += [f"organization missing {k}" for k in sorted(UDATA_ORGANIZATION - set(org))]
        if org.get("type") != "organization" or org.get("approval_status") != "approved":
            wrong.append("organization type/approval_status")
        if not (date_string(org.get("created")) and date_string(org.get("revision_timestamp"))):
            wrong.append("organization dates")
    for resource in package["resources"]:
        missing = UDATA_RESOURCE - set(resource)
        wrong += [f"resource missing {k}" for k in sorted(missing)]
        if missing:
            continue
        uuid.UUID(resource["id"])  # udata skips a resource whose id is not a UUID
        if not isinstance(resource["format"], str) or not isinstance(resource["position"], int):
            wrong.append("resource format/position")
        if not date_string(resource["created"]):
            wrong.append("resource created")
        # udata's hash(): 32 hex → md5, 40 → sha1, 64 → sha256; anything else is dropped.
        if resource["hash"] and len(resource["hash"]) not in (32, 40, 64):
            wrong.append(f"resource hash {resource['hash'][:20]}…")
        if "://" not in resource["url"]:
            wrong.append("resource url")
    return wrong


def gather(base: str, config: dict[str, Any], since: datetime | None = None) -> list[str]:
    """ckanext-harvest's CKAN harvester, gather stage (ckan/ckanext-harvest,
    ckanext/harvest/harvesters/ckanharvester.py at be494e1af615b8f440388ebfe906d3d098555f45):
    the same request, filters, incremental range and paging; the ids it would import."""
    fq_terms = []
    if include := config.get("organizations_filter_include"):
        fq_terms.append(" OR ".join(f"organization:{o}" for o in include))
    elif exclude := config.get("organizations_filter_exclude"):
        fq_terms.extend(f"-organization:{o}" for o in exclude)
    if include := config.get("groups_filter_include"):
        fq_terms.append(" OR ".join(f"groups:{g}" for g in include))
    elif exclude := config.get("groups_filter_exclude"):
        fq_terms.extend(f"-groups:{g}" for g in exclude)
    if since is not None:
        # gather_started is a naive UTC datetime: six decimals, then a Z added by hand.
        moment = (since - timedelta(hours=1)).astimezone(UTC).replace(tzinfo=None)
        fq_terms.append(f"metadata_modified:[{moment.isoformat()}Z TO *]")
    params: dict[str, Any] = {"rows": "100", "start": "0", "sort": "id asc"}
    if fq_terms:
        params["fq"] = " ".join(fq_terms)
    ids: list[str] = []
    while True:
        url = f"{base}/api/3/action/package_search?{urlencode(params)}"
        answer = httpx.get(url).json()
        assert answer["success"], answer  # the harvester would see no result at all
        page = [p for p in answer["result"]["results"] if p["id"] not in ids]
        if not page:
            return ids
        for package in page:
            assert not udata_accepts(package), udata_accepts(package)  # imported as found
        ids += [p["id"] for p in page]
        params["start"] = str(int(params["start"]) + int(params["rows"]))


@pytest.fixture(scope="module", params=list(SESSION_PLATFORMS))
def platform(request: pytest.FixtureRequest) -> Running:
    """The session's platforms, by module here: the territory below is made once on each."""
    return session_platform(request)


@pytest.fixture(scope="module")
def territory(platform: Running) -> dict[str, Any]:
    """Three organizations' datasets, with keywords and themes; their ids by slug. Made once
    for the module on each engine: the tests read it (one edits a description, which no other
    test reads)."""
    tag = uuid.uuid4().hex[:6]
    plan = {
        f"roques-{tag}": [("budget", ["budget", "finances"], "ECON"), ("velo", ["vélo"], "TRAN")],
        f"portet-{tag}": [("budget", ["budget"], "ECON")],
        f"muret-{tag}": [("arbres", ["nature"], "ENVI")],
    }
    ids: dict[str, str] = {}
    tokens: dict[str, str] = {}
    for org, datasets in plan.items():
        token = tokens[org] = platform.organization(org)
        for name, keywords, theme in datasets:
            slug = f"{name}-{org}"
            sent = platform.upload(token, f"a,b\n1,{slug}\n".encode(), dataset=slug, title=name)
            platform.wait_status(token, sent.json()["id"], {"published"})
            changed = httpx.patch(
                f"{platform.url('catalog')}/api/v1/datasets/{slug}",
                json={"keywords": keywords, "theme": theme, "description": f"Données {name}"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert changed.status_code == 200, changed.text
            shown = httpx.get(
                f"{platform.url('catalog')}/api/3/action/package_show", params={"id": slug}
            )
            ids[slug] = shown.json()["result"]["id"]
    return {"tag": tag, "ids": ids, "orgs": list(plan), "tokens": tokens}


def test_every_package_passes_udata_s_schema(platform: Running, territory: dict[str, Any]) -> None:
    portal = ckanapi.RemoteCKAN(platform.url("catalog"), user_agent="udata-like")
    for name in territory["ids"]:
        shown = portal.action.package_show(id=name)
        assert udata_accepts(shown) == [], name
        [resource] = shown["resources"]
        assert re.fullmatch(r"[0-9a-f]{64}", resource["hash"])  # udata reads it as sha256
        assert resource["resource_type"] == "file"
        assert resource["description"].startswith("Fichier CSV, version 1")
        assert shown["url"].endswith(f"/jeux-de-donnees/{name}")
    searched = portal.action.current_package_list_with_resources(limit=1000)
    assert searched
    assert [udata_accepts(p) for p in searched] == [[] for _ in searched]


def test_ckanext_harvest_s_filters_take_exactly_what_they_say(
    platform: Running, territory: dict[str, Any]
) -> None:
    base = platform.url("catalog")
    roques, portet, muret = territory["orgs"]
    ids = territory["ids"]

    def of(*orgs: str) -> set[str]:
        return {i for slug, i in ids.items() if any(slug.endswith(o) for o in orgs)}

    mine = of(roques, portet, muret)
    included = gather(base, {"organizations_filter_include": [roques, portet]})
    assert set(included) == of(roques, portet)
    excluded = gather(base, {"organizations_filter_exclude": [roques]})
    assert mine & set(excluded) == of(portet, muret)
    grouped = gather(
        base, {"organizations_filter_include": [roques, muret], "groups_filter_exclude": ["ECON"]}
    )
    assert set(grouped) == {ids[f"velo-{roques}"], ids[f"arbres-{muret}"]}

    # Incremental: only what changed since the last run (an hour's margin, as the harvester).
    before = datetime.now(UTC)
    assert set(gather(base, {"organizations_filter_include": [muret]}, since=before)) == of(muret)
    later = before + timedelta(hours=1, seconds=1)
    time.sleep(1.2)
    assert gather(base, {"organizations_filter_include": [roques]}, since=later) == []
    token = territory["tokens"][roques]
    edited = httpx.patch(
        f"{base}/api/v1/datasets/velo-{roques}",
        json={"description": "Pistes cyclables, mises à jour"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert edited.status_code == 200, edited.text
    # A metadata edit moves metadata_modified: the next incremental run takes it.
    assert gather(base, {"organizations_filter_include": [roques]}, since=later) == [
        ids[f"velo-{roques}"]
    ]


def test_solr_syntax_facets_sorts_and_errors(platform: Running, territory: dict[str, Any]) -> None:
    portal = ckanapi.RemoteCKAN(platform.url("catalog"), user_agent="ckanapi-tests")
    roques, portet, muret = territory["orgs"]
    ids = territory["ids"]

    def names(**params: Any) -> set[str]:
        found = portal.action.package_search(rows=1000, **params)
        return {p["name"] for p in found["results"]} & set(ids)

    assert names(q=f"organization:{roques}") == {f"budget-{roques}", f"velo-{roques}"}
    assert names(q=f"organization:{portet} OR organization:{muret}") == {
        f"budget-{portet}",
        f"arbres-{muret}",
    }
    assert names(q=f"organization:{roques} -tags:budget") == {f"velo-{roques}"}
    assert names(q=f"organization:{roques} AND NOT groups:ECON") == {f"velo-{roques}"}
    assert names(fq=f'tags:"finances" organization:({roques} OR {portet})') == {f"budget-{roques}"}
    assert names(q="budget", fq=f"-organization:{roques}") == {f"budget-{portet}"}
    assert names(fq_list=[f"organization:{muret}", "res_format:CSV"]) == {f"arbres-{muret}"}
    assert names(fq=f"organization:{muret} metadata_modified:[NOW-1DAY TO NOW]") == {
        f"arbres-{muret}"
    }
    assert names(fq=f"organization:{muret} metadata_modified:[* TO NOW-1DAY]") == set()

    counted = portal.action.package_search(
        fq=f"organization:({roques} OR {portet} OR {muret})",
        rows=0,
        **{"facet.field": '["organization", "tags", "groups", "res_format", "license_id"]'},
    )
    assert counted["count"] == 4
    assert counted["results"] == []
    assert counted["facets"]["organization"] == {roques: 2, portet: 1, muret: 1}
    assert counted["facets"]["tags"]["budget"] == 2
    assert counted["facets"]["groups"] == {"ECON": 2, "TRAN": 1, "ENVI": 1}
    assert counted["facets"]["res_format"] == {"CSV": 4}
    items = counted["search_facets"]["organization"]["items"]
    assert {i["name"]: i["count"] for i in items} == counted["facets"]["organization"]

    fq = f"organization:({roques} OR {portet} OR {muret})"
    by_name = portal.action.package_search(fq=fq, sort="name asc", rows=10)["results"]
    assert [p["name"] for p in by_name] == sorted(p["name"] for p in by_name)
    by_id = portal.action.package_search(fq=fq, sort="id asc", rows=10)["results"]
    assert [p["id"] for p in by_id] == sorted(p["id"] for p in by_id)
    titled = portal.action.package_search(fq=fq, sort="title_string desc", rows=10)["results"]
    assert [p["title"] for p in titled] == sorted((p["title"] for p in titled), reverse=True)

    for bad in ({"fq": "champ_inconnu:x"}, {"q": "title:bud~2"}, {"sort": "couleur asc"}):
        with pytest.raises(ckanapi.SearchQueryError):
            portal.action.package_search(**bad)


def test_the_other_read_actions_and_unknown_ones(
    platform: Running, territory: dict[str, Any]
) -> None:
    portal = ckanapi.RemoteCKAN(platform.url("catalog"), user_agent="ckanapi-tests")
    assert {"ECON", "TRAN", "ENVI"} <= set(portal.action.group_list())
    assert "vélo" in portal.action.tag_list()
    assert "etalab-2.0" in {lic["id"] for lic in portal.action.license_list()}
    assert portal.action.site_read() is True
    base = platform.url("catalog") + "/api/3/action"
    unknown = httpx.get(f"{base}/package_patch_everything")
    assert unknown.status_code == 400
    assert unknown.json()["success"] is False
    assert unknown.json()["error"]["__type"] == "Bad Request"


def test_ckanapi_dumps_the_whole_catalogue(
    platform: Running, territory: dict[str, Any], tmp_path: Path
) -> None:
    """``ckanapi dump datasets --all``, the command a portal's administrator runs to copy a CKAN
    catalogue: every public dataset, each a package udata would take."""
    out = tmp_path / "datasets.jsonl"
    ckanapi_cli = Path(sys.executable).with_name("ckanapi")
    done = subprocess.run(
        [str(ckanapi_cli), "dump", "datasets", "--all", "-q", "-p", "2"]
        + ["-r", platform.url("catalog"), "-O", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        # Its worker processes are started as « ckanapi », found on the PATH.
        env={**os.environ, "PATH": f"{ckanapi_cli.parent}{os.pathsep}{os.environ['PATH']}"},
    )
    assert done.returncode == 0, done.stderr
    dumped = [json.loads(line) for line in out.read_text().splitlines()]
    listed = httpx.get(f"{platform.url('catalog')}/api/3/action/package_list").json()["result"]
    assert sorted(p["name"] for p in dumped) == sorted(listed)
    assert set(territory["ids"].values()) <= {p["id"] for p in dumped}
    assert [udata_accepts(p) for p in dumped] == [[] for _ in dumped]
