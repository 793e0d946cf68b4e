"""What a careless or hostile file must not do: garble a text, split a column, fetch a URL."""

import zipfile
from pathlib import Path
from typing import Any

import pytest

from datacommune.validate.checks import repairs
from datacommune.validate.reading import sniff, transcoding
from datacommune.validate.registry import BUILTIN, Registry
from datacommune.validate.reports import report as reports

REGISTRY = Registry.from_dirs([BUILTIN])


def test_a_json_file_is_never_read_as_instructions(tmp_path: Path) -> None:
    (tmp_path / "secret.csv").write_text("a,b\n1,2\n")
    for content in (
        '{"name": "x", "path": "http://127.0.0.1:9/x.csv"}',
        '{"path": "secret.csv"}',
        '{"path": "/etc/passwd"}',
        '{"data": [1, 2]}',
        "not json",
    ):
        path = tmp_path / "file.json"
        path.write_text(content)
        report = reports.check(path, schema=REGISTRY.get("catalogue-donnees"))
        assert report["publishable"] is False
        assert report["summary"]["error_types"] == {"format-error": 1}


def test_json_data_is_checked_as_a_table(tmp_path: Path) -> None:
    path = tmp_path / "file.json"
    path.write_text(
        '[{"nomAttribuant": "Roques", "montant": "abc", "notificationUE": false},'
        ' {"nomAttribuant": "Roques", "montant": 12.5, "extra": {"a": 1}}]'
    )
    entry = REGISTRY.get("scdl-subventions")
    report = reports.check(path, schema=entry)
    assert report["summary"]["rows"] == 2
    assert report["source"]["converted_from"] == "json"
    assert report["source"]["header"] == ["nomAttribuant", "montant", "notificationUE", "extra"]
    bad = [i for i in report["issues"] if i["field"] == "montant" and i["type"] == "type-error"]
    assert [i["cell"] for i in bad] == ["abc"]
    lists = tmp_path / "lists.json"
    lists.write_text('[["a", "b"], [1, "x"]]')
    assert reports.check(lists, schema=None)["publishable"] is True


def test_a_windows_typographic_quote_far_down_the_file(tmp_path: Path) -> None:
    path = tmp_path / "file.csv"
    filler = ("commune;montant\n" + "Roques;12\n" * 600_000).encode("cp1252")
    path.write_bytes(filler + "Roques;l’été coûte 12 €\n".encode("cp1252") + b"A;caf\x9d\n")
    found = sniff.detect_encoding(path)
    assert found.name == "cp1252"
    target = tmp_path / "out.csv"
    transcoding.transcode(path, found, target)
    assert "l’été coûte 12 €" in target.read_text(encoding="utf-8")


def test_utf8_mixed_with_windows_1252_is_an_error_not_a_guess(tmp_path: Path) -> None:
    path = tmp_path / "file.csv"
    path.write_bytes("A;Orléans\nB;Besançon\n".encode() + "C;Chennevières\n".encode("cp1252"))
    with pytest.raises(sniff.Unreadable) as raised:
        sniff.detect_encoding(path)
    assert raised.value.encoding == "utf-8"


def test_a_title_line_does_not_decide_the_delimiter() -> None:
    text = "Subventions versées en 2017\nnom;montant;objet\n" + "Asso;12;a, b\n" * 20
    assert sniff.detect_dialect(text).delimiter == ";"


def test_commas_inside_a_tab_separated_file() -> None:
    text = "Nom, prénom\tAdresse, ville\tMontant\n" + "Dupont, Jean\t1 rue X, Roques\t12\n" * 5
    assert sniff.detect_dialect(text).delimiter == "\t"


def test_a_single_column_is_not_split(tmp_path: Path) -> None:
    path = tmp_path / "file.csv"
    path.write_text("adresse\n12 rue X 31000 Toulouse\n3 place Y, 31000 Toulouse\nRoques\n")
    dialect = sniff.detect_dialect(path.read_text())
    assert dialect.columns == 1
    assert dialect.delimiter not in path.read_text()
    report, repaired = reports.check_with_repair(path, schema=None)
    assert report["summary"]["error_types"] == {}
    assert report["summary"]["warning_types"] == {}
    assert repaired is None


def test_choosing_utf16_without_a_byte_order(tmp_path: Path) -> None:
    path = tmp_path / "file.csv"
    path.write_bytes("\ufeffnom;ville\nÉlodie;Roques\n".encode("utf-16-le"))
    assert sniff.detect_encoding(path, "utf-16").name == "utf-16-le"


