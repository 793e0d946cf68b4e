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
from rdflib.namespace import DCAT, DCTERMS, FOAF, PROV, RDF, SH, SKOS, XSD
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from datacommune.catalog.core import formats, metadata
from datacommune.catalog.interop import wording
from datacommune.catalog.places import store as places_store
from datacommune.catalog.tables import Dataset, Organization, Place, Pool, PoolSource
from datacommune.shared.outbox import utcnow

# SEMIC's shapes, verbatim: what tests (and anyone auditing the feed) validate it against —
# the mandatory and range shapes of 3.0.1, and the recommendations (warnings) of 3.0.0.
SHAPES = Path(__file__).with_name("shapes") / "dcat-ap-3.0.1-SHACL.ttl"
RECOMMENDED = Path(__file__).with_name("shapes") / "dcat-ap-3.0.0-SHACL-recommended.ttl"


def recommended_shapes() -> Graph:
    """SEMIC's recommended shapes as pyshacl takes them: the file declares a few property
    shapes with nothing in them (``sh:property [ ]``), which pyshacl refuses as malformed;
    they constrain nothing, so they are left out of the graph (the file stays verbatim)."""
    shapes = Graph().parse(RECOMMENDED)
    for shape, empty in list(shapes.subject_objects(SH.property)):
        if not any(shapes.predicate_objects(empty)):
            shapes.remove((shape, SH.property, empty))
    return shapes


HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
THEME = "http://publications.europa.eu/resource/authority/data-theme/"
FRENCH = URIRef("http://publications.europa.eu/resource/authority/language/FRA")
FRANCE = URIRef("http://publications.europa.eu/resource/authority/country/FRA")
STABLE = URIRef("http://publications.europa.eu/resource/authority/planned-availability/STABLE")
# The feed lists only what anyone may read: every dataset in it is public, as the EU says it.
PUBLIC = URIRef("http://publications.europa.eu/resource/authority/access-right/PUBLIC")
# Communes, EPCI, départements and the platform that serves them are local authorities.
LOCAL_AUTHORITY = URIRef("http://purl.org/adms/publishertype/LocalAuthority")
LICENCE_TYPE = "http://purl.org/adms/licencetype/"
LICENCE_TYPES = {
    "etalab-2.0": ["Attribution"],
    "cc-by-4.0": ["Attribution"],
    "odbl-1.0": ["Attribution", "ShareAlike"],
    "cc0-1.0": ["PublicDomain"],
}


# The catalogue's coverage, France: the box around metropolitan France (longitudes -5.2 to
# 9.6, latitudes 41.3 to 51.1, Corsica included) and its centre, in WGS 84 — a rough but true
# geometry, as DCAT-AP recommends one for every place.
def wkt_box(west: float, south: float, east: float, north: float) -> str:
    return (
        f"POLYGON(({west} {south}, {east} {south}, {east} {north}, {west} {north}, {west} {south}))"
    )


FRANCE_BOX = wkt_box(-5.2, 41.3, 9.6, 51.1)
FRANCE_CENTRE = "POINT(2.2 46.2)"
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
        ("dcatap", DCATAP),
        ("gsp", GSP),
        ("dcat", DCAT),
        ("dct", DCTERMS),
        ("foaf", FOAF),
        ("hydra", HYDRA),
        ("vcard", VCARD),
        ("spdx", SPDX),
        ("prov", PROV),
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


def _local_authority(graph: Graph, agent: URIRef) -> None:
    kind = _typed(graph, LOCAL_AUTHORITY, SKOS.Concept)
    graph.add((kind, SKOS.prefLabel, Literal("Local Authority", lang="en")))
    graph.add((agent, DCTERMS.type, kind))


def _licence(graph: Graph, licence: str) -> URIRef | None:
    """A licence as a dct:LicenseDocument with its ADMS type, when it has an address."""
    address = metadata.LICENCE_URIS.get(licence, licence)
    if not address.startswith(("http://", "https://")):
        return None
    node = _typed(graph, URIRef(address), DCTERMS.LicenseDocument)
    for kind in LICENCE_TYPES.get(licence, []):
        concept = _typed(graph, URIRef(LICENCE_TYPE + kind), SKOS.Concept)
        graph.add((concept, SKOS.prefLabel, Literal(kind, lang="en")))
        graph.add((node, DCTERMS.type, concept))
    return node


def _organization(graph: Graph, org: Organization, public_url: str) -> URIRef:
    node = URIRef(f"{public_url}/api/v1/organizations/{org.slug}")
    graph.add((node, RDF.type, FOAF.Agent))
    graph.add((node, FOAF.name, Literal(org.name, lang="fr")))
    _local_authority(graph, node)
    if org.siren:
        graph.add((node, DCTERMS.identifier, Literal(org.siren)))
    return node


