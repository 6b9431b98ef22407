"""The ``urbangrid`` command line.

Commands are thin: they parse arguments, call one library function and print
its result. One command per job (docs/conventions.md): files go into a store
through ``urbangrid load …`` only. No command prints a traceback: errors urbangrid
raises on purpose print as ``error: …`` and exit 1; wrong usage (a bad option value,
a missing argument, an unknown command) prints as ``error: …`` too, in one line, and
exits 2; anything else prints as ``error: internal error (TypeName): …`` and exit 1,
with the traceback only when ``URBANGRID_DEBUG=1`` is set.
"""

from __future__ import annotations

import errno
import importlib
import os
import time
from pathlib import Path
from typing import Any

import click

from urbangrid import __version__
from urbangrid.errors import UrbangridError

# Each command lives in its own module of urbangrid/cli/ and is imported only when
# run: importing them all (osmnx, pandas, networkx…) made `urbangrid --help` take ~1.7 s.
# The one-line help is kept here so listing commands imports nothing;
# tests/test_cli.py checks it still matches each command's own docstring.
_LAZY: dict[str, tuple[str, str]] = {
    "admin": ("urbangrid.cli.admin:admin", "Admin areas (行政区划): codes and boundaries."),
    "components": ("urbangrid.cli.components:components",
                   "City components (城市部件): count the inventory."),
    "gazetteer": ("urbangrid.cli.geocode:gazetteer_group",
                  "Build the place gazetteer (地名地址库) in a store."),
    "geocode": ("urbangrid.cli.geocode:geocode_command",
                "Address → WGS84 longitude/latitude, match level and confidence (地址匹配)."),
    "grids": ("urbangrid.cli.grids:grids",
              "Unit grids (单元网格) and work grids (工作网格)."),
    "load": ("urbangrid.cli.load:load",
             "Load files into a store: surveys (GeoPackage, Shapefile, GeoJSON, FlatGeobuf, "
             "CSV), OSM streets."),
    "locate": ("urbangrid.cli.locate:locate",
               "Unit grid, work grid, community, street and district of LON LAT (or of a CSV)."),
    "plan": ("urbangrid.cli.plan:plan", "Patrol plan of a district: areas, rounds, roster."),
    "reverse": ("urbangrid.cli.geocode:reverse_command",
                'Point → nearest door plate or POI, described as "成府路55号东50米" (逆地理编码).'),
    "route": ("urbangrid.cli.route:route", "Patrol route of one area."),
    "scale": ("urbangrid.cli.scale:scale",
              "Beyond one machine (超越单机): bulk assignment and routing on Dask."),
    "solve": ("urbangrid.cli.solve:solve",
              "Postman and CARP solvers on a GraphML network or a CARPLIB instance."),
    "staffing": ("urbangrid.cli.staffing:staffing",
                 "Collectors needed by STORE's grids, by norm, and their collector areas."),
}
_LAZY_DB: dict[str, tuple[str, str]] = {
    "grant-readonly": ("urbangrid.cli.load:grant_readonly_command",
                       "Let ROLE read every urbangrid table of the PostGIS STORE, and write none."),
}


