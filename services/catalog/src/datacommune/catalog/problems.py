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
