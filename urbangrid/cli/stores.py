"""Opening the store a command names: one rule and one message for every command.

A command that reads opens its store read-only, so a mistyped GeoPackage path is never
created and nothing is migrated; one that writes opens it for writing, and creates a new
GeoPackage only when the command is one that makes stores (``create=True``), saying so.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import click

from urbangrid.errors import UrbangridError

if TYPE_CHECKING:
    from urbangrid.store import Store

__all__ = ["STREETS_AND_GRIDS", "describe", "is_server", "missing_store_message", "open_store"]

#: What to do after making a store, for commands that need streets and grids.
STREETS_AND_GRIDS = ("load streets and grids into it (`urbangrid load streets|grids FILE "
                     "--store STORE` or `urbangrid grids generate`)")


def is_server(target: str) -> bool:
    """Whether ``target`` is a PostgreSQL connection string rather than a file path.

    The rule :func:`urbangrid.connect` uses (kept here so the command line decides without
    importing the store, 0.8 s): a ``postgresql://`` or ``postgres://`` URL, or a libpq
    key/value string (``dbname=… host=…``) that does not name a ``.gpkg`` file.
    """
    return target.startswith(("postgresql://", "postgres://")) or (
        "dbname=" in target and not target.endswith(".gpkg"))


_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")


def describe(target: str) -> str:
    """``target`` as messages show it: a PostgreSQL DSN without its password.

    >>> describe("postgresql://ug:secret@localhost:5432/city")
    'postgresql://ug@localhost:5432/city'
    >>> describe("dbname=city user=ug password=secret host=db")
    'dbname=city user=ug password=*** host=db'
    >>> describe("district.gpkg")
    'district.gpkg'
    """
    if not is_server(target):
        return target
    if "://" not in target:
        return _PASSWORD.sub(r"\1***", target)
    try:
        parts = urlsplit(target)
        netloc = parts.netloc.rpartition("@")
        if netloc[1]:
            netloc = (netloc[0].partition(":")[0], "@", netloc[2])
        query = _PASSWORD.sub(r"\1***", parts.query.replace("&", " ")).replace(" ", "&")
        return urlunsplit(parts._replace(netloc="".join(netloc), query=query))
    except ValueError:
        return "<unreadable DSN>"


def missing_store_message(target: str, then: str = "load data into it") -> str:
    """The one line printed when no store is at ``target`` (a path without a file)."""
    return (f"no store at {target} (no file at that path; check its spelling); create one "
            f"with `urbangrid db init {target}` or `urbangrid demo`, then {then}")


def open_store(target: str, *, write: bool = False, create: bool = False,
               then: str = "load data into it") -> Store:
    """Open the store ``target`` (a GeoPackage path or a PostgreSQL DSN).

    Parameters
    ----------
    target : str
        GeoPackage path or ``postgresql://`` connection string.
    write : bool
        Open for writing; default read-only (nothing created, migrated or changed).
    create : bool
        With ``write``: a GeoPackage path without a file becomes a new store, and that
        is said on standard error. Otherwise a missing file is an error.
    then : str
        What the user does after making a store, for the error message.

    Raises
    ------
    click.ClickException
        No store at that path, or the store cannot be opened; one line, exit code 1.
    """
    import urbangrid

    missing = not is_server(target) and not Path(target).is_file()
    if missing and not (write and create):
        raise click.ClickException(missing_store_message(target, then))
    try:
        store = urbangrid.connect(target, readonly=not write)
    except UrbangridError as exc:
        raise click.ClickException(str(exc)) from None
    if missing:
        click.echo(f"created the store {target}", err=True)
    return store
