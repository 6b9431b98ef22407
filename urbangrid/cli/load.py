"""``urbangrid load …``: files into a store from the command line; ``--dry-run`` previews.

Survey files go through :func:`urbangrid.loaders.pipeline.load_survey` (validated,
diffed, applied as a change set). An OSM extract given to ``urbangrid load streets``
(or an osmnx GraphML export of one) is upserted by edge id into ``street_centreline``
(:func:`load_osm_streets`): the one command that loads streets, whatever the file.

Exit codes a script can use (also in ``urbangrid load --help``): :data:`EXIT_OK` (0)
done, or a dry run that found no bad row; :data:`EXIT_ERROR` (1) the file, mapping
or store could not be used; 2 wrong usage (click); :data:`EXIT_BLOCKED` (3) bad rows
blocked the load, nothing written; :data:`EXIT_SET_ASIDE` (4) loaded (or, dry run,
would load) with bad rows set aside. Warnings (probable duplicates under
``--duplicates warn``) do not change the code.
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from urbangrid.cli.stores import (
    created_store_message,
    empty_store_message,
    is_server,
    missing_store_message,
    open_store,
)
from urbangrid.errors import UrbangridError

if TYPE_CHECKING:
    from urbangrid.store import Store

__all__ = [
    "EXIT_BLOCKED",
    "EXIT_CODES_HELP",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_SET_ASIDE",
    "coverage_area",
    "grant_readonly_command",
    "is_osm_file",
    "load",
    "load_osm_streets",
    "run_load",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BLOCKED = 3
EXIT_SET_ASIDE = 4

#: The exit codes, as the help text shows them (\b keeps click from rewrapping).
EXIT_CODES_HELP = (
    "\b\nExit codes:\n"
    f"  {EXIT_OK}  done (or dry run: nothing bad found)\n"
    f"  {EXIT_ERROR}  the file, mapping or store could not be used; nothing written\n"
    "  2  wrong usage\n"
    f"  {EXIT_BLOCKED}  bad rows blocked the load (--on-invalid raise); nothing written\n"
    f"  {EXIT_SET_ASIDE}  loaded (dry run: would load) with bad rows set aside\n"
    "Warnings (probable duplicates under --duplicates warn) keep the code."
)

_STEPS = ("read", "map", "validate", "diff", "apply")


def run_load(
    target: str,
    file: Path,
    store: str,
    *,
    mapping: str | None,
    crs: str | None,
    encoding: str | None,
    layer: str | None,
    commit: bool,
    report: Path | None,
    diff: Path | None,
    on_invalid: str,
    admin_code: str | None,
    by: str | None,
    duplicates: str = "warn",
    duplicate_distance_m: float | None = None,
    coverage: str | None = None,
) -> int:
    """Run one load with a progress bar over its steps, print its summary and the
    time each step took, return the exit code.

    A dry run without ``diff`` or ``report`` writes its diff to
    ``./<file stem>.diff.csv`` and ``.gpkg``; with ``report`` to ``<report>.diff.*``.
    ``coverage`` (:func:`coverage_area`) makes the survey a full-coverage one.
    """
    # First: the file's read starts while the loader is imported (0.6 s) and the store opened.
    ahead = _read_ahead(file, layer) if crs is None and encoding is None else None
    from urbangrid.loaders.duplicates import DUPLICATE_DISTANCE_M

    if diff is None and report is not None:
        diff = report.with_name(report.name.removesuffix(".csv").removesuffix(".gpkg") + ".diff")
    elif diff is None and not commit:
        diff = Path.cwd() / f"{file.stem}.diff"
    options: dict[str, Any] = {
        "mapping": mapping, "crs": crs, "encoding": encoding, "layer": layer,
        "admin_code": admin_code, "on_invalid": on_invalid, "duplicates": duplicates,
        "duplicate_distance_m": duplicate_distance_m or DUPLICATE_DISTANCE_M,
        "commit": commit, "report": report, "diff": diff, "by": by, "read_ahead": ahead,
    }
    marks: list[tuple[str, float]] = []
    new_file = not is_server(store) and not Path(store).exists()
    if new_file and not commit:  # a dry run opens the store read-only: it never makes one
        click.echo(f"error: {missing_store_message(store, _dry_run_then(target))}", err=True)
        return EXIT_ERROR
    stored = False
    try:
        result = _load_with_progress(target, file, store, coverage, options, marks)
        stored = not result.blocked
    except UrbangridError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_ERROR
    finally:
        if not stored:  # failed, blocked or interrupted
            _forget_new_store(store, new_file)
    if new_file and Path(store).is_file():  # a blocked first load removed the empty store
        click.echo(created_store_message(store), err=True)
    click.echo(result.summary())
    click.echo(_timings(marks))
    if result.blocked:
        return EXIT_BLOCKED
    if result.set_aside:
        return EXIT_SET_ASIDE
    return EXIT_OK


def _dry_run_then(target: str) -> str:
    """What to do once the store a dry run named is made (``{store}`` is its path)."""
    return (f"run the dry run again, or load the file without --dry-run (`urbangrid load "
            f"{target} FILE --store {{store}}` makes the store itself)")


#: Files read through Arrow in their own CRS (:func:`~urbangrid.loaders.readers.read_survey`).
_READ_AHEAD_SUFFIXES = (".gpkg", ".fgb", ".geojson", ".json")


def _read_ahead(file: Path, layer: str | None) -> Any:
    """A :class:`~urbangrid.loaders.readers.ReadAhead` of `file` (GeoPackage,
    FlatGeobuf, GeoJSON), its thread started before anything heavy is imported;
    None for other files."""
    if file.suffix.lower() not in _READ_AHEAD_SUFFIXES or not file.is_file():
        return None
    from concurrent.futures import ThreadPoolExecutor

    def read() -> Any:
        import pyogrio

        return pyogrio.read_arrow(file, layer=layer, datetime_as_string=True)

    pool = ThreadPoolExecutor(1, thread_name_prefix="urbangrid-read-ahead")
    future = pool.submit(read)
    pool.shutdown(wait=False)
    from urbangrid.loaders.readers import ReadAhead

    return ReadAhead(file, layer, future)


def _forget_new_store(store: str, new_file: bool) -> None:
    """Remove the GeoPackage this load created if it is still empty: a failed first load
    leaves no empty store behind to mislead the next command. A store another process
    has written into meanwhile (it also found no file) is kept."""
    if not new_file or not Path(store).is_file():
        return
    import urbangrid

    try:
        with urbangrid.connect(store, readonly=True) as s:
            if not all(s.is_empty(layer) for layer in s.layers()):
                return
    except UrbangridError:
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(store + suffix).unlink(missing_ok=True)


def _load_with_progress(target: str, file: Path, store: str, coverage: str | None,
                        options: dict[str, Any], marks: list[tuple[str, float]]) -> Any:
    """:func:`~urbangrid.loaders.pipeline.load_survey` under a progress bar on stderr;
    appends each step's start time to ``marks`` and the end time last."""
    import urbangrid
    from urbangrid.loaders.pipeline import TARGETS, load_survey

    # A committed load diffs inside its apply step (under the layer lock).
    steps = ("read", "map", "validate", "apply") if options["commit"] else _STEPS[:-1]
    with (
        # A dry run opens the store read-only: it never creates, migrates or writes one.
        urbangrid.connect(store, readonly=not options["commit"]) as s,
        click.progressbar(length=len(steps), label=f"{target} ← {file.name}", file=sys.stderr,
                          item_show_func=lambda step: step, show_eta=False) as bar,
    ):

        def progress(step: str) -> None:
            marks.append((step, time.perf_counter()))
            bar.update(1, step)

        area = None if coverage is None else coverage_area(s, coverage, TARGETS[target].layer)
        result = load_survey(s, file, target, coverage=area, progress=progress, **options)
        marks.append(("", time.perf_counter()))
    return result


