"""The catalogue as DCAT-AP, in JSON-LD and Turtle, paged with hydra for harvesters.

data.gouv.fr's DCAT harvester reads a ``dcat:Catalog`` whose pages are linked by a
``hydra:PagedCollection`` (``hydra:nextPage``, ``hydra:totalItems``…); so does this feed. The
terms follow DCAT-AP 3, which data.gouv.fr's harvester reads: EU vocabularies for themes and
frequencies, INSEE URIs for communes, IANA URIs for media types. The feed passes
SEMIC's DCAT-AP 3.0.1 SHACL shapes shipped in ``shapes/`` (see ``shapes/SOURCES.md``).
"""

import re
from pathlib import Path
from typing import Any

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog.core import metadata
from datacommune.catalog.tables import Dataset, Organization

# SEMIC's shapes, verbatim: what tests (and anyone auditing the feed) validate it against.
SHAPES = Path(__file__).with_name("shapes") / "dcat-ap-3.0.1-SHACL.ttl"
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
THEME = "http://publications.europa.eu/resource/authority/data-theme/"
FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"
FREQUENCIES = {
    "continuous": "CONT",
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "monthly": "MONTHLY",
    "quarterly": "QUARTERLY",
    "biannual": "ANNUAL_2",
    "annual": "ANNUAL",
    "irregular": "IRREG",
}


def _bind(graph: Graph) -> None:
    for prefix, namespace in (
        ("dcat", DCAT),
        ("dct", DCTERMS),
        ("foaf", FOAF),
        ("hydra", HYDRA),
        ("vcard", VCARD),
        ("spdx", SPDX),
    ):
        graph.bind(prefix, namespace)


def _typed(graph: Graph, iri: URIRef, cls: URIRef) -> URIRef:
    """The IRI, stated to be of the class DCAT-AP expects for it.

    DCAT-AP's range shapes check classes, and a harvester reads only the feed: it does not
    fetch the EU vocabularies, INSEE or IANA to learn that a theme is a skos:Concept or a
    media type a dct:MediaType, so the feed says it.
    """
    graph.add((iri, RDF.type, cls))
    return iri


def _organization(graph: Graph, org: Organization, public_url: str) -> URIRef:
    node = URIRef(f"{public_url}/api/v1/organizations/{org.slug}")
    graph.add((node, RDF.type, FOAF.Agent))
    graph.add((node, FOAF.name, Literal(org.name, lang="fr")))
    if org.siren:
        graph.add((node, DCTERMS.identifier, Literal(org.siren)))
    return node


