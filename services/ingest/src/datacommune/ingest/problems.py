"""Errors ingest answers with, each a documented problem type (see docs/problems.md)."""

from datacommune.shared.problems import Conflict, Forbidden, NotFound, Problem, Unauthorized

__all__ = ["Conflict", "Forbidden", "NotFound", "Problem", "Unauthorized"]


def _size(n: int) -> str:
    for unit in ("o", "Kio", "Mio", "Gio"):
        if n < 1024 or unit == "Gio":
            return f"{n:.0f} {unit}" if unit == "o" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    raise AssertionError


class UploadTooLarge(Problem):
    type = "/problems/upload-too-large"
    title = "Fichier trop volumineux"
    title_en = "File too large"
    status = 413

    @classmethod
    def of(cls, limit: int) -> "UploadTooLarge":
        return cls(
            f"Le fichier dépasse la taille maximale acceptée de {_size(limit)} ({limit} octets). "
            "Découpez-le (par année, par exemple) ou demandez à l'administrateur de relever la limite.",
            f"The file exceeds the maximum accepted size of {limit} bytes. Split it (by year, "
            "for instance) or ask the administrator to raise the limit.",
            limit_bytes=limit,
        )


class EmptyFile(Problem):
    type = "/problems/empty-file"
    title = "Fichier vide"
    title_en = "Empty file"
    status = 400

    @classmethod
    def make(cls) -> "EmptyFile":
        return cls(
            "Le fichier envoyé ne contient aucun octet. Vérifiez que vous avez choisi le bon "
            "fichier et qu'il a bien été enregistré.",
            "The file sent has no bytes. Check that you picked the right file and that it was saved.",
        )


class MalformedUpload(Problem):
    type = "/problems/malformed-upload"
    title = "Envoi mal formé"
    title_en = "Malformed upload"
    status = 400

    @classmethod
    def not_multipart(cls) -> "MalformedUpload":
        return cls(
            "Envoyez le fichier en multipart/form-data avec les champs « file » et « dataset ».",
            "Send the file as multipart/form-data with the fields 'file' and 'dataset'.",
        )

    @classmethod
    def unreadable(cls) -> "MalformedUpload":
        return cls(
            "Le corps de la requête n'est pas un multipart/form-data complet. Renvoyez le fichier.",
            "The request body is not complete multipart/form-data. Send the file again.",
        )

    @classmethod
    def two_files(cls) -> "MalformedUpload":
        return cls(
            "Un envoi porte un seul fichier, dans le champ « file ».",
            "An upload carries a single file, in the field 'file'.",
        )

    @classmethod
    def too_many_parts(cls) -> "MalformedUpload":
        return cls(
            "Trop de champs dans l'envoi : seuls « file », « dataset », « schema », « title », "
            "« encoding » et « delimiter » sont attendus.",
            "Too many parts: only 'file', 'dataset', 'schema', 'title', 'encoding' and "
            "'delimiter' are expected.",
        )

    @classmethod
    def file_in_wrong_field(cls, name: str) -> "MalformedUpload":
        return cls(
            f"Le fichier est envoyé dans le champ « {name} » ; envoyez-le dans le champ « file ».",
            f"The file was sent in the field '{name}'; send it in the field 'file'.",
            field=name,
        )

    @classmethod
    def field_too_long(cls, name: str) -> "MalformedUpload":
        return cls(
            f"Le champ « {name} » est trop long.",
            f"The field '{name}' is too long.",
            field=name,
        )

    @classmethod
    def field_not_utf8(cls, name: str) -> "MalformedUpload":
        return cls(
            f"Le champ « {name} » n'est pas du texte UTF-8.",
            f"The field '{name}' is not UTF-8 text.",
            field=name,
        )