class LazyGroup(click.Group):
    """A command group some of whose commands are imported only when run.

    ``lazy`` maps a command name to ``("module:attribute", one-line help)``.
    """

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, _, attr = self.lazy[cmd_name][0].partition(":")
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names))
        rows = []
        for name in names:
            if name in self.commands:
                if not self.commands[name].hidden:
                    rows.append((name, self.commands[name].get_short_help_str(limit)))
            else:
                # A stand-in command shortens the help exactly as the real one would.
                stand_in = click.Command(name, help=self.lazy[name][1])
                rows.append((name, stand_in.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


class UsageLine(click.ClickException):
    """A usage error as the CLI prints every error: one line ``error: …`` on stderr.

    click's own rendering of a :class:`click.UsageError` is three lines (usage, "Try
    … --help", "Error: Invalid value for …"), unlike every other failure; this keeps
    the usage error's exit code, 2.
    """

    exit_code = 2  # click.UsageError's

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", file=file, err=file is None)


def usage_line(exc: click.exceptions.UsageError) -> UsageLine:
    """`exc` as one ``error: …`` line: click's wording from a lower-case letter, and
    where to read the options when click itself refused the command line (an option
    value that urbangrid checked says what to give already)."""
    text = exc.format_message().strip().rstrip(".")
    text = text[:1].lower() + text[1:]
    if ". Did you mean " in text:  # click's suggestion for a mistyped option or command
        text = text.replace(". Did you mean ", " (did you mean ", 1) + ")"
    own = isinstance(exc, click.BadParameter) and not isinstance(exc, click.MissingParameter)
    if not own and exc.ctx is not None:
        text += f"; see `{exc.ctx.command_path} --help`"
    return UsageLine(" ".join(text.split()))


class MainGroup(LazyGroup):
    """The top group: no command it runs prints a traceback.

    Usage errors (click's or urbangrid's, exit code 2) print as one line ``error: …``
    (:func:`usage_line`); click handles ``--help`` and ``sys.exit``. An
    :class:`~urbangrid.errors.UrbangridError` is a message for the user: one line
    ``error: …``, exit code 1; so are a file the system refuses and a database error
    (:func:`one_line`). Anything else is a bug, said so in one line, exit code 1;
    ``URBANGRID_DEBUG=1`` lets its traceback through.
    """

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:  # the top group's own options: `urbangrid --bogus`
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise  # `urbangrid` alone prints the help
        except click.exceptions.UsageError as exc:
            raise usage_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise  # `urbangrid grids` alone prints the group's help
        except click.exceptions.UsageError as exc:
            raise usage_line(exc) from None
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except click.exceptions.ClickException as exc:
            # One spelling for every failure, "error: …" (click's own is "Error: …").
            click.echo(f"error: {exc.format_message()}", err=True)
            ctx.exit(exc.exit_code)
        except Exception as exc:
            if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
                raise  # output piped into `head`: click.Command.main ends quietly
            if os.environ.get("URBANGRID_DEBUG") == "1":
                raise
            click.echo(f"error: {one_line(exc)}", err=True)
            ctx.exit(1)


def one_line(exc: BaseException) -> str:
    """What the CLI prints after ``error:`` for `exc`, on one line.

    Errors urbangrid raises on purpose say what to do already; a file the
    system refuses names the file; a database error that got past the store
    says so in the database's own first line; anything else is a bug, said so.
    """
    if isinstance(exc, UrbangridError):
        text = str(exc)
    elif isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        text = f"{where}{exc.strerror}; check the path and its permissions"
    elif type(exc).__module__.split(".")[0] in ("psycopg", "sqlite3"):
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        text = f"the database refused: {first} (nothing was written)"
    else:
        text = (f"internal error ({type(exc).__name__}): {exc} "
                "(URBANGRID_DEBUG=1 shows the traceback)")
    return " ".join(text.split()) if "\n" in text else text


@click.group(cls=MainGroup, lazy=_LAZY, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="urbangrid")
def main() -> None:
    """urbangrid: digital city management (数字城管) GIS.

    STORE is a GeoPackage path (district.gpkg: embedded, no server) or a
    PostGIS DSN (postgresql://user:pass@host/db: the system of record).
    Commands that only read never create or change a store.

    Exit codes: 0 done; 1 failed, said in one line "error: …"; 2 wrong usage;
    loads also 3 and 4 (urbangrid load --help).
    """


@main.group(cls=LazyGroup, lazy=_LAZY_DB)
def db() -> None:
    """Create, upgrade and inspect stores."""


@db.command("init")
@click.argument("store")
@click.option("--srid", default=4326, show_default=True,
              help="EPSG code of geometry columns in a new store.")
def db_init(store: str, srid: int) -> None:
    """Create or upgrade STORE's schema; running it again changes nothing."""
    from urbangrid.store import init_store

    s, applied = init_store(store, srid=srid)
    with s:
        if applied:
            click.echo(f"{s.target}: applied migration(s) {', '.join(map(str, applied))}; "
                       f"schema version {s.schema_version()}")
        else:
            click.echo(f"{s.target}: up to date (schema version {s.schema_version()})")


@db.command("info")
@click.argument("store")
def db_info(store: str) -> None:
    """List STORE's layers with their geometry, CRS and row counts."""
    from urbangrid.cli.stores import open_store

    with open_store(store) as s:  # read-only: a missing store is the one line every command says
        click.echo(f"{s.target} ({s.kind}), schema version {s.schema_version()}")
        for name in s.layers():
            info = s.layer_info(name)
            geom = f"{info.geometry_type} {info.crs}" if info.geometry_type else "attributes"
            hist = ", history" if info.history else ""
            click.echo(f"  {name:<28} {geom:<24} {s.count(name):>9} rows{hist}")


@db.command("check")
@click.argument("store")
def db_check(store: str) -> None:
    """Repair what killed loads left in STORE (staging tables) and say what was done."""
    import urbangrid
    from urbangrid.cli.stores import open_store

    open_store(store).close()  # an existing urbangrid store, or the one missing-store line
    with urbangrid.connect(store, migrate=False) as s:
        dropped = s.drop_leftovers()
    for name in dropped:
        click.echo(f"removed {name}: the staging table of a load that was killed")
    if not dropped:
        click.echo(f"{s.target}: nothing to repair")


@main.command()
@click.option("--out", "out", default="out", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
def demo(out: Path) -> None:
    """Run the main job end to end on bundled real data (embedded store, no server)."""
    from urbangrid.demo.run import run_demo

    t0 = time.perf_counter()
    click.echo(f"urbangrid {__version__} demo → {out / 'demo.gpkg'}")
    results = run_demo(out, progress=click.echo)
    click.echo("\nsummary")
    for r in results:
        click.echo(f"  {r.name:<14} {r.seconds:7.2f} s  {r.summary}")
    click.echo(f"  {'total':<14} {time.perf_counter() - t0:7.2f} s  open {out / 'demo.gpkg'} "
               "in QGIS")


if __name__ == "__main__":
    main()