def _dataset(graph: Graph, dataset: Dataset, publisher: URIRef, public_url: str) -> URIRef:
    node = URIRef(f"{public_url}/api/v1/datasets/{dataset.slug}")
    add = graph.add
    add((node, RDF.type, DCAT.Dataset))
    add((node, DCTERMS.identifier, Literal(dataset.slug)))
    add((node, DCTERMS.title, Literal(dataset.title, lang="fr")))
    add((node, DCTERMS.description, Literal(dataset.description or dataset.title, lang="fr")))
    add((node, DCTERMS.publisher, publisher))
    add((node, DCTERMS.issued, Literal(dataset.created_at.isoformat(), datatype=XSD.dateTime)))
    add((node, DCTERMS.modified, Literal(dataset.updated_at.isoformat(), datatype=XSD.dateTime)))
    # No dcat:landingPage: its range is foaf:Document (a web page) and a dataset has none
    # apart from this JSON resource, which is the dataset itself; harvesters (data.gouv.fr's
    # among them) take the dataset IRI as its address when there is no landing page.
    for keyword in dataset.keywords or []:
        add((node, DCAT.keyword, Literal(keyword, lang="fr")))
    if dataset.theme:
        theme = _typed(graph, URIRef(THEME + dataset.theme), SKOS.Concept)
        add((node, DCAT.theme, theme))
        # A skos:Concept needs its label; data.gouv.fr also turns it into a keyword.
        label = metadata.THEMES.get(dataset.theme, dataset.theme)
        add((theme, SKOS.prefLabel, Literal(label, lang="fr")))
        add((theme, SKOS.inScheme, URIRef(THEME.rstrip("/"))))
    if dataset.frequency:
        frequency = URIRef(FREQUENCY + FREQUENCIES[dataset.frequency])
        add((node, DCTERMS.accrualPeriodicity, _typed(graph, frequency, DCTERMS.Frequency)))
    for code in dataset.spatial or []:
        commune = URIRef(f"http://id.insee.fr/geo/commune/{code}")
        add((node, DCTERMS.spatial, _typed(graph, commune, DCTERMS.Location)))
    if dataset.temporal_start or dataset.temporal_end:
        period = BNode()
        add((node, DCTERMS.temporal, period))
        add((period, RDF.type, DCTERMS.PeriodOfTime))
        if dataset.temporal_start:
            add((period, DCAT.startDate, Literal(dataset.temporal_start, datatype=XSD.date)))
        if dataset.temporal_end:
            add((period, DCAT.endDate, Literal(dataset.temporal_end, datatype=XSD.date)))
    if dataset.contact_point:
        contact = BNode()
        add((node, DCAT.contactPoint, contact))
        add((contact, RDF.type, VCARD.Kind))
        point = dataset.contact_point
        if re.fullmatch(r"https?://[^\s<>\"{}|\\^`]+", point):
            add((contact, VCARD.hasURL, URIRef(point)))
        elif re.fullmatch(r"[^@\s<>\"{}|\\^`]+@[^@\s<>\"{}|\\^`]+", point):
            add((contact, VCARD.hasEmail, URIRef(f"mailto:{point}")))
        else:
            # Older values not checked on entry: a name, never an invalid IRI.
            add((contact, VCARD.fn, Literal(point)))
    # A harvested dataset may carry a licence we do not know: stated only if it is an IRI.
    address = metadata.LICENCE_URIS.get(dataset.licence, dataset.licence)
    licence = (
        _typed(graph, URIRef(address), DCTERMS.LicenseDocument)
        if address.startswith(("http://", "https://"))
        else None
    )
    for resource in dataset.resources:
        if not resource.versions:
            continue
        latest = resource.versions[-1]
        distribution = URIRef(f"{node}/resources/{resource.key}")
        add((node, DCAT.distribution, distribution))
        add((distribution, RDF.type, DCAT.Distribution))
        add((distribution, DCTERMS.title, Literal(resource.title, lang="fr")))
        add((distribution, DCAT.accessURL, URIRef(f"{distribution}/latest")))
        add((distribution, DCAT.downloadURL, URIRef(f"{distribution}/latest")))
        media_type = URIRef(f"https://www.iana.org/assignments/media-types/{latest.media_type}")
        add((distribution, DCAT.mediaType, _typed(graph, media_type, DCTERMS.MediaType)))
        add((distribution, DCAT.byteSize, Literal(latest.size, datatype=XSD.nonNegativeInteger)))
        if licence is not None:
            add((distribution, DCTERMS.license, licence))
        add(
            (
                distribution,
                DCTERMS.modified,
                Literal(latest.published_at.isoformat(), datatype=XSD.dateTime),
            )
        )
        if latest.schema_id:
            schema = URIRef(f"https://schema.data.gouv.fr/{latest.schema_id.replace('@', '/')}")
            add((distribution, DCTERMS.conformsTo, _typed(graph, schema, DCTERMS.Standard)))
        checksum = BNode()
        add((distribution, SPDX.checksum, checksum))
        add((checksum, RDF.type, SPDX.Checksum))
        sha256 = _typed(graph, SPDX.checksumAlgorithm_sha256, SPDX.ChecksumAlgorithm)
        add((checksum, SPDX.algorithm, sha256))
        add((checksum, SPDX.checksumValue, Literal(latest.sha256, datatype=XSD.hexBinary)))
    _harvested(graph, node, dataset, licence)
    return node


