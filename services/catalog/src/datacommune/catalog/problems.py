"""Errors catalog answers with (see docs/problems.md)."""

from datacommune.shared.problems import Conflict, Forbidden, NotFound, Problem


def dataset_not_found(slug: str) -> NotFound:
    return NotFound(
        f"Aucun jeu de données « {slug} ». Cherchez avec GET /api/v1/datasets?q=…",
        f"No dataset {slug!r}. Search with GET /api/v1/datasets?q=…",
        dataset=slug,
    )


def version_not_found() -> NotFound:
    return NotFound(
        "Aucune version publiée ne porte cet identifiant.",
        "No published version has this id.",
    )


def organization_not_found(slug: str) -> NotFound:
    return NotFound(
        f"Aucune organisation « {slug} ».",
        f"No organization {slug!r}.",
        organization=slug,
    )


def place_not_found(insee_code: str) -> NotFound:
    return NotFound(
        f"Aucune commune de code INSEE « {insee_code} » dans le référentiel de la plateforme. "
        "L'administrateur le charge avec « datacommune places import ».",
        f"No place with INSEE code {insee_code!r} in the platform's reference. The administrator "
        "loads it with `datacommune places import`.",
        insee_code=insee_code,
    )


def pool_not_found(slug: str) -> NotFound:
    return NotFound(
        f"Aucune donnée mutualisée « {slug} ». La liste est à /api/v1/pools ; une mutualisation "
        "apparaît avec le premier fichier conforme publié dans le territoire.",
        f"No pooled data {slug!r}. The list is at /api/v1/pools; a pool appears with the first "
        "conforming file published in the territory.",
        pool=slug,
    )


def organization_cycle(slug: str, parent: str) -> Conflict:
    return Conflict(
        f"« {parent} » est dans le territoire de « {slug} » : l'y rattacher ferait une boucle. "
        "Choisissez un territoire au-dessus.",
        f"{parent!r} is inside {slug!r}'s territory: putting {slug!r} under it would make a "
        "loop. Choose a territory above.",
        organization=slug,
        parent=parent,
    )


def organization_exists(slug: str) -> Conflict:
    return Conflict(
        f"L'organisation « {slug} » existe déjà. Choisissez un autre identifiant.",
        f"The organization {slug!r} already exists. Choose another identifier.",
        organization=slug,
    )


def not_admin() -> Forbidden:
    return Forbidden(
        "Seul l'administrateur de la plateforme peut créer une organisation : utilisez son "
        "jeton (sur une installation locale, « datacommune org create » le trouve seul).",
        "Only the platform administrator can create an organization: use their token (on a "
        "local install, 'datacommune org create' finds it by itself).",
    )


class FileMissing(Problem):
    type = "/problems/file-missing"
    title = "Fichier indisponible"
    title_en = "File unavailable"
    status = 503


def file_missing() -> FileMissing:
    return FileMissing(
        "Le fichier de cette version est momentanément indisponible dans le stockage. "
        "Réessayez plus tard ; si cela dure, prévenez l'administrateur.",
        "This version's file is temporarily missing from storage. Retry later; if it lasts, "
        "tell the administrator.",
    )


def not_repaired() -> NotFound:
    return NotFound(
        "Cette version a été publiée telle que déposée : il n'y a ni original à part ni "
        "liste de corrections.",
        "This version was published as uploaded: there is no separate original nor change list.",
    )


def not_yours(slug: str) -> Forbidden:
    return Forbidden(
        f"Le jeu de données « {slug} » appartient à une autre organisation.",
        f"The dataset {slug!r} belongs to another organization.",
        dataset=slug,
    )


def bad_cursor() -> Problem:
    return InvalidCursor(
        "Ce curseur de pagination n'est pas valide : reprenez depuis la première page.",
        "This pagination cursor is not valid: start again from the first page.",
    )


class InvalidCursor(Problem):
    type = "/problems/invalid-cursor"
    title = "Curseur invalide"
    title_en = "Invalid cursor"
    status = 400


def request_not_found() -> NotFound:
    return NotFound("Aucune demande ne porte cet identifiant.", "No request has this id.")


class NoRows(Problem):
    type = "/problems/no-rows"
    title = "Pas de lignes consultables"
    title_en = "No rows to query"
    status = 404


