"""Files a command writes, checked against the files it reads: one rule for every command.

A new user typed ``--polygon oak.geojson -o oak.geojson`` and lost the area; ``staffing
district.gpkg --areas district.gpkg`` wrote layers into the store it was reading. Every
command that writes files calls :func:`refuse_inputs` before its work, so the mistake
costs one line and exit code 2, never the input.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import click

from urbangrid.cli.stores import is_server

__all__ = ["refuse_inputs"]


def refuse_inputs(outputs: Iterable[tuple[str, str | Path | None]],
                  inputs: Iterable[tuple[str, str | Path | None]]) -> None:
    """Refuse, before any work, an output that would write over an input.

    Parameters
    ----------
    outputs : iterable of (str, path or None)
        What the command writes: how the user gave it (``"-o route.geojson"``) and a
        path it writes, a file or a folder it fills or replaces (an input inside such a
        folder is refused too: ``scale assign --overwrite`` replaces the whole folder).
        ``None`` paths (options not given) are skipped.
    inputs : iterable of (str, path or None)
        What the command reads: how the user gave it (``"--polygon"``, ``"STORE"``) and
        its path; ``None``, PostgreSQL DSNs and paths with no file are skipped.

    Raises
    ------
    click.UsageError
        One line naming the output, the input it would write over and what to do
        (exit code 2).
    """
    read = [(name, str(p), Path(p).resolve()) for name, p in inputs
            if p is not None and not is_server(str(p)) and Path(p).exists()]
    for given, path in outputs:
        if path is None:
            continue
        target = Path(path).resolve()
        for name, shown, src in read:
            if src == target or target in src.parents:
                over = "" if str(path) in given else f" (it writes {path})"
                raise click.UsageError(f"{given} would write over {name} {shown}, which "
                                       f"the command reads{over}; write to another path")
