"""The file formats the catalogue knows, each by every name the ecosystem gives it: the short
name Frictionless and CKAN use (``csv``), the media type, and the EU Vocabularies file-type
code DCAT-AP asks for (``CSV``, under
http://publications.europa.eu/resource/authority/file-type/)."""

import posixpath
from dataclasses import dataclass

EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    eu_code: str

    @property
    def eu_uri(self) -> str:
        return EU_FILE_TYPE + self.eu_code


FORMATS = [
    Format("csv", "text/csv", "CSV"),
    Format("tsv", "text/tab-separated-values", "TSV"),
    Format("txt", "text/plain", "TXT"),
    Format("json", "application/json", "JSON"),
    Format("geojson", "application/geo+json", "GEOJSON"),
    Format("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLSX"),
    Format("xls", "application/vnd.ms-excel", "XLS"),
    Format("ods", "application/vnd.oasis.opendocument.spreadsheet", "ODS"),
    Format("parquet", "application/vnd.apache.parquet", "PARQUET"),
    Format("zip", "application/zip", "ZIP"),
    Format("pdf", "application/pdf", "PDF"),
]
_BY_MEDIA_TYPE = {f.media_type: f for f in FORMATS}
_BY_NAME = {f.name: f for f in FORMATS}


def bare(media_type: str) -> str:
    """The media type without its parameters (``text/csv; charset=utf-8`` → ``text/csv``)."""
    return media_type.split(";")[0].strip().lower()


def of(media_type: str | None, filename: str | None = None) -> Format | None:
    """The format of a file, by its media type, else by its name's extension."""
    if media_type and (found := _BY_MEDIA_TYPE.get(bare(media_type))):
        return found
    if filename:
        extension = posixpath.splitext(filename.replace("\\", "/"))[1].lstrip(".").lower()
        return _BY_NAME.get(extension)
    return None
