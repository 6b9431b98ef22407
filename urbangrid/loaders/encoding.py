"""Text encoding of survey files (编码识别): decided by trying, and always said.

Contractors' Shapefiles often come in GBK without a ``.cpg`` file, and CSV files
saved from Excel on a Chinese Windows are GBK too. Guessing wrong turns every
Chinese field name and value into mojibake, so the encoding is decided by
*decoding every text byte of the file* with each candidate, strictly:

1. a ``.cpg`` file, when there is one, is used (and checked);
2. text with no byte above 0x7F is ASCII: every candidate reads it the same;
3. strict UTF-8 is tried first, because GBK text is almost never valid UTF-8
   while the converse is not true;
4. then GBK (CP936), then GB18030 (its superset).

The choice comes back with the reason (:class:`EncodingChoice`), so readers can
say which encoding was chosen and why; a file no candidate decodes is an error
naming the record and field of the first bad byte for each candidate.
"""

from __future__ import annotations

import codecs
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from urbangrid.errors import EncodingDetectionError

__all__ = [
    "CANDIDATES",
    "EncodingChoice",
    "choose_encoding",
    "detect_csv_encoding",
    "detect_dbf_encoding",
]

#: Encodings tried, in order, when a file does not declare one.
CANDIDATES = ("UTF-8", "GBK", "GB18030")

# DBF language driver IDs (header byte 29) that mean the PRC code page 936.
_LDID_CP936 = {0x4D, 0x7A}


@dataclass(frozen=True)
class EncodingChoice:
    """The encoding chosen for a file, and why.

    Attributes
    ----------
    encoding : str
        Python / GDAL codec name (``"UTF-8"``, ``"GBK"``, ``"GB18030"`` or what a
        ``.cpg`` file says).
    reason : str
        One sentence a GIS officer can read ("not valid UTF-8 (record 3, field
        名称); decodes as GBK").
    declared : bool
        True when the file declared it (``.cpg``) or the caller passed it.
    """

    encoding: str
    reason: str
    declared: bool = False


def _decodes(data: bytes, encoding: str) -> str | None:
    """None when `data` decodes strictly as `encoding`, else the reason.

    A UTF-8 value cut short inside its last character still counts as UTF-8:
    DBF text fields are truncated at a byte count, not at a character boundary.
    """
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        if (
            encoding.replace("-", "").upper() == "UTF8"
            and exc.reason == "unexpected end of data"
            and exc.end == len(data)
        ):
            return None
        return f"byte 0x{data[exc.start]:02x} at offset {exc.start}"
    return None


def choose_encoding(
    pieces: Iterable[tuple[str, bytes]],
    *,
    source: str,
    candidates: Iterable[str] = CANDIDATES,
) -> EncodingChoice:
    """Pick the first candidate encoding that decodes every piece of text.

    Parameters
    ----------
    pieces : iterable of (str, bytes)
        ``(where, raw bytes)``: ``where`` names the place for messages
        (``"record 12, field 名称"``, ``"line 4"``).
    source : str
        File name, for messages.
    candidates : iterable of str
        Encodings to try, in order (default :data:`CANDIDATES`).

    Returns
    -------
    EncodingChoice

    Raises
    ------
    EncodingDetectionError
        No candidate decodes every piece; the message names, per candidate,
        where the first bad byte is.

    Examples
    --------
    >>> choose_encoding([("field 名称", "井盖".encode("gbk"))], source="x.dbf").encoding
    'GBK'
    """
    cands = list(candidates)
    first_bad: dict[str, str] = {}
    non_ascii = False
    for where, raw in pieces:
        if not non_ascii and any(b > 0x7F for b in raw):
            non_ascii = True
        for enc in cands:
            if enc in first_bad:
                continue
            why = _decodes(raw, enc)
            if why is not None:
                first_bad[enc] = f"{where}: {why}"
        if len(first_bad) == len(cands):
            break
    if not non_ascii:
        return EncodingChoice(cands[0], "all text is ASCII, which every candidate reads alike")
    for i, enc in enumerate(cands):
        if enc in first_bad:
            continue
        rejected = "; ".join(f"not valid {e} ({first_bad[e]})" for e in cands[:i])
        also = [e for e in cands[i + 1 :] if e not in first_bad]
        reason = f"{rejected}; decodes as {enc}" if rejected else f"decodes as {enc}"
        if i == 0 and also:
            reason += (
                f" (also valid {', '.join(also)}; give --encoding (encoding=) if the "
                "text looks wrong)"
            )
        return EncodingChoice(enc, reason)
    detail = "; ".join(f"not {e}: {first_bad[e]}" for e in cands)
    raise EncodingDetectionError(
        f"{source}: cannot tell the text encoding ({detail}); give --encoding (encoding=), e.g. GBK"
    )


# --------------------------------------------------------------------------- DBF


