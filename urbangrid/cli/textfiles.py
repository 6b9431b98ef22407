"""CSV files as the command line reads them: compressed or not, UTF-8 or GBK.

``urbangrid locate --csv`` and ``urbangrid geocode --csv`` read their input here, so
both take .gz/.bz2/.xz files, decide the text encoding the same way and name a ragged
line the same way.
"""

from __future__ import annotations

import io
from pathlib import Path

import click

__all__ = ["ragged_line", "raw_bytes", "utf8_text"]

_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "lzma"}


def raw_bytes(csv_in: Path) -> bytes:
    """The file's bytes, decompressed when it is gzip, bzip2 or xz (by content)."""
    import importlib

    data = csv_in.read_bytes()
    for magic, module in _MAGIC.items():
        if data.startswith(magic):
            try:
                return bytes(importlib.import_module(module).decompress(data))
            except (OSError, EOFError, ValueError) as exc:
                raise click.ClickException(
                    f"{csv_in}: a {module} file that cannot be decompressed ({exc}); "
                    "fix or re-download the file") from None  # fmt: skip
    return data


def utf8_text(csv_in: Path, data: bytes, encoding: str | None) -> tuple[bytes, str]:
    """The CSV as UTF-8 bytes (no byte-order mark), and which encoding it was read as."""
    import codecs

    bom = data.startswith(codecs.BOM_UTF8)
    if bom:
        data = data[len(codecs.BOM_UTF8):]
    tried: list[str] = []
    for enc in [encoding] if encoding else ["UTF-8"] if bom else ["UTF-8", "GBK", "GB18030"]:
        try:
            text = data.decode(enc)
        except LookupError:
            raise click.UsageError(f"--encoding {enc}: no such encoding (e.g. UTF-8, GBK)"
                                   ) from None  # fmt: skip
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            tried.append(f"not {enc}: byte 0x{data[exc.start]:02x} on line {line}")
            continue
        how = f"{enc} (given)" if encoding else f"{enc} (byte-order mark)" if bom else enc
        if tried:
            how += f" ({'; '.join(tried)})"
        return (data if enc.upper().replace("-", "") == "UTF8" else text.encode()), how
    hint = "give the right --encoding" if encoding else "give --encoding, e.g. GBK"
    raise click.ClickException(f"{csv_in}: cannot read the text ({'; '.join(tried)}); {hint}")


def ragged_line(data: bytes, n_fields: int) -> str | None:
    """``line N: K fields …`` for the first row whose field count differs from the header."""
    import csv as csv_module

    reader = csv_module.reader(io.StringIO(data.decode()))
    for row in reader:
        if row and len(row) != n_fields:
            return (f"line {reader.line_num} has {len(row)} fields where the header has "
                    f"{n_fields}; fix that line (a value with a comma needs quotes)")  # fmt: skip
    return None