def test_an_old_mac_file_is_a_table(tmp_path: Path) -> None:
    path = tmp_path / "file.csv"
    path.write_bytes(b"nom;montant\r" + b"Roques;12\r" * 120_000)
    report = reports.check(path, schema=None)
    assert report["publishable"] is True
    assert report["source"]["dialect"]["line_endings"] == "cr"


def test_an_odd_digit_in_a_siret_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "file.csv"
    header = "siret_orga"
    path.write_text(f"{header}\n5249912050001²\n52499120500013\n")
    entry = REGISTRY.get("catalogue-donnees")
    assert entry is not None
    report = reports.check(path, schema=entry)
    assert report["summary"]["error_types"].get("french-siret-value") == 1


def ods(path: Path, rows: list[list[tuple[str, str, str | None]]]) -> None:
    """A minimal OpenDocument spreadsheet: (value-type, text, stored value) per cell."""
    cells = []
    for row in rows:
        parts = []
        for kind, text, value in row:
            attrs = f' office:value-type="{kind}"'
            if value is not None:
                attrs += f' office:{"date-value" if kind == "date" else "value"}="{value}"'
            parts.append(f"<table:table-cell{attrs}><text:p>{text}</text:p></table:table-cell>")
        cells.append("<table:table-row>" + "".join(parts) + "</table:table-row>")
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body>'
        '<office:spreadsheet><table:table table:name="Feuille1">'
        + "".join(cells)
        + '<table:table-row table:number-rows-repeated="1048000"><table:table-cell '
        'table:number-columns-repeated="1024"/></table:table-row>'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)


def test_an_ods_spreadsheet_is_read_by_its_stored_values(tmp_path: Path) -> None:
    path = tmp_path / "file.ods"
    ods(
        path,
        [
            [("string", "nom", None), ("string", "montant", None), ("string", "date", None)],
            [
                ("string", "Comité des fêtes", None),
                ("float", "1 200,50 €", "1200.5"),
                ("date", "18/03/2025", "2025-03-18"),
            ],
        ],
    )
    report = reports.check(path, schema=None)
    assert report["publishable"] is True
    assert report["source"]["sheet"] == "Feuille1"
    assert report["source"]["header"] == ["nom", "montant", "date"]
    assert report["summary"]["rows"] == 1


def test_a_broken_ods_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "file.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    report = reports.check(path, schema=None)
    assert report["summary"]["error_types"] == {"format-error": 1}


def test_an_unclosed_quote_is_named_not_swallowed(tmp_path: Path) -> None:
    path = tmp_path / "file.csv"
    path.write_text('nom;commentaire\nA;"ouvert sans fin\n' + "B;rien\n" * 5000)
    report = reports.check(path, schema=None)
    assert report["publishable"] is False
    [issue] = report["issues"]
    assert (issue["type"], issue["row"]) == ("unclosed-quote", 2)
    assert "ligne 2" in report["message"]["fr"]


def test_multi_line_cells_are_not_mistaken_for_one(reference: Path, tmp_path: Path) -> None:
    path = tmp_path / "file.csv"
    path.write_bytes(
        (reference / "real/com-poitiers-subventions-associations-2017.csv").read_bytes()
    )
    assert reports.check(path, schema=None)["publishable"] is True


TEXT = "nom;ville;montant\n" + "Élodie;Roques;12\nJean;Muret;7,5\n" * 40


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_without_bom_is_read_or_refused(tmp_path: Path, codec: str) -> None:
    path = tmp_path / "file.csv"
    path.write_bytes(TEXT.encode(codec))
    report, _ = reports.check_with_repair(path, schema=None)
    encoding = report["source"]["encoding"]
    assert (encoding["name"], encoding["bom"], encoding["lossless"]) == (codec, None, True)
    assert report["source"]["header"] == ["nom", "ville", "montant"]
    assert report["summary"]["rows"] == 80
    # Re-encoding it is safe, and the repaired file is the same text.
    assert report["repair"]["file"][0] == f"encodage {codec} → utf-8"
    _, fixed = reports.check_with_repair(path, schema=None, fix=True)
    assert fixed is not None
    assert fixed.file.read_text(encoding="utf-8") == TEXT.replace(";", ",").replace("7,5", '"7,5"')
    # Cut in the middle of a character: refused, saying where and in what, never guessed.
    path.write_bytes(TEXT.encode(codec)[:-1])
    report, fixed = reports.check_with_repair(path, schema=None)
    assert report["summary"]["error_types"] == {"encoding-error": 1}
    assert codec in report["message"]["fr"]
    assert "tronqué" in report["message"]["fr"]
    assert report["message"]["en"]
    assert "repair" not in report
    assert fixed is None


