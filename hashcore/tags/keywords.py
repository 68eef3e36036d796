"""Keywords photo files already carry: XMP dc:subject, IPTC keywords (2:25), Windows XP keywords,
and XMP sidecar files beside the photo (`photo.jpg.xmp` as darktable and digiKam write it,
`photo.xmp` as Lightroom and digiKam's option write it).

In XMP, hierarchical keywords (Lightroom/darktable `lr:hierarchicalSubject` "Places|Paris",
digiKam `digiKam:TagsList` "Places/Paris") give their last level ("paris"): the upper levels
are a person's filing categories ("Places", "People"), not what the photo shows, and the tools
usually also write the leaf into dc:subject. The tools' own internal trees (darktable|...,
_Digikam_Internal_Tags_/...) are skipped. Imported read-only as tags with source "file".
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from hashcore.models.textenc import normalise_tag

_XMP_START, _XMP_END = b"<x:xmpmeta", b"</x:xmpmeta>"
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_DC = "{http://purl.org/dc/elements/1.1/}"
# hierarchical keyword properties and the separator between their levels
_HIERARCHICAL = {"{http://ns.adobe.com/lightroom/1.0/}hierarchicalSubject": "|",
                 "{http://www.digikam.org/ns/1.0/}TagsList": "/"}
_TOOL_TREES = ("darktable", "_digikam_internal_tags_")
_SIDECAR_MAX = 16 << 20  # bytes read from a sidecar (darktable's edit history makes them large)


def xmp_subjects(data: bytes) -> list[str]:
    """Keywords of an XMP packet found anywhere in the file's bytes: dc:subject entries, then
    the last level of each hierarchical keyword. Malformed XML gives none."""
    start = data.find(_XMP_START)
    end = data.find(_XMP_END, start)
    if start < 0 or end < 0:
        return []
    try:
        root = ET.fromstring(data[start:end + len(_XMP_END)])
    except ET.ParseError:
        return []
    out = []
    for subj in root.iter(f"{_DC}subject"):
        out += [li.text or "" for li in subj.iter(f"{_RDF}li")]
    for prop, sep in _HIERARCHICAL.items():
        for node in root.iter(prop):
            for li in node.iter(f"{_RDF}li"):
                levels = [x.strip() for x in (li.text or "").split(sep) if x.strip()]
                if levels and levels[0].lower() not in _TOOL_TREES:
                    out.append(levels[-1])
    return out


def sidecars(path: Path) -> list[Path]:
    """The XMP sidecar files a photo may have, in the order they are read: `photo.jpg.xmp`,
    then `photo.xmp` (which a RAW+JPEG pair shares, as the tools intend); also spelt `.XMP`."""
    names = [path.name + ".xmp", path.name + ".XMP"]
    if path.suffix:
        names += [path.stem + ".xmp", path.stem + ".XMP"]
    return [path.with_name(n) for n in dict.fromkeys(names)]


def sidecar_keywords(path: Path) -> list[str]:
    """Keywords in the photo's XMP sidecars. One that is missing, unreadable (a folder, no
    permission) or not XMP adds nothing: the photo's own keywords still count."""
    out: list[str] = []
    for side in sidecars(path):
        try:
            with open(side, "rb") as fh:
                data = fh.read(_SIDECAR_MAX)
        except OSError:
            continue  # no such sidecar, or one we may not read: it has no keywords for us
        out += xmp_subjects(data)
    return out


_IPTC_UTF8 = b"\x1b%G"  # dataset 1:90 (coded character set) saying "UTF-8"
_IPTC_NAA_TIFF_TAG = 33723


def iim_datasets(data: bytes) -> list[tuple[int, int, bytes]]:
    """(record, dataset, value) of an IPTC-IIM block, in order. Reading stops at the first
    malformed dataset (no 0x1C marker, a length past the end of the block), keeping those before
    it: a truncated keyword is dropped rather than imported half."""
    out: list[tuple[int, int, bytes]] = []
    pos = 0
    while pos + 5 <= len(data) and data[pos] == 0x1C:
        record, number, size = data[pos + 1], data[pos + 2], int.from_bytes(data[pos + 3:pos + 5], "big")
        pos += 5
        if size & 0x8000:  # extended dataset: the next (size & 0x7FFF) bytes hold its length
            n = size & 0x7FFF
            if n > 4 or pos + n > len(data):
                break
            size, pos = int.from_bytes(data[pos:pos + n], "big"), pos + n
        if pos + size > len(data):
            break
        out.append((record, number, data[pos:pos + size]))
        pos += size
    return out


def _iptc_block(img: Any) -> bytes | None:
    """The IPTC-IIM bytes of a JPEG (Photoshop APP13, resource 0x0404) or a TIFF (tag 33723)."""
    photoshop = img.info.get("photoshop")
    if isinstance(photoshop, dict) and isinstance(photoshop.get(0x0404), bytes):
        return photoshop[0x0404]
    raw = getattr(getattr(img, "tag_v2", None), "_tagdata", {}).get(_IPTC_NAA_TIFF_TAG)  # as Pillow reads it
    return raw if isinstance(raw, bytes) else None


def _iptc_text(raw: bytes, utf8: bool) -> str:
    """IPTC text is UTF-8 when 1:90 says so; without 1:90 the standard names no character set
    and older tools wrote Latin-1/Windows-1252, so bytes that are not UTF-8 are read as that."""
    if utf8:
        return raw.decode("utf-8", "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def iptc_keywords(img: Any) -> list[str]:
    """IPTC-IIM keywords (dataset 2:25), decoded as dataset 1:90 says. Our own small reader,
    not Pillow's getiptcinfo, which returns a truncated keyword as if whole, None for an empty
    one, and nothing at all when any byte after the keywords is unexpected."""
    block = _iptc_block(img)
    if not block:
        return []
    sets = iim_datasets(block)
    utf8 = any((r, n) == (1, 90) and v.startswith(_IPTC_UTF8) for r, n, v in sets)
    return [_iptc_text(v, utf8) for r, n, v in sets if (r, n) == (2, 25) and v]


def xp_keywords(img: Any) -> list[str]:
    """Windows' XPKeywords EXIF tag (0x9C9E): UTF-16-LE, separated by semicolons."""
    try:
        raw = img.getexif().get(0x9C9E)
    except Exception:  # noqa: BLE001
        return []
    if raw is None:
        return []
    data = bytes(raw) if not isinstance(raw, bytes) else raw
    return data.decode("utf-16-le", "replace").rstrip("\x00").split(";")


def file_keywords(path: str | Path) -> list[str]:
    """All keywords a photo file and its XMP sidecars already carry, normalised and
    de-duplicated, the photo's own first (read-only)."""
    from PIL import Image

    path = Path(path)
    found: list[str] = []
    with open(path, "rb") as fh:
        head = fh.read(4 << 20)
    found += xmp_subjects(head)
    try:
        with Image.open(path) as img:
            found += iptc_keywords(img) + xp_keywords(img)
    except (OSError, ValueError, Image.DecompressionBombError):
        pass
    found += sidecar_keywords(path)
    out: list[str] = []
    for k in found:
        for part in re.split(r"[;,]", k):
            t = normalise_tag(part)
            if t and t not in out:
                out.append(t)
    return out


