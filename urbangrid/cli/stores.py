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

__all__ = ["GAZETTEER", "STREETS_AND_GRIDS", "UNIT_GRIDS", "created_store_message", "describe",
           "empty_store_message", "is_server", "missing_store_message", "open_store"]

# What to do next, for the messages below; ``{store}`` becomes the store the user named,
# so the commands printed run as they are.
#: For commands that need streets and grids (route, plan, staffing).
STREETS_AND_GRIDS = ("load streets and grids into it (`urbangrid load streets FILE --store "
                     "{store}`; `urbangrid grids generate {store}` or `urbangrid load grids "
                     "FILE --store {store}`)")
#: For commands that need unit grids only (locate, grids validate).
UNIT_GRIDS = ("generate unit grids in it (`urbangrid grids generate {store}`) or load them "
              "(`urbangrid load grids FILE --store {store}`)")
#: For the geocoders.
GAZETTEER = ("load a gazetteer into it (`urbangrid gazetteer load {store} --osm FILE "
             "--divisions CSV`)")


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
    """The one line printed when no store is at ``target`` (a path without a file).

    ``then`` says what to do once the store is made (:data:`STREETS_AND_GRIDS`,
    :data:`UNIT_GRIDS`, :data:`GAZETTEER`); ``{store}`` in it is replaced by ``target``.

    >>> missing_store_message("demmo.gpkg", UNIT_GRIDS)  # doctest: +ELLIPSIS
    'no store at demmo.gpkg (no file at that path; check its spelling); create one with \
`urbangrid db init demmo.gpkg`, then generate unit grids in it (`urbangrid grids generate \
demmo.gpkg`) or ...; or try the demo store (`urbangrid demo` writes out/demo.gpkg); this \
command never creates a store'
    >>> missing_store_message("out/demo.gpkg")
    'no store at out/demo.gpkg: the demo store is made by `make demo` (or `urbangrid demo`); \
this command never creates a store'
    """
    where = describe(target)
    if not is_server(target) and Path(target).parts[-2:] == ("out", "demo.gpkg"):
        # the README's first commands use the demo store: the user has not run the demo yet
        return (f"no store at {where}: the demo store is made by `make demo` (or `urbangrid "
                "demo`); this command never creates a store")
    return (f"no store at {where} (no file at that path; check its spelling); create one "
            f"with `urbangrid db init {where}`, then {then.replace('{store}', where)}; or "
            "try the demo store (`urbangrid demo` writes out/demo.gpkg); this command never "
            "creates a store")


def empty_store_message(target: str, what: str, then: str) -> str:
    """The one line printed when the store ``target`` holds none of ``what`` a command
    needs (``"unit grids"``): the store named as the user gave it, and ``then``, what to
    do (as in :func:`missing_store_message`).

    >>> empty_store_message("d.gpkg", "unit grids", UNIT_GRIDS)  # doctest: +ELLIPSIS
    'd.gpkg holds no unit grids; generate unit grids in it (`urbangrid grids generate d.gpkg`) ...'
    """
    where = describe(target)
    return f"{where} holds no {what}; {then.replace('{store}', where)}"


def created_store_message(target: str) -> str:
    """The line said on standard error when a command made a new store at ``target``."""
    return f"created the store {describe(target)}"


def open_store(target: str, *, write: bool = False, create: bool = False,
               then: str = "load data into it", migrate: bool = True) -> Store:
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
    migrate : bool
        With ``write``: apply pending migrations (default); False opens the store as
        its schema stands (a rollback undoes data, it does not upgrade the store).

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
        store = urbangrid.connect(target, readonly=not write, migrate=migrate)
    except UrbangridError as exc:
        raise click.ClickException(str(exc)) from None
    if missing:
        click.echo(created_store_message(target), err=True)
    return store