class InvalidField(Problem):
    type = "/problems/invalid-field"
    title = "Champ invalide"
    title_en = "Invalid field"
    status = 422

    @classmethod
    def missing(cls, name: str) -> "InvalidField":
        return cls(
            f"Le champ « {name} » est obligatoire.",
            f"The field '{name}' is required.",
            field=name,
        )

    @classmethod
    def too_long(cls, name: str, limit: int) -> "InvalidField":
        return cls(
            f"Le champ « {name} » dépasse {limit} caractères ; raccourcissez-le.",
            f"The field '{name}' is longer than {limit} characters; shorten it.",
            field=name,
        )

    @classmethod
    def control_character(cls, name: str) -> "InvalidField":
        return cls(
            f"Le champ « {name} » contient un caractère de contrôle (retour à la ligne, "
            "tabulation, NUL…) : écrivez-le sur une seule ligne.",
            f"The field '{name}' holds a control character (line break, tab, NUL…): write it "
            "on one line.",
            field=name,
        )

    @classmethod
    def encoding(cls, value: str) -> "InvalidField":
        return cls(
            f"L'encodage « {value[:50]} » n'existe pas. Exemples : utf-8, cp1252 (Windows), "
            "latin-1 ; ou laissez vide pour qu'il soit détecté.",
            f"There is no encoding '{value[:50]}'. Examples: utf-8, cp1252, latin-1; or leave "
            "it empty to have it detected.",
            field="encoding",
        )

    @classmethod
    def release(cls, value: str) -> "InvalidField":
        return cls(
            f"« {value[:60]} » n'est pas l'identifiant d'une publication programmée : prenez "
            "l'« id » renvoyé par POST /api/v1/releases (service events).",
            f"{value[:60]!r} is not a release id: use the 'id' POST /api/v1/releases returned "
            "(events service).",
            field="release",
        )

    @classmethod
    def delimiter(cls, value: str) -> "InvalidField":
        return cls(
            f"Séparateur « {value[:10]} » non pris en charge : choisissez « , », « ; », « | » ou "
            "« tab » ; ou laissez vide pour qu'il soit détecté.",
            f"Delimiter '{value[:10]}' is not supported: use ',', ';', '|' or 'tab'; or leave it "
            "empty to have it detected.",
            field="delimiter",
        )

    @classmethod
    def dataset_slug(cls, value: str) -> "InvalidField":
        return cls(
            f"« {value[:100]} » n'est pas un identifiant de jeu de données valide : 2 à 100 "
            "caractères parmi a-z, 0-9 et « - », sans tiret au début (ex. « subventions-2024 »).",
            f"'{value[:100]}' is not a valid dataset identifier: 2 to 100 characters among a-z, "
            "0-9 and '-', not starting with '-' (e.g. 'subventions-2024').",
            field="dataset",
        )

    @classmethod
    def mapping_field(cls, value: str) -> "InvalidField":
        return cls(
            f"« {value[:100]} » n'est pas un des champs du schéma que le fichier n'a pas : "
            "choisissez dans la liste proposée.",
            f"'{value[:100]}' is not one of the schema's fields the file lacks: choose from the "
            "list offered.",
            field="mapping",
        )

    @classmethod
    def mapping_twice(cls, value: str) -> "InvalidField":
        return cls(
            f"Le champ « {value[:100]} » est choisi pour deux colonnes : une seule colonne du "
            "fichier peut le devenir ; laissez l'autre « non utilisée ».",
            f"The field '{value[:100]}' is chosen for two columns: only one column can become "
            "it; leave the other unused.",
            field="mapping",
        )

    @classmethod
    def mapping_empty(cls) -> "InvalidField":
        return cls(
            "Aucune correspondance n'est choisie : choisissez, pour au moins une colonne du "
            "fichier, le champ du schéma qu'elle contient.",
            "No mapping is chosen: choose, for one column of the file at least, the schema's "
            "field it holds.",
            field="mapping",
        )


class DatasetNameTaken(Problem):
    type = "/problems/dataset-name-taken"
    title = "Identifiant de jeu de données déjà pris"
    title_en = "Dataset identifier already taken"
    status = 409

    @classmethod
    def of(cls, dataset: str, organization: str) -> "DatasetNameTaken":
        # The same answer whoever holds the name and whatever it holds (public data, data under
        # embargo until a council meeting, or only refused files): who owns it, and whether
        # anything is there, is not this caller's to learn.
        suggestion = f"{organization}-{dataset}"[:100].rstrip("-")
        return cls(
            f"L'identifiant « {dataset} » est déjà pris par une autre organisation. Choisissez-en "
            f"un autre, par exemple « {suggestion} ».",
            f"The identifier {dataset!r} is already taken by another organization. Choose "
            f"another one, for instance {suggestion!r}.",
            dataset=dataset,
            suggestion=suggestion,
        )


def upload_not_found() -> NotFound:
    return NotFound(
        "Aucun envoi de votre organisation ne porte cet identifiant.",
        "No upload of your organization has this id.",
    )


def report_not_ready(status: str) -> NotFound:
    return NotFound(
        f"Le rapport n'est pas encore disponible (état : {status}). Réessayez dans un instant.",
        f"The report is not available yet (status: {status}). Retry in a moment.",
        upload_status=status,
    )


def mapping_without_schema() -> Conflict:
    return Conflict(
        "Une correspondance de colonnes se rapporte à un schéma : déposez le fichier avec un "
        "schéma (champ « schema ») d'abord.",
        "A column mapping belongs to a schema: upload the file with a schema first.",
    )


def no_mapping_proposed() -> Conflict:
    return Conflict(
        "Le rapport de ce dépôt ne propose aucune correspondance de colonnes ; donnez-la dans "
        "« columns » (colonne du fichier → champ du schéma).",
        "This upload's report proposes no column mapping; give it in 'columns' (file column "
        "-> schema field).",
    )


def not_owner(owner: str) -> Forbidden:
    return Forbidden(
        f"Seule l'organisation « {owner} » confirme la correspondance de colonnes de ses jeux "
        "de données.",
        f"Only {owner!r} confirms the column mapping of its datasets.",
        owner=owner,
    )
