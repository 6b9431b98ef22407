"""``urbangrid load …``: survey loads from the command line; ``--dry-run`` previews.

Exit codes a script can use: :data:`EXIT_OK` (0) done, or dry run with no problem;
:data:`EXIT_ERROR` (1) the file, mapping or store could not be used;
2 wrong usage (click); :data:`EXIT_BLOCKED` (3) bad rows blocked the load, nothing
written; :data:`EXIT_SET_ASIDE` (4) loaded (or would load) with bad rows set aside.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from urbangrid.errors import UrbangridError

__all__ = [
    "EXIT_BLOCKED",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_SET_ASIDE",
    "grant_readonly_command",
    "load",
    "run_load",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BLOCKED = 3
EXIT_SET_ASIDE = 4

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
) -> int:
    """Run one load, print its summary, return the exit code."""
    import urbangrid
    from urbangrid.loaders.pipeline import load_survey

    steps = _STEPS if commit else _STEPS[:-1]
    try:
        with (
            urbangrid.connect(store) as s,
            click.progressbar(
                length=len(steps),
                label=f"{target} ← {file.name}",
                file=sys.stderr,
                item_show_func=lambda step: step,
            ) as bar,
        ):

            def progress(step: str) -> None:
                bar.update(1, step)

            if diff is None and report is not None:
                diff = report.with_suffix("").with_name(report.stem + ".diff.csv")
            result = load_survey(
                s,
                file,
                target,
                mapping=mapping,
                crs=crs,
                encoding=encoding,
                layer=layer,
                admin_code=admin_code,
                on_invalid=on_invalid,  # type: ignore[arg-type]
                commit=commit,
                report=report,
                diff=diff,
                by=by,
                progress=progress,
            )
    except UrbangridError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_ERROR
    click.echo(result.summary())
    if result.blocked:
        return EXIT_BLOCKED
    if result.set_aside:
        return EXIT_SET_ASIDE
    return EXIT_OK


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
                help="Only compute and print the diff against the store; write nothing.",
            ),
            click.option(
                "--report",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Write problems to REPORT.csv and REPORT.gpkg, the diff to REPORT.diff.csv.",
            ),
            click.option(
                "--diff",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Write the diff table (CSV) here.",
            ),
            click.option(
                "--on-invalid",
                type=click.Choice(["raise", "skip"]),
                default="raise",
                show_default=True,
                help="Bad rows block the load, or are set aside.",
            ),
            click.option("--admin-code", help="County code (6 digits) for component IDs."),
            click.option("--by", help="Who loads (recorded; default the OS user)."),
        ]
    ):
        func = opt(func)
    return func


@click.group("load")
def load() -> None:
    """Load survey files (GeoPackage, Shapefile, GeoJSON, FlatGeobuf, CSV) into a store.

    A load is validated first, then applied in one transaction and recorded as a
    change set that `urbangrid load rollback` undoes; loading the same file again
    changes nothing. --dry-run prints the diff against the store (and writes it
    with --report/--diff) without writing.
    """


def _make(target: str) -> None:
    @load.command(target, help=f"Load a {target} survey FILE into --store.")
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
        admin_code: str | None,
        by: str | None,
    ) -> None:
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
            )
        )


for _t in ("components", "grids", "work-grids", "places", "streets"):
    _make(_t)


@load.command("history")
@click.option("--store", required=True, help="GeoPackage path or PostGIS DSN.")
def history(store: str) -> None:
    """List the change sets applied to --store, oldest first."""
    import urbangrid
    from urbangrid.loaders.changeset import list_changesets

    try:
        with urbangrid.connect(store) as s:
            frame = list_changesets(s)
    except UrbangridError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
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
    import urbangrid
    from urbangrid.loaders.changeset import rollback_changeset

    try:
        with urbangrid.connect(store) as s:
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