def _dataset(
    graph: Graph,
    dataset: Dataset,
    publisher: URIRef,
    public_url: str,
    schemas_url: str,
    places: dict[str, Place],
    sources: list[str] | None = None,
) -> URIRef:
    node = URIRef(f"{public_url}/api/v1/datasets/{dataset.slug}")
    add = graph.add
    add((node, RDF.type, DCAT.Dataset))
    add((node, DCTERMS.identifier, Literal(dataset.slug)))
    add((node, DCTERMS.title, Literal(dataset.title, lang="fr")))
    add((node, DCTERMS.description, Literal(dataset.description or dataset.title, lang="fr")))
    add((node, DCTERMS.publisher, publisher))
    add((node, DCTERMS.issued, Literal(dataset.created_at.isoformat(), datatype=XSD.dateTime)))
    add((node, DCTERMS.modified, Literal(dataset.updated_at.isoformat(), datatype=XSD.dateTime)))
    if dataset.harvest is None:
        # Its page for people; a harvested dataset's is its source's (``_harvested``).
        page = _typed(graph, URIRef(f"{public_url}/jeux-de-donnees/{dataset.slug}"), FOAF.Document)
        add((node, DCAT.landingPage, page))
    for keyword in dataset.keywords or []:
        add((node, DCAT.keyword, Literal(keyword, lang="fr")))
    if dataset.theme:
        theme = _typed(graph, URIRef(THEME + dataset.theme), SKOS.Concept)
        add((node, DCAT.theme, theme))
        # A skos:Concept needs its label; data.gouv.fr also turns it into a keyword.
        label = metadata.THEMES.get(dataset.theme, dataset.theme)
        add((theme, SKOS.prefLabel, Literal(label, lang="fr")))
        add((theme, SKOS.inScheme, URIRef(THEME.rstrip("/"))))
    add((node, DCTERMS.accessRights, _typed(graph, PUBLIC, DCTERMS.RightsStatement)))
    if dataset.frequency:
        frequency = URIRef(FREQUENCY + FREQUENCIES[dataset.frequency])
        add((node, DCTERMS.accrualPeriodicity, _typed(graph, frequency, DCTERMS.Frequency)))
    for code in dataset.spatial or []:
        commune = _typed(graph, URIRef(f"http://id.insee.fr/geo/commune/{code}"), DCTERMS.Location)
        add((node, DCTERMS.spatial, commune))
        if (place := places.get(code)) is not None:
            _place(graph, commune, place)
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
    licence = _licence(graph, dataset.licence)
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
        bare = formats.bare(latest.media_type)
        media_type = URIRef(f"https://www.iana.org/assignments/media-types/{bare}")
        add((distribution, DCAT.mediaType, _typed(graph, media_type, DCTERMS.MediaType)))
        kind = formats.of(latest.media_type, latest.filename)
        if kind is not None:
            # data.gouv.fr takes a file's format from dct:format only.
            file_type = _typed(graph, URIRef(kind.eu_uri), DCTERMS.MediaTypeOrExtent)
            add((distribution, DCTERMS.format, file_type))
        summary = wording.version_summary(latest, kind.name.upper() if kind else "")
        add((distribution, DCTERMS.description, Literal(summary, lang="fr")))
        stable = _typed(graph, STABLE, SKOS.Concept)
        add((stable, SKOS.prefLabel, Literal("stable", lang="en")))
        add((distribution, DCATAP.availability, stable))
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
            # One conformsTo only (data.gouv.fr reads a single one): where the schema version is
            # published, else the copy validate serves.
            schema = URIRef(
                latest.schema_url or f"{schemas_url}/api/v1/schemas/{latest.schema_id}/schema.json"
            )
            add((distribution, DCTERMS.conformsTo, _typed(graph, schema, DCTERMS.Standard)))
            add((schema, DCTERMS.identifier, Literal(latest.schema_id)))
        checksum = BNode()
        add((distribution, SPDX.checksum, checksum))
        add((checksum, RDF.type, SPDX.Checksum))
        sha256 = _typed(graph, SPDX.checksumAlgorithm_sha256, SPDX.ChecksumAlgorithm)
        add((checksum, SPDX.algorithm, sha256))
        add((checksum, SPDX.checksumValue, Literal(latest.sha256, datatype=XSD.hexBinary)))
    _harvested(graph, node, dataset, licence)
    # Pooled data: the datasets its rows come from. prov:wasDerivedFrom, not dct:source: the
    # SHACL shapes want dct:source's object described as a dcat:Dataset in the same page, and a
    # harvester would then import that stub as a dataset of this catalogue.
    for source in sources or []:
        add((node, PROV.wasDerivedFrom, URIRef(f"{public_url}/api/v1/datasets/{source}")))
    return node


