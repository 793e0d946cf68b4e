"""Reading what communes send: encodings, delimiters, line endings — and no silent mojibake."""

import shutil
from pathlib import Path

import pytest

from datacommune.validate.reading import sniff, transcoding

# Letters that only appear when a French file is read in the wrong encoding.
MOJIBAKE = ["č", "ď", "ű", "ő", "Ã©", "Ã¨", "ï»¿", "\ufffd"]

EXPECTED = [
    # file, encoding, BOM, delimiter, line endings, words that must read right
    (
        "real/dep80-somme-subventions-20180302.csv",
        "cp1252",
        "utf-8",
        ";",
        "crlf",
        ["€ HT", "jusqu’à"],
    ),
    (
        "real/irve-driveco-20201215.csv",
        "latin-1",
        None,
        ";",
        "lf",
        ["BMW Chennevières", "accessibilité"],
    ),
    ("real/dep46-lot-subventions-2017.csv", "cp1252", None, ";", "mixte", ["Mise en œuvre"]),
    (
        "real/dep58-nievre-subventions-2016.csv",
        "latin-1",
        None,
        ",",
        "crlf",
        ["Département de la Nièvre"],
    ),
    ("real/toulouse-metropole-subventions-2022.csv", "utf-8", "utf-8", ";", "crlf", ["catégorie"]),
    (
        "real/com-poitiers-subventions-associations-2017.csv",
        "utf-8",
        None,
        ";",
        "mixte",
        ["Européenne"],
    ),
    ("real/montpellier-subventions-associations.csv", "utf-8", None, ",", "lf", ["Thématique"]),
    ("frictionless/latin1.csv", "latin-1", None, ",", "lf", ["©"]),
    (
        "frictionless/table-infer-iso-8859-7.csv",
        "cp1253",
        None,
        ",",
        "lf",
        ["Λεωνιδας", "Αλεξανδρος"],
    ),
    ("frictionless/issue-1009-semicolon.csv", "utf-8", None, ";", "lf", ["0123"]),
    ("validata/fixtures/sample_with_bom.csv", "utf-8", "utf-8", ";", "crlf", []),
    ("validata/fixtures/irve_accent_valide.csv", "utf-8", None, ";", "lf", ["accessibilité"]),
]


@pytest.mark.parametrize(("name", "encoding", "bom", "delimiter", "endings", "words"), EXPECTED)
def test_files_are_read_as_they_were_written(
    reference: Path,
    tmp_path: Path,
    name: str,
    encoding: str,
    bom: str | None,
    delimiter: str,
    endings: str,
    words: list[str],
) -> None:
    path = reference / name
    found = sniff.detect_encoding(path)
    assert (found.name, found.bom) == (encoding, bom), found
    assert found.reason
    dialect = sniff.detect_dialect(sniff.sample_text(path, found))
    assert (dialect.delimiter, dialect.line_endings) == (delimiter, endings)
    target = tmp_path / "utf8.csv"
    transcoding.transcode(path, found, target)
    text = target.read_text(encoding="utf-8")
    for word in words:
        assert word in text


def test_no_corpus_file_is_silently_altered(reference: Path, tmp_path: Path) -> None:
    checked = 0
    for path in sorted(reference.rglob("*.csv")):
        try:
            found = sniff.detect_encoding(path)
        except sniff.Unreadable:
            continue  # said out loud as an encoding error, not altered
        if found.name not in ("utf-8", "utf-16-le", "utf-16-be", "cp1252", "latin-1"):
            continue  # another script (the Greek file), checked by its own case above
        target = tmp_path / "out.csv"
        transcoding.transcode(path, found, target)
        text = target.read_text(encoding="utf-8")
        bad = [m for m in MOJIBAKE if m in text]
        assert not bad, f"{path.name}: {bad}"
        checked += 1
    assert checked >= 55


def test_a_truncated_utf16_file_is_an_error_not_a_guess(reference: Path) -> None:
    path = reference / "validata/fixtures/mini-menus-collectifs_invalide.utf-16.csv"
    with pytest.raises(sniff.Unreadable) as raised:
        sniff.detect_encoding(path)
    assert raised.value.encoding == "utf-16-le"
    assert raised.value.position == 1450


def test_a_good_utf16_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes("\ufeffnom;ville\nÉlodie;Roquettes\n".encode("utf-16-le"))
    found = sniff.detect_encoding(path)
    assert (found.name, found.bom) == ("utf-16-le", "utf-16-le")
    assert sniff.detect_dialect(sniff.sample_text(path, found)).delimiter == ";"