def test_a_reencoding_is_safe_only_when_it_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "file.csv"
    # Shift-JIS as Windows writes it (cp932) has two byte pairs for « ≒ »: read, then written
    # back, 0x8790 becomes 0x81E0. The file reads, but rewriting it would change its bytes.
    path.write_bytes(b"nom;signe\nA;\x87\x90\nB;\x81\xe0\n")
    report = reports.check(path, schema=None, encoding="cp932")
    assert report["source"]["encoding"]["lossless"] is False
    assert "ne redonne pas les mêmes octets" in report["source"]["encoding"]["reason"]
    report, fixed = reports.check_with_repair(path, schema=None, encoding="cp932", fix=True)
    assert "repair" not in report
    assert fixed is None
    with pytest.raises(repairs.NotSafe), (tmp_path / "log").open("w") as log:
        repairs.repair(
            path,
            encoding=sniff.detect_encoding(path, "cp932"),
            dialect=sniff.detect_dialect("nom;signe\n"),
            schema=None,
            target=tmp_path / "out.csv",
            log=log,
        )
    # Windows-1252's five unassigned bytes read as Windows reads them, and go back the same.
    path.write_bytes("nom;ville\nA;Orléans\u20ac\n".encode("cp1252") + b"B;caf\x9d\n")
    report = reports.check(path, schema=None)
    assert report["source"]["encoding"]["lossless"] is True


def refusal(path: Path, content: bytes) -> dict[str, Any]:
    path.write_bytes(content)
    report, fixed = reports.check_with_repair(path, schema=None)
    assert report["publishable"] is False
    assert fixed is None
    assert "repair" not in report
    assert reports.refused(report)
    [issue] = report["issues"]
    assert issue["message_fr"] == report["message"]["fr"]
    return report


def test_nul_bytes_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "file.csv"
    report = refusal(path, b"\0" * 100_000)
    assert report["summary"]["error_types"] == {"format-error": 1}
    assert "n'est fait que d'octets nuls" in report["message"]["fr"]
    assert "nothing but NUL bytes" in report["message"]["en"]
    # Binary junk and a renamed workbook: not text either, and named when their first bytes say.
    report = refusal(path, bytes(range(256)) * 40)
    assert "caractère nul (octet 0) à la ligne 1" in report["message"]["fr"]
    with zipfile.ZipFile(tmp_path / "book.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook>" + "é" * 1000 + "</workbook>")
    report = refusal(path, (tmp_path / "book.zip").read_bytes())
    assert "archive ZIP (un classeur XLSX ou ODS renommé ?)" in report["message"]["fr"]
    # Bytes no encoding reads, NUL among them: not text, rather than « not UTF-8 ».
    report = refusal(path, b"nom;montant\nA;\xc3\xa9t\xe9\0\n")
    assert report["summary"]["error_types"] == {"format-error": 1}
    assert "à la ligne 2" in report["message"]["fr"]
    # One NUL in a real table: refused where it is, not published half-read.
    report = refusal(path, b"nom;montant\r\nA;1\r\nB;2\0\r\nC;3\r\n")
    assert "à la ligne 3" in report["message"]["fr"]
    # The same as UTF-16: its NUL bytes are its encoding, its NUL characters are not text.
    report = refusal(path, "nom;montant\nA;1\nB;\0\n".encode("utf-16-le"))
    assert "à la ligne 3" in report["message"]["fr"]


def test_a_file_without_a_value_is_refused_a_header_alone_is_not(tmp_path: Path) -> None:
    path = tmp_path / "file.csv"
    for content in (b"", b"\xef\xbb\xbf", b"\r\n\r\n", b"   \n\t\n", b';;;\n" ";"";\n'):
        report = refusal(path, content)
        assert report["summary"]["error_types"] == {"source-error": 1}
        assert report["message"]["fr"].startswith("Le fichier est vide") or (
            "aucune valeur" in report["message"]["fr"]
        )
    # A header alone is a table with no row yet (nothing granted this year): it may be
    # published, and the report says it holds no data.
    path.write_bytes(b"nom;montant\n")
    report, _ = reports.check_with_repair(path, schema=None)
    assert report["publishable"] is True
    assert report["summary"]["rows"] == 0
    assert "en-tête seul, aucune ligne de données" in report["message"]["fr"]
    assert "header only, no data rows" in report["message"]["en"]
    header = ";".join(f["name"] for f in REGISTRY.get("scdl-subventions").descriptor["fields"])
    path.write_text(header + "\n", encoding="utf-8")
    report = reports.check(path, schema=REGISTRY.get("scdl-subventions"))
    assert report["publishable"] is True
    assert "conforme" in report["message"]["fr"]
    assert "en-tête seul" in report["message"]["fr"]