def is_osm_file(file: Path) -> bool:
    """Whether ``file`` is an OSM extract (.osm, .osm.bz2, .osm.gz, .pbf) or an osmnx
    GraphML export of one (.graphml, .graphml.bz2: what :func:`~urbangrid.loaders.osm.
    read_streets` reads as OSM ways, not a survey file), by its name."""
    return file.name.lower().endswith((".osm", ".osm.bz2", ".osm.gz", ".pbf", ".graphml",
                                       ".graphml.bz2"))


def load_osm_streets(file: Path, store: str) -> str:
    """Upsert the streets of an OSM extract into ``street_centreline``; one summary line.

    Streets are :func:`urbangrid.loaders.osm.read_streets` (EPSG:4326), keyed by edge
    id: loading the same extract again changes nothing.
    """
    from urbangrid.loaders.osm import read_streets

    t0 = time.perf_counter()
    frame = read_streets(file)
    with open_store(store, write=True, create=True) as s:  # says so when it makes one
        r = s.write("street_centreline", frame, "upsert", source=str(file))
    return (f"{len(frame)} segments from {file.name}: {r.inserted} new, {r.updated} "
            f"changed, {r.unchanged} unchanged ({time.perf_counter() - t0:.2f} s)")


def coverage_area(store: Store, spec: str, layer: str) -> Any:
    """The area a full-coverage survey covers, in the CRS of the store `layer`.

    Parameters
    ----------
    store : Store
    spec : str
        ``admin:CODE`` — the boundary of that ``admin_area`` in the store (a street
        office 110108014 …) — or a polygon file (GeoPackage, GeoJSON, Shapefile …)
        with a CRS, whose polygons are united.
    layer : str
        The layer loaded.

    Returns
    -------
    shapely geometry

    Raises
    ------
    DataFileError
        The admin area has no boundary in the store, or the file no polygon or CRS.
    """
    import geopandas as gpd

    from urbangrid.errors import DataFileError

    crs = store.layer_info(layer).crs
    if spec.startswith("admin:"):
        code = spec.removeprefix("admin:")
        area = store.read("admin_area", where={"code": code})
        if area.empty or area.geometry.isna().all():
            raise DataFileError(
                f"--coverage {spec}: the store has no boundary of admin area {code!r}"
            )
        return area.to_crs(crs).union_all()
    try:
        frame = gpd.read_file(spec, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several kinds for an unreadable file
        raise DataFileError(f"--coverage {spec}: cannot read the area: {exc}") from exc
    polys = frame[frame.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polys.empty or frame.crs is None:
        raise DataFileError(f"--coverage {spec}: needs polygons and a CRS")
    return polys.to_crs(crs).union_all()


def _timings(marks: list[tuple[str, float]]) -> str:
    """``took 3.2 s (read 0.2, map 0.1 …)`` from the step start times."""
    if len(marks) < 2:
        return ""
    parts = [f"{name} {b - a:.1f}" for (name, a), (_, b) in itertools.pairwise(marks)]
    return f"took {marks[-1][1] - marks[0][1]:.1f} s ({', '.join(parts)})"


def _options(func: Any) -> Any:
    for opt in reversed(
        [
            click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
            click.option("--store", required=True, help="GeoPackage path or PostGIS DSN."),
            click.option("--mapping", help="Field mapping: a TOML file or a shipped mapping name."),
            click.option(
                "--crs",
                help="CRS of the file's coordinates (overrides the file's): "
                "EPSG:4490, EPSG:4547, GCJ-02 …; required for CSV.",
            ),
            click.option(
                "--encoding", help="Text encoding of a Shapefile/CSV (default: detected)."
            ),
            click.option("--layer", help="Layer of a multi-layer GeoPackage."),
            click.option(
                "--dry-run",
                "dry_run",
                is_flag=True,
                help="Only compute the diff against the store, print it and write it "
                "(--diff, else beside --report, else ./FILESTEM.diff.csv and .gpkg); "
                "write nothing to the store.",
            ),
            click.option(
                "--report",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Write problems to REPORT.csv and REPORT.gpkg (layer problems), the "
                "diff to REPORT.diff.csv and REPORT.diff.gpkg.",
            ),
            click.option(
                "--diff",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Write the diff to DIFF.csv (one line per changed field) and DIFF.gpkg "
                "(layers changes and previous, for QGIS).",
            ),
            click.option(
                "--on-invalid",
                type=click.Choice(["raise", "skip"]),
                default="raise",
                show_default=True,
                help="Bad rows block the load, or are set aside.",
            ),
            click.option(
                "--duplicates",
                type=click.Choice(["warn", "reject"]),
                default="warn",
                show_default=True,
                help="Probable duplicates within the file (same kind, identical or within "
                "--duplicate-distance) are warnings, or bad rows handled by --on-invalid. "
                "A new feature that close to a stored one is always a bad row.",
            ),
            click.option(
                "--duplicate-distance",
                "duplicate_distance_m",
                type=click.FloatRange(min=0),
                help="Near-duplicate tolerance in metres [default: 0.5].",
            ),
            click.option(
                "--coverage",
                help="The survey covers this area completely: stored features inside it "
                "that the file lacks are removed. admin:CODE (an admin area of the store) "
                "or a polygon file.",
            ),
            click.option("--admin-code", help="County code (6 digits) for component IDs."),
            click.option("--by", help="Who loads (recorded; default the OS user)."),
        ]
    ):
        func = opt(func)
    return func


@click.group("load", epilog=EXIT_CODES_HELP)
def load() -> None:
    """Load files into a store: surveys (GeoPackage, Shapefile, GeoJSON, FlatGeobuf,
    CSV), OSM streets.

    A load is validated first, then applied in one transaction and recorded as a
    change set that `urbangrid load rollback` undoes; loading the same file again
    changes nothing. --dry-run prints the diff against the store and writes it
    (CSV and GeoPackage) without writing to the store.
    """


def _make(target: str) -> None:
    extra = (" FILE may also be an OSM extract (.osm, .osm.bz2, .osm.gz, .pbf) or an osmnx "
             "GraphML export (.graphml, .graphml.bz2): its streets are upserted by edge id."
             if target == "streets" else "")

    @load.command(target, help=f"Load a {target} survey FILE into --store.{extra}",
                  epilog=EXIT_CODES_HELP)
    @_options
    def command(
        file: Path,
        store: str,
        mapping: str | None,
        crs: str | None,
        encoding: str | None,
        layer: str | None,
        dry_run: bool,
        report: Path | None,
        diff: Path | None,
        on_invalid: str,
        duplicates: str,
        duplicate_distance_m: float | None,
        coverage: str | None,
        admin_code: str | None,
        by: str | None,
    ) -> None:
        if target == "streets" and is_osm_file(file):
            survey_only = {"--mapping": mapping, "--crs": crs, "--encoding": encoding,
                           "--layer": layer, "--dry-run": dry_run, "--report": report,
                           "--diff": diff, "--coverage": coverage}
            given = [k for k, v in survey_only.items() if v]
            if given:
                raise click.UsageError(f"{', '.join(given)}: for survey files; an OSM "
                                       "extract is upserted by edge id as it is")
            try:
                click.echo(load_osm_streets(file, store))
            except UrbangridError as exc:
                click.echo(f"error: {exc}", err=True)
                sys.exit(EXIT_ERROR)
            return
        sys.exit(
            run_load(
                target,
                file,
                store,
                mapping=mapping,
                crs=crs,
                encoding=encoding,
                layer=layer,
                commit=not dry_run,
                report=report,
                diff=diff,
                on_invalid=on_invalid,
                admin_code=admin_code,
                by=by,
                duplicates=duplicates,
                duplicate_distance_m=duplicate_distance_m,
                coverage=coverage,
            )
        )


for _t in ("components", "grids", "work-grids", "places", "streets"):
    _make(_t)


#: What fills a store with change sets, for the missing and empty store messages.
_LOAD_SURVEY = ("load a survey file into it (`urbangrid load components FILE --store {store}`, "
                "or grids, work-grids, places, streets)")


@load.command("history")
@click.option("--store", required=True, help="GeoPackage path or PostGIS DSN.")
def history(store: str) -> None:
    """List the change sets applied to --store, oldest first."""
    from urbangrid.loaders.changeset import list_changesets

    try:
        with open_store(store, then=_LOAD_SURVEY) as s:
            frame = list_changesets(s)
    except UrbangridError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    if frame.empty:  # a blank answer read as "the command did nothing"
        click.echo(empty_store_message(store, "change sets", _LOAD_SURVEY))
    for r in frame.itertuples():
        click.echo(
            f"{r.changeset_id}  {r.loaded_at:%Y-%m-%d %H:%M:%S}  {r.status:<11} "
            f"{r.layer:<18} +{r.n_added} ~{r.n_changed} >{r.n_moved} -{r.n_removed}  "
            f"{r.file_name} ({r.loaded_by})"
        )


@load.command("rollback")
@click.argument("changeset_id")
@click.option("--store", required=True, help="GeoPackage path or PostGIS DSN.")
@click.option("--by", help="Who rolls back (recorded).")
def rollback(changeset_id: str, store: str, by: str | None) -> None:
    """Undo the change set CHANGESET_ID."""
    from urbangrid.loaders.changeset import rollback_changeset

    try:
        # never creates a store; undoes data as the schema stands, no migration
        with open_store(store, write=True, then=_LOAD_SURVEY, migrate=False) as s:
            counts = rollback_changeset(s, changeset_id, by=by)
    except UrbangridError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(
        f"rolled back {changeset_id}: {counts['deleted']} version(s) removed, "
        f"{counts['restored']} restored"
    )


@click.command("grant-readonly")
@click.argument("role")
@click.argument("store")
@click.option("--create", is_flag=True, help="Create the role (LOGIN) if it is missing.")
def grant_readonly_command(role: str, store: str, create: bool) -> None:
    """Let ROLE read every urbangrid table of the PostGIS STORE, and write none."""
    from urbangrid.loaders.security import grant_readonly

    try:
        for stmt in grant_readonly(store, role, create=create):
            click.echo(stmt)
    except UrbangridError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
