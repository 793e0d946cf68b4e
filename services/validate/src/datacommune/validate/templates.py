"""Files a commune can fill in: for each schema, a CSV and an XLSX with its columns.

The XLSX has the columns on a first sheet, with drop-down lists where the schema allows only
some values, and a « Documentation » sheet: each field's description, type, whether it is
required, an example and its allowed values.
"""

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation

from datacommune.validate.registry import SchemaEntry

TYPES_FR = {
    "string": "texte",
    "number": "nombre (point décimal)",
    "integer": "nombre entier",
    "boolean": "vrai/faux",
    "date": "date AAAA-MM-JJ",
    "datetime": "date et heure",
    "year": "année",
    "geopoint": "coordonnées",
    "array": "liste",
    "object": "objet JSON",
}


def _example(field: dict[str, Any]) -> str:
    example = field.get("example")
    if example is None:
        enum = field.get("constraints", {}).get("enum")
        example = enum[0] if enum else ""
    return str(example)


def to_csv(schema: SchemaEntry) -> str:
    """The header, and one example row to replace."""
    fields = schema.descriptor.get("fields", [])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f["name"] for f in fields])
    writer.writerow([_example(f) for f in fields])
    return out.getvalue()


def to_xlsx(schema: SchemaEntry) -> bytes:
    """A workbook: columns with drop-downs, then a documentation sheet."""
    fields = schema.descriptor.get("fields", [])
    book = Workbook()
    data = book.active
    assert data is not None
    data.title = "Données"
    data.append([f["name"] for f in fields])
    for cell in data[1]:
        cell.font = Font(bold=True)
    for column, field in enumerate(fields, start=1):
        enum = field.get("constraints", {}).get("enum")
        letter = data.cell(row=1, column=column).column_letter
        data.column_dimensions[letter].width = max(12, min(40, len(field["name"]) + 4))
        if enum and sum(len(str(v)) + 1 for v in enum) < 255:
            # Excel keeps a list's values in one formula, at most 255 characters long.
            choice = DataValidation(
                type="list",
                formula1='"' + ",".join(str(v).replace('"', "") for v in enum) + '"',
                allow_blank=not field.get("constraints", {}).get("required", False),
                showErrorMessage=True,
                errorTitle="Valeur non permise",
                error="Choisissez une valeur de la liste.",
            )
            data.add_data_validation(choice)
            choice.add(f"{letter}2:{letter}10000")
    doc = book.create_sheet("Documentation")
    doc.append(
        ["Colonne", "Titre", "Description", "Type", "Obligatoire", "Exemple", "Valeurs permises"]
    )
    for cell in doc[1]:
        cell.font = Font(bold=True)
    for field in fields:
        constraints = field.get("constraints", {})
        doc.append(
            [
                field["name"],
                field.get("title", ""),
                field.get("description", ""),
                TYPES_FR.get(field.get("type", "string"), field.get("type", "")),
                "oui" if constraints.get("required") else "non",
                _example(field),
                " ; ".join(str(v) for v in constraints.get("enum", [])),
            ]
        )
    for letter, width in zip("ABCDEFG", (24, 30, 70, 18, 12, 24, 40), strict=True):
        doc.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