def _harvested(graph: Graph, node: URIRef, dataset: Dataset, licence: URIRef | None) -> None:
    """A harvested dataset's page at its source, and its files as links to the source."""
    add = graph.add
    if dataset.harvest is not None and dataset.harvest.identity.startswith("http"):
        page = _typed(graph, URIRef(dataset.harvest.identity), FOAF.Document)
        add((node, DCAT.landingPage, page))
    for remote in dataset.remote_resources:
        distribution = URIRef(f"{node}/remote-resources/{remote.id}")
        add((node, DCAT.distribution, distribution))
        add((distribution, RDF.type, DCAT.Distribution))
        add((distribution, DCTERMS.title, Literal(remote.title, lang="fr")))
        add((distribution, DCAT.accessURL, URIRef(remote.url)))
        add((distribution, DCAT.downloadURL, URIRef(remote.url)))
        if remote.media_type:
            media_type = URIRef(f"https://www.iana.org/assignments/media-types/{remote.media_type}")
            add((distribution, DCAT.mediaType, _typed(graph, media_type, DCTERMS.MediaType)))
        if remote.size is not None:
            add(
                (distribution, DCAT.byteSize, Literal(remote.size, datatype=XSD.nonNegativeInteger))
            )
        if licence is not None:
            add((distribution, DCTERMS.license, licence))


async def catalog(
    session: AsyncSession, *, public_url: str, page: int, page_size: int, title: str
) -> Graph:
    """One page of the catalogue, with the hydra links to the others."""
    graph = Graph()
    _bind(graph)
    root = URIRef(f"{public_url}/api/v1/catalog")
    graph.add((root, RDF.type, DCAT.Catalog))
    graph.add((root, DCTERMS.title, Literal(title, lang="fr")))
    graph.add(
        (
            root,
            DCTERMS.description,
            Literal(
                "Les données ouvertes publiées ensemble par les collectivités du territoire.",
                lang="fr",
            ),
        )
    )
    graph.add((root, FOAF.homepage, _typed(graph, URIRef(public_url), FOAF.Document)))
    # The catalogue's publisher is the platform that hosts it, the same agent on every page
    # (and on an empty one): DCAT-AP wants exactly one, and a foaf:Agent with a name.
    operator = _typed(graph, URIRef(f"{public_url}/api/v1/catalog#publisher"), FOAF.Agent)
    graph.add((operator, FOAF.name, Literal(title, lang="fr")))
    graph.add((root, DCTERMS.publisher, operator))
    total = (
        await session.scalar(select(func.count()).select_from(Dataset).where(Dataset.public)) or 0
    )
    rows = await session.scalars(
        select(Dataset)
        .where(Dataset.public)
        .order_by(Dataset.created_at, Dataset.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    orgs: dict[str, Organization] = {
        o.slug: o for o in (await session.scalars(select(Organization))).all()
    }
    publishers: dict[str, URIRef] = {}
    for dataset in rows.all():
        org = orgs[dataset.organization]
        if org.slug not in publishers:
            publishers[org.slug] = _organization(graph, org, public_url)
        graph.add((root, DCAT.dataset, _dataset(graph, dataset, publishers[org.slug], public_url)))
    last = max(1, -(-total // page_size))
    here = URIRef(f"{public_url}/api/v1/catalog.jsonld?page={page}&page_size={page_size}")
    graph.add((here, RDF.type, HYDRA.PagedCollection))
    graph.add((here, HYDRA.totalItems, Literal(total)))
    graph.add((here, HYDRA.itemsPerPage, Literal(page_size)))
    link = f"{public_url}/api/v1/catalog.jsonld?page_size={page_size}&page="
    graph.add((here, HYDRA.firstPage, URIRef(f"{link}1")))
    graph.add((here, HYDRA.lastPage, URIRef(f"{link}{last}")))
    if page < last:
        graph.add((here, HYDRA.nextPage, URIRef(f"{link}{page + 1}")))
    if page > 1:
        graph.add((here, HYDRA.previousPage, URIRef(f"{link}{page - 1}")))
    return graph


def serialize(graph: Graph, fmt: str) -> Any:
    """Turtle or JSON-LD text of the graph."""
    return graph.serialize(format="turtle" if fmt == "ttl" else "json-ld")
