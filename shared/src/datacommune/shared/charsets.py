"""Text encodings named as HTTP and browsers name them (IANA's registry): validate names the
encoding it read a file in, catalog serves the file with that ``charset``, so a Windows-1252
export opens with its accents and a UTF-8 one is not taken for Windows-1252."""

import codecs

# Python's codec names that differ from the names browsers know (WHATWG Encoding labels).
_IANA = {
    "cp1252": "windows-1252",
    "latin-1": "iso-8859-1",
    "iso8859-1": "iso-8859-1",
    "iso8859-15": "iso-8859-15",
    "utf-8-sig": "utf-8",
    "utf-16-le": "utf-16le",
    "utf-16-be": "utf-16be",
    "mac-roman": "macintosh",
    "cp850": "ibm850",
    "cp437": "ibm437",
    "cp1250": "windows-1250",
    "cp1251": "windows-1251",
    "cp1253": "windows-1253",
}


def iana(name: str) -> str:
    """The IANA name of the Python codec ``name`` (``cp1252`` → ``windows-1252``)."""
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return name.lower()
    return _IANA.get(canonical, canonical)