@pytest.mark.parametrize(("delimiter", "sep"), [("\t", "\t"), ("|", "|"), (";", ";"), (",", ",")])
def test_each_delimiter_is_found(tmp_path: Path, delimiter: str, sep: str) -> None:
    text = sep.join(["a", "b", "c"]) + "\n" + sep.join(["1", '"x, y; z | w"', "3"]) + "\n"
    dialect = sniff.detect_dialect(text)
    assert dialect.delimiter == delimiter
    assert dialect.confidence == 1.0


def test_overrides_are_checked(reference: Path, tmp_path: Path) -> None:
    path = reference / "real/irve-driveco-20201215.csv"
    with pytest.raises(sniff.Unreadable):
        sniff.detect_encoding(path, "utf-8")
    chosen = sniff.detect_encoding(path, "iso-8859-15")
    assert chosen.name == "iso8859-15"
    assert chosen.confidence == 1.0
    copy = tmp_path / "x.csv"
    shutil.copyfile(path, copy)
    assert sniff.detect_dialect("a,b;c\n", ";").delimiter == ";"


def test_a_utf8_file_is_copied_as_the_decoding_path_would_write_it(tmp_path: Path) -> None:
    # UTF-8 files are copied byte for byte as read; decoding and writing them back, as every
    # other encoding is (« utf_8 » takes that way), must give the same copy and NUL line, with
    # CRLF, accents and the NUL itself cut by the chunk boundary.
    edge = transcoding.CHUNK
    cases = {
        "bom": "\ufeffnom;ville\r\nA;Fontenay-sous-Bois\r\n".encode(),
        "accent-across": b"x" * (edge - 1) + "é\nb\n".encode(),
        "crlf-across": b"a\r\n" * 10 + b"y" * (edge - 31) + b"\r\n\0\n",
        "crlf-across-then-nul": b"a\r\n" * 10 + b"y" * (edge - 31) + b"\r\n" * edge + b"\0",
        "nul-after-edge": b"a\nb\r\nc\r" + b"z" * edge + b"\n\0",
        "nul-first": b"\0abc\n",
    }
    # Where the NUL is, counted by hand: a CRLF across chunks is one line break.
    nul_lines = {
        "crlf-across": 12,
        "crlf-across-then-nul": 11 + edge,
        "nul-after-edge": 5,
        "nul-first": 1,
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(data)
        found = sniff.detect_encoding(path)
        assert found.name == "utf-8", name
        copied = transcoding.transcode(path, found, tmp_path / "copy.csv")
        # « utf-8 » with its own name under another error handler goes the decoding way.
        general = sniff.Encoding("utf_8", found.bom, 1.0, "", "strict")
        decoded = transcoding.transcode(path, general, tmp_path / "decoded.csv")
        assert copied == decoded, name
        assert copied.nul_line == nul_lines.get(name), name
        if copied.nul_line is None:
            written = (tmp_path / "copy.csv").read_bytes()
            assert written == (tmp_path / "decoded.csv").read_bytes(), name
            assert written == data.removeprefix(b"\xef\xbb\xbf"), name


def test_iso_8859_1_is_lossless_without_comparing(tmp_path: Path) -> None:
    # Every byte but NUL, read as ISO-8859-1: the copy is not compared back (the reading is
    # one to one), and reads back as the very bytes of the file.
    path = tmp_path / "all.csv"
    data = bytes(range(1, 256)) * 3
    path.write_bytes(data)
    latin = sniff.Encoding("latin-1", None, 1.0, "")
    copied = transcoding.transcode(path, latin, tmp_path / "copy.csv")
    assert copied == transcoding.Transcoded(True, None)
    assert (tmp_path / "copy.csv").read_bytes().decode().encode("latin-1") == data


def test_windows_1252_reads_each_byte_as_its_own_character(tmp_path: Path) -> None:
    # The copy is not compared back: every byte but NUL reads as a character no other byte
    # gives (the five unassigned ones as their code points), which encodes back to it.
    data = bytes(range(1, 256))
    text = data.decode("cp1252", errors=sniff.WINDOWS_UNDEFINED)
    assert len(set(text)) == len(data)
    assert text.encode("cp1252", errors=sniff.WINDOWS_UNDEFINED) == data
    path = tmp_path / "all.csv"
    path.write_bytes(data * 3)
    windows = sniff.Encoding("cp1252", None, 1.0, "", sniff.WINDOWS_UNDEFINED)
    copied = transcoding.transcode(path, windows, tmp_path / "copy.csv")
    assert copied == transcoding.Transcoded(True, None)
    assert (tmp_path / "copy.csv").read_bytes().decode() == text * 3