def _place(graph: Graph, commune: URIRef, place: Place) -> None:
    """A commune's name and geometry, from the operator's reference (``places``): its centre and
    its box when known, as WKT literals (DCAT-AP 3's ``dcat:centroid`` and ``dcat:bbox``; the
    box is what data.gouv.fr reads spatial coverage from). Not ``locn:geometry``: DCAT-AP 3
    wants a geometry node there, which no French harvester reads."""
    add = graph.add
    add((commune, SKOS.prefLabel, Literal(place.name, lang="fr")))
    add((commune, DCTERMS.identifier, Literal(place.insee_code)))
    centre = f"POINT({place.longitude} {place.latitude})"
    add((commune, DCAT.centroid, Literal(centre, datatype=GSP.wktLiteral)))
    sides = (place.west, place.south, place.east, place.north)
    if all(side is not None for side in sides):
        box = wkt_box(*(float(side or 0) for side in sides))
        add((commune, DCAT.bbox, Literal(box, datatype=GSP.wktLiteral)))


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
    session: AsyncSession,
    *,
    public_url: str,
    schemas_url: str,
    page: int,
    page_size: int,
    title: str,
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
    graph.add((root, DCTERMS.language, _typed(graph, FRENCH, DCTERMS.LinguisticSystem)))
    # What the catalogue's own description is under: the Licence Ouverte.
    catalogue_licence = _licence(graph, "etalab-2.0")
    assert catalogue_licence is not None
    graph.add((root, DCTERMS.license, catalogue_licence))
    scheme = _typed(graph, URIRef(THEME.rstrip("/")), SKOS.ConceptScheme)
    graph.add((scheme, DCTERMS.title, Literal("Data theme", lang="en")))
    graph.add((root, DCAT.themeTaxonomy, scheme))
    france = _typed(graph, FRANCE, DCTERMS.Location)
    graph.add((france, DCAT.bbox, Literal(FRANCE_BOX, datatype=GSP.wktLiteral)))
    graph.add((france, DCAT.centroid, Literal(FRANCE_CENTRE, datatype=GSP.wktLiteral)))
    graph.add((root, DCTERMS.spatial, france))
    # The catalogue's publisher is the platform that hosts it, the same agent on every page
    # (and on an empty one): DCAT-AP wants exactly one, and a foaf:Agent with a name.
    operator = _typed(graph, URIRef(f"{public_url}/api/v1/catalog#publisher"), FOAF.Agent)
    graph.add((operator, FOAF.name, Literal(title, lang="fr")))
    _local_authority(graph, operator)
    graph.add((root, DCTERMS.publisher, operator))
    total, first, last_change = (
        await session.execute(
            select(func.count(), func.min(Dataset.created_at), func.max(Dataset.updated_at))
            .select_from(Dataset)
            .where(Dataset.public)
        )
    ).one()
    # An empty catalogue was issued and changed at its first reading.
    now = utcnow()
    for term, moment in ((DCTERMS.issued, first or now), (DCTERMS.modified, last_change or now)):
        graph.add((root, term, Literal(moment.isoformat(), datatype=XSD.dateTime)))
    listed = (
        await session.scalars(
            select(Dataset)
            .where(Dataset.public)
            .order_by(Dataset.created_at, Dataset.id)
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    ).all()
    known = await places_store.by_codes(session, (c for d in listed for c in d.spatial or []))
    orgs: dict[str, Organization] = {
        o.slug: o for o in (await session.scalars(select(Organization))).all()
    }
    publishers: dict[str, URIRef] = {}
    sources: dict[object, list[str]] = {}
    for pooled, source in await session.execute(
        select(Pool.dataset_id, PoolSource.dataset)
        .join(PoolSource, PoolSource.pool_id == Pool.id)
        .where(Pool.dataset_id.in_([d.id for d in listed]))
        .order_by(PoolSource.dataset)
        .distinct()
    ):
        sources.setdefault(pooled, []).append(source)
    for dataset in listed:
        org = orgs[dataset.organization]
        if org.slug not in publishers:
            publishers[org.slug] = _organization(graph, org, public_url)
        graph.add(
            (
                root,
                DCAT.dataset,
                _dataset(
                    graph,
                    dataset,
                    publishers[org.slug],
                    public_url,
                    schemas_url,
                    known,
                    sources.get(dataset.id),
                ),
            )
        )
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
