"""City-wide patrol planning in parallel (全市巡查路线并行规划): every area at once on Dask.

:func:`plan_areas` plans the patrol route of every collector area (责任区: work grids,
street offices' areas …) of a city with :func:`urbangrid.routing.patrol.routes.area_route`,
one task per area, on one process or any Dask cluster. The street graph is sent to the
cluster once; each worker fetches it once.

**Deterministic whatever the worker count.** Each area's search is bounded by its
``iterations`` budget and a fixed ``seed``, not by wall time (``time_limit_s`` defaults
to an hour here, so it does not bind), and areas are independent, so one process, two
workers or a hundred return the same routes, in the order of ``areas``.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import networkx as nx
import pandas as pd
import shapely

from urbangrid.errors import PatrolAreaError, RoutingError, ScaleJobError, UrbangridError
from urbangrid.routing.patrol.routes import PatrolRoute, area_route, routes_table
from urbangrid.scale._dask import Progress, SchedulerLike, open_client, ship, task_key

__all__ = ["CityPlan", "plan_areas"]

_DEFAULT_TIME_LIMIT_S = 3600.0


@dataclass(frozen=True)
class CityPlan:
    """Patrol routes of every area of a city.

    Attributes
    ----------
    routes : tuple of PatrolRoute
        One per planned area, in the order of the input areas.
    failed : dict of str to str
        Area code → why it could not be planned (``on_error="skip"``).
    workers : int
        Dask workers used; 0 for a single-process run.
    seconds : float
        Wall time.
    """

    routes: tuple[PatrolRoute, ...]
    failed: dict[str, str] = field(default_factory=dict)
    workers: int = 0
    seconds: float = 0.0

    def table(self) -> pd.DataFrame:
        """One row per route (see :func:`urbangrid.routing.patrol.routes.routes_table`)."""
        return routes_table(self.routes)


def _plan_one(
    G: nx.MultiDiGraph, area: shapely.Geometry, area_crs: str, area_id: str,
    start: tuple[float, float] | None, start_crs: Any, on_error: str, options: dict[str, Any],
) -> tuple[str, PatrolRoute | str]:
    try:
        route = area_route(G, area, area_crs=area_crs, area_id=area_id, start=start,
                           start_crs=start_crs, **options)
    except UrbangridError as exc:
        if on_error == "raise":
            raise
        return area_id, f"{type(exc).__name__}: {exc}"
    return area_id, route


def plan_areas(
    G: nx.MultiDiGraph,
    areas: gpd.GeoDataFrame,
    *,
    id_column: str,
    starts: gpd.GeoSeries | None = None,
    scheduler: SchedulerLike | None = None,
    workers: int | None = None,
    on_error: Literal["raise", "skip"] = "raise",
    progress: bool = False,
    **options: Any,
) -> CityPlan:
    """Patrol routes of every area, in parallel on Dask or in this process.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Street graph of one travel mode, metric CRS
        (:func:`urbangrid.routing.patrol.streets.street_graph`).
    areas : geopandas.GeoDataFrame
        One polygon per collector area, any CRS (set).
    id_column : str
        Column holding each area's code (work grid code …).
    starts : geopandas.GeoSeries, optional
        One start point per area (same index as ``areas``), any CRS; default a street
        near a point inside each area.
    scheduler : None, "local", str or distributed.Client
        None plans the areas one after the other here; ``"local"`` starts a local
        cluster of ``workers`` processes; an address (``"tcp://host:8786"``) or a
        ``Client`` uses that cluster.
    workers : int, optional
        Worker processes of a ``"local"`` cluster (default one per core).
    on_error : {"raise", "skip"}
        An area that cannot be planned (no street, a one-way trap, a start too far)
        raises its error (naming the area), or is listed in :attr:`CityPlan.failed`.
    progress : bool
        Draw a progress bar on stderr.
    **options
        Passed to :func:`~urbangrid.routing.patrol.routes.area_route` (``iterations``,
        ``seed``, ``boundary``, ``unreachable`` …). ``iterations`` must be a number:
        a search stopped by the clock would depend on how busy the machine is.

    Returns
    -------
    CityPlan

    Raises
    ------
    PatrolAreaError
        ``areas`` has no CRS or no ``id_column``, a row without a code (missing or
        blank, counted from 1), or duplicate codes.
    RoutingError
        ``iterations=None`` (not deterministic), or an area's own error with
        ``on_error="raise"``.
    ScaleJobError
        A worker died more often than the scheduler retries, or the cluster is
        unreachable.

    See Also
    --------
    urbangrid.routing.patrol.routes.area_routes : the same, always in this process.
    """
    t0 = time.perf_counter()
    if on_error not in ("raise", "skip"):
        raise RoutingError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
    if options.get("iterations", 300) is None:
        raise RoutingError(
            "iterations=None stops each search by the clock, so results would depend on "
            "the machine's load; give a number of iterations"
        )
    options.setdefault("time_limit_s", _DEFAULT_TIME_LIMIT_S)
    jobs = _jobs(areas, id_column, starts)
    area_crs = areas.crs.to_string()
    bar = Progress("plan areas", len(jobs), progress)
    results: dict[int, tuple[str, PatrolRoute | str]] = {}
    nworkers = 0
    try:
        if scheduler is None:
            for pos, geom, code, start, start_crs in jobs:
                results[pos] = _plan_one(G, geom, area_crs, code, start, start_crs, on_error,
                                         options)
                bar.update(1)
        else:
            with open_client(scheduler, workers) as client:
                nworkers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
                results = _run_cluster(client, G, jobs, area_crs, on_error, options, bar)
    finally:
        bar.close()
    routes: list[PatrolRoute] = []
    failed: dict[str, str] = {}
    for pos in range(len(jobs)):
        code, res = results[pos]
        if isinstance(res, str):
            failed[code] = res
        else:
            routes.append(res)
    return CityPlan(tuple(routes), failed, nworkers, time.perf_counter() - t0)


def _jobs(
    areas: gpd.GeoDataFrame, id_column: str, starts: gpd.GeoSeries | None
) -> list[tuple[int, Any, str, Any, Any]]:
    """One ``(position, polygon, code, start, start CRS)`` per area, the areas checked."""
    if areas.crs is None:
        raise PatrolAreaError("areas have no CRS; set one (e.g. areas.set_crs(4548))")
    if id_column not in areas.columns:
        raise PatrolAreaError(f"areas have no column {id_column!r}; columns: {list(areas.columns)}")
    text = areas[id_column].astype("string").str.strip()
    # astype(str) would turn missing codes into 'nan'/'None' and call them repeats
    missing = [i + 1 for i, gone in enumerate(text.isna() | (text == "")) if gone]
    if missing:
        raise PatrolAreaError(
            f"areas: row(s) {', '.join(map(str, missing[:10]))} of {len(areas)} have no "
            f"{id_column!r} (the area code); give each area a code, drop those rows "
            f"(areas.dropna(subset=[{id_column!r}])), or choose another id_column")
    codes = areas[id_column].astype(str)
    dupes = sorted(set(codes[codes.duplicated()]))
    if dupes:
        raise PatrolAreaError(f"areas: area codes repeat in {id_column!r}: {dupes[:5]}; "
                              "give each area its own code")
    jobs = []
    for pos, (idx, geom) in enumerate(areas.geometry.items()):
        start, start_crs = None, "EPSG:4326"
        if starts is not None:
            pt = starts.loc[idx]
            start, start_crs = (float(pt.x), float(pt.y)), starts.crs
        jobs.append((pos, geom, codes.iloc[pos], start, start_crs))
    return jobs


def _run_cluster(
    client: Any, G: nx.MultiDiGraph, jobs: list[tuple[int, Any, str, Any, Any]],
    area_crs: str, on_error: str, options: dict[str, Any], bar: Progress,
) -> dict[int, tuple[str, PatrolRoute | str]]:
    from distributed import as_completed

    try:
        from distributed.scheduler import KilledWorker
    except ImportError:  # pragma: no cover - older distributed
        from distributed import KilledWorker

    graph_f = ship(client, G, "graph")
    run = task_key("plan")
    futures: dict[Hashable, int] = {}
    submitted = []
    for pos, geom, code, start, start_crs in jobs:
        fut = client.submit(_plan_one, graph_f, geom, area_crs, code, start, start_crs,
                            on_error, options, key=f"{run}-{pos}", pure=False)
        futures[fut.key] = pos
        submitted.append(fut)
    results: dict[int, tuple[str, PatrolRoute | str]] = {}
    try:
        for fut in as_completed(submitted):
            pos = futures[fut.key]
            try:
                results[pos] = fut.result()
            except KilledWorker as exc:
                raise ScaleJobError(
                    f"area {jobs[pos][2]!r} killed its worker too often and was given up "
                    f"({exc}); the run was stopped"
                ) from None
            bar.update(1)
    except BaseException:
        client.cancel([graph_f, *submitted], force=True)
        raise
    client.cancel([graph_f])
    return results