def _dbf_pieces(path: Path) -> Iterator[tuple[str, bytes]]:
    """Field names and every character-field value of a dBASE file, raw."""
    data = path.read_bytes()
    if len(data) < 32:
        raise EncodingDetectionError(f"{path}: too short to be a dBASE (.dbf) file")
    n_records, header_len, record_len = struct.unpack_from("<IHH", data, 4)
    fields: list[tuple[bytes, bytes, int, int]] = []
    pos = 32
    offset = 1  # each record starts with its deletion flag
    while pos + 32 <= header_len and data[pos] != 0x0D:
        raw_name = data[pos : pos + 11].split(b"\x00", 1)[0]
        ftype = data[pos + 11 : pos + 12]
        length = data[pos + 16]
        fields.append((raw_name, ftype, offset, length))
        offset += length
        pos += 32
    for i, (raw_name, _, _, _) in enumerate(fields):
        yield f"name of field {i + 1}", raw_name
    names = [f.decode("latin-1") for f, _, _, _ in fields]
    text_fields = [(k, off, ln) for k, (_, t, off, ln) in enumerate(fields) if t in (b"C", b"M")]
    for r in range(n_records):
        start = header_len + r * record_len
        record = data[start : start + record_len]
        if len(record) < record_len:
            break
        for k, off, ln in text_fields:
            value = record[off : off + ln].rstrip(b" \x00")
            if value and max(value) > 0x7F:
                yield f"record {r + 1}, field {k + 1} ({names[k]!r} as bytes)", value


def detect_dbf_encoding(
    path: str | PathLike[str], *, encoding: str | None = None
) -> EncodingChoice:
    """Encoding of a Shapefile's attribute table (``.dbf``).

    Parameters
    ----------
    path : path-like
        The ``.shp`` or ``.dbf`` file.
    encoding : str, optional
        Use this encoding (checked: every text byte must decode).

    Returns
    -------
    EncodingChoice
        From ``encoding``, else the ``.cpg`` file, else by trying
        :data:`CANDIDATES` on every field name and text value. A DBF header that
        names code page 936 is mentioned in the reason but not trusted alone.

    Raises
    ------
    EncodingDetectionError
        The ``.dbf`` is missing or no encoding decodes it.
    """
    p = Path(path)
    dbf = p.with_suffix(".dbf") if p.suffix.lower() != ".dbf" else p
    if not dbf.exists():
        alt = p.with_suffix(".DBF")
        if not alt.exists():
            raise EncodingDetectionError(f"{p}: no attribute file {dbf.name} beside it")
        dbf = alt
    if encoding is not None:
        choice = choose_encoding(_dbf_pieces(dbf), source=str(dbf), candidates=[encoding])
        return EncodingChoice(encoding, f"given by the caller ({choice.reason})", True)
    for cpg in (dbf.with_suffix(".cpg"), dbf.with_suffix(".CPG")):
        if cpg.exists():
            declared = cpg.read_text(encoding="ascii", errors="replace").strip()
            name = _cpg_codec(declared)
            choose_encoding(_dbf_pieces(dbf), source=str(dbf), candidates=[name])
            return EncodingChoice(name, f"declared in {cpg.name} ({declared!r})", True)
    with open(dbf, "rb") as fh:
        head = fh.read(32)
    choice = choose_encoding(_dbf_pieces(dbf), source=str(dbf))
    if len(head) > 29 and head[29] in _LDID_CP936:
        return EncodingChoice(
            choice.encoding, f"no .cpg file; {choice.reason}; the DBF header says code page 936"
        )
    return EncodingChoice(choice.encoding, f"no .cpg file; {choice.reason}")


def _cpg_codec(declared: str) -> str:
    """A codec name for what ``.cpg`` files say ("936", "ANSI 936", "UTF-8", "GBK")."""
    text = declared.upper().replace("ANSI", "").strip()
    if text in ("936", "CP936", "WINDOWS-936"):
        return "GBK"
    if text.isdigit():
        return f"CP{text}"
    try:
        codecs.lookup(text)
    except LookupError:
        raise EncodingDetectionError(f".cpg names an unknown encoding {declared!r}") from None
    return text


# --------------------------------------------------------------------------- CSV


def detect_csv_encoding(
    path: str | PathLike[str], *, encoding: str | None = None
) -> EncodingChoice:
    """Encoding of a delimited text file (CSV), by trying every line.

    A UTF-8 byte-order mark (Excel's "CSV UTF-8") gives ``"utf-8-sig"``.

    Parameters
    ----------
    path : path-like
    encoding : str, optional
        Use this encoding (checked).

    Returns
    -------
    EncodingChoice

    Raises
    ------
    EncodingDetectionError
        No candidate decodes the file; the message names the line.
    """
    p = Path(path)
    data = p.read_bytes()

    def lines() -> Iterator[tuple[str, bytes]]:
        for i, line in enumerate(data.split(b"\n")):
            yield f"line {i + 1}", line

    if encoding is not None:
        choice = choose_encoding(lines(), source=str(p), candidates=[encoding])
        return EncodingChoice(encoding, f"given by the caller ({choice.reason})", True)
    if data.startswith(codecs.BOM_UTF8):
        choose_encoding(lines(), source=str(p), candidates=["utf-8-sig"])
        return EncodingChoice("utf-8-sig", "starts with a UTF-8 byte-order mark", True)
    return choose_encoding(lines(), source=str(p))
