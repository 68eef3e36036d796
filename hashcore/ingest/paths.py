"""File names as the user sees them.

Paths stay `str` everywhere in HashLens, decoded the way Python decodes the file system
(`os.fsdecode`: UTF-8 with surrogateescape), so a name whose bytes are not UTF-8 (b'caf\\xe9.jpg'
from an old camera, a Windows archive or a NAS share) still opens, moves and round-trips to its
exact bytes with `os.fsencode`. Such a str holds lone surrogates, which no terminal, JSON
encoder or Qt widget can show; `display_path` is the one readable form of it.
"""

from __future__ import annotations

import os


def display_path(path: str | os.PathLike[str]) -> str:
    """Readable text for a path: every byte that is not UTF-8 becomes `\\xNN`, the rest is unchanged.

    'caf\\udce9.jpg' (the bytes b'caf\\xe9.jpg') shows as 'caf\\\\xe9.jpg'. The CLI prints it, its
    --json writes it, the GUI shows it. Works on any text that carries such paths.
    """
    text = os.fspath(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no file system decodes to ('\\ud800'): its code point
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