def no_rows(reason: str | None) -> NoRows:
    why = f" ({reason})" if reason else ""
    return NoRows(
        "Cette version n'a pas de lignes consultables : seuls les fichiers CSV lus comme un "
        f"tableau en ont{why}. Téléchargez le fichier tel quel.",
        f"This version has no rows to query: only CSV files read as a table have them{why}. "
        "Download the file as it is.",
    )


class RowsNotReady(Problem):
    type = "/problems/rows-not-ready"
    title = "Lignes en cours de chargement"
    title_en = "Rows still loading"
    status = 503


def rows_not_ready() -> RowsNotReady:
    problem = RowsNotReady(
        "Les lignes de cette version viennent d'être publiées et sont en cours de chargement : "
        "réessayez dans quelques secondes (le fichier est déjà téléchargeable).",
        "This version's rows were just published and are loading: retry in a few seconds "
        "(the file can already be downloaded).",
    )
    problem.headers["Retry-After"] = "2"
    return problem


class SearchNotReady(Problem):
    type = "/problems/search-not-ready"
    title = "Index de recherche en construction"
    title_en = "Search index being built"
    status = 503


class SearchUnavailable(Problem):
    type = "/problems/search-unavailable"
    title = "Recherche indisponible"
    title_en = "Search unavailable"
    status = 503


def search_not_ready() -> SearchNotReady:
    problem = SearchNotReady(
        "Les lignes sont consultables ; leur index de recherche (_search) est en cours de "
        "construction : réessayez dans quelques secondes, ou filtrez par colonne d'ici là.",
        "The rows can be queried; their search index (_search) is being built: retry in a few "
        "seconds, or filter by column meanwhile.",
    )
    problem.headers["Retry-After"] = "5"
    return problem


def search_unavailable() -> SearchUnavailable:
    return SearchUnavailable(
        "La recherche dans les lignes n'a pas pu être préparée pour cette version : les "
        "filtres par colonne (colonne__contains=…) restent disponibles.",
        "Search in this version's rows could not be prepared: filters by column "
        "(column__contains=…) still work.",
    )


class InvalidFilter(Problem):
    type = "/problems/invalid-filter"
    title = "Filtre invalide"
    title_en = "Invalid filter"
    status = 400


def invalid_filter(fr: str, en: str, columns: list[str]) -> InvalidFilter:
    return InvalidFilter(fr, en, columns=columns)


class NoCoordinates(Problem):
    type = "/problems/no-coordinates"
    title = "Pas de coordonnées"
    title_en = "No coordinates"
    status = 404


def no_coordinates() -> NoCoordinates:
    return NoCoordinates(
        "Ce tableau n'a ni colonnes latitude/longitude, ni point, ni géométrie : il n'existe pas "
        "en GeoJSON. Prenez le CSV, le JSON, le Parquet ou le XLSX.",
        "This table has no latitude/longitude, point or geometry column: there is no GeoJSON "
        "of it. Take the CSV, JSON, Parquet or XLSX.",
    )


class TooManyRows(Problem):
    type = "/problems/too-many-rows"
    title = "Trop de lignes pour ce format"
    title_en = "Too many rows for this format"
    status = 422


def too_many_rows(rows: int, limit: int) -> TooManyRows:
    return TooManyRows(
        f"{rows} lignes dépassent ce qu'un classeur XLSX contient ({limit}) : filtrez, ou "
        "prenez le CSV ou le Parquet.",
        f"{rows} rows exceed what an XLSX workbook holds ({limit}): filter, or take the CSV "
        "or Parquet.",
        rows=rows,
        limit=limit,
    )


def token_not_found() -> NotFound:
    return NotFound(
        "Aucun jeton de cette organisation ne porte cet identifiant.",
        "No token of this organization has this id.",
    )


class HarvestRefused(Problem):
    type = "/problems/harvest-refused"
    title = "Source de moissonnage refusée"
    title_en = "Harvest source refused"
    status = 422


class HarvestRunning(Problem):
    type = "/problems/harvest-running"
    title = "Moissonnage en cours"
    title_en = "Harvest running"
    status = 409


def harvest_running(run_id: str | None) -> HarvestRunning:
    return HarvestRunning(
        "Cette source est en cours de moissonnage : suivez ce passage dans son journal "
        "(GET …/runs) et réessayez quand il est fini.",
        "This source is being harvested: follow the run in its log (GET …/runs) and retry "
        "once it is finished.",
        run=run_id,
    )


def harvest_source_not_found() -> NotFound:
    return NotFound(
        "Aucune source de moissonnage de cette organisation ne porte cet identifiant.",
        "No harvest source of this organization has this id.",
    )
