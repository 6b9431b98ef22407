"""The demo's inputs: grids, work grids and components made from the bundled extracts.

Fixtures for the demo, the tests and the benchmarks; no library module imports them.
"""

from __future__ import annotations

import datetime as dt
import gzip
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

from urbangrid.data import data_path
from urbangrid.errors import DataFileError, GridCodeError
from urbangrid.loaders.admin import read_divisions_csv
from urbangrid.loaders.osm import read_osm_ways, read_streets
from urbangrid.loaders.osm_components import BUNDLED_SOURCES, read_bundled_components
from urbangrid.spatial.components.codes import CityProfile, demo_profile
from urbangrid.spatial.components.records import component_stats, load_components
from urbangrid.spatial.crs.metric import choose_metric_crs
from urbangrid.spatial.grids.codes import grid_serial_order
from urbangrid.spatial.grids.generate import (
    DIVIDER_HIGHWAYS,
    INTERNAL_WAY_HIGHWAYS,
    STREET_HIGHWAYS,
    GeneratedGrids,
    generate_unit_grids,
    partition_by_lines,
)
from urbangrid.spatial.grids.versions import load_unit_grids, load_work_grids
from urbangrid.spatial.grids.work import dissolve_work_grids, group_work_grids
from urbangrid.store import Store


@dataclass(frozen=True)
class GridInputs:
    """Streets, internal ways and communities for :func:`generate_unit_grids`.

    Attributes
    ----------
    streets, internal_ways, communities : geopandas.GeoDataFrame
        Layers with their CRS; ``internal_ways`` may be empty.
    note : str
        What plays the community boundaries and where the codes come from, said plainly.
    """

    streets: gpd.GeoDataFrame
    internal_ways: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    note: str

#: County code used for Cambridge MA, which has no Chinese division code. Province 99
#: does not exist in GB/T 2260, so these play codes can never clash with real ones.
CAMBRIDGE_COUNTY_CODE = "990101"

def cambridge_inputs(neighbourhoods: str | Path, centrelines: str | Path) -> GridInputs:
    """Cambridge MA street centrelines with its 13 neighbourhoods playing communities.

    Parameters
    ----------
    neighbourhoods : str or Path
        ``BOUNDARY_CDDNeighborhoods.geojson`` (``.gz`` accepted), EPSG:4326.
    centrelines : str or Path
        ``TRANS_Centerlines.geojson`` (``.gz`` accepted), EPSG:4326.

    Returns
    -------
    GridInputs
        Community code = ``990101`` (play county) + ``001`` (play street) + the
        neighbourhood number ``N_HOOD`` on 3 digits, e.g. ``990101001004`` for The Port.
    """
    comm = _read_vector(neighbourhoods)
    streets = _read_vector(centrelines)
    if "N_HOOD" not in comm.columns:
        msg = f"{neighbourhoods}: no N_HOOD column; is this the CDD neighbourhoods layer?"
        raise DataFileError(msg)
    comm = comm.assign(
        community_code=[f"{CAMBRIDGE_COUNTY_CODE}001{int(k):03d}" for k in comm["N_HOOD"]],
        name=comm.get("NAME"))[["community_code", "name", "geometry"]]
    note = ("Cambridge MA: the 13 CDD neighbourhoods play communities; codes are play codes "
            f"{CAMBRIDGE_COUNTY_CODE}001 + N_HOOD (province 99 is not a real GB/T 2260 code).")
    return GridInputs(streets, streets.iloc[:0], comm, note)

def _read_vector(path: str | Path) -> gpd.GeoDataFrame:
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path) as fh:
                return gpd.read_file(fh)
        return gpd.read_file(path)
    except (OSError, ValueError) as exc:
        msg = f"{path}: cannot read vector data: {exc}"
        raise DataFileError(msg) from exc

def osm_extract_inputs(
    path: str | Path,
    community_codes: Iterable[str],
    *,
    min_community_area_m2: float = 100_000.0,
    min_community_width_m: float = 100.0,
    max_community_area_m2: float = 1_000_000.0,
) -> GridInputs:
    """Streets and a documented community partition for an OSM extract of a Chinese city.

    There are no public community (社区) polygons for Chinese cities, so communities are
    played by a **documented partition, not real boundaries**: the extract's ``<bounds>``
    box is cut by its arterial roads (:data:`DIVIDER_HIGHWAYS`), rivers/canals and
    railways (:func:`partition_by_lines`); the thin band between the box edge and the
    outermost arterials (mean width below ``min_community_width_m``) is dropped; cells
    below ``min_community_area_m2`` or narrower than that join their longest-shared-edge
    neighbour; cells above ``max_community_area_m2`` are cut across their long axis.
    The cells get ``community_codes`` in reading order (west→east, north→south, rows of
    500 m). Real 2023 codes may be passed to exercise the code format, but which code sits
    on which cell is illustrative only.

    Parameters
    ----------
    path : str or Path
        OSM extract: XML (``.osm``, ``.osm.bz2``, ``.osm.gz``) or PBF, read by
        :func:`urbangrid.loaders.osm.read_osm_ways` and
        :func:`~urbangrid.loaders.osm.read_streets`.
    community_codes : iterable of str
        12-digit codes to hand out, in order; at least as many as cells.
    min_community_area_m2, min_community_width_m, max_community_area_m2 : float
        Partition parameters in m² / m, as above.

    Returns
    -------
    GridInputs
        In the metric CRS of :func:`choose_metric_crs`. Streets are the ways with a
        :data:`STREET_HIGHWAYS` tag; internal ways those with :data:`INTERNAL_WAY_HIGHWAYS`
        (as :func:`urbangrid.loaders.osm.read_streets` gives them).
    """
    ways, bounds = read_osm_ways(path)
    box = gpd.GeoSeries([bounds], crs="EPSG:4326")
    crs = choose_metric_crs(box)
    area = box.to_crs(crs).iloc[0]
    metric = ways.to_crs(crs)
    dividers = metric[metric["highway"].isin(DIVIDER_HIGHWAYS)
                      | metric["waterway"].isin(["river", "canal"])
                      | metric["railway"].isin(["rail"])]
    cells = partition_by_lines(area, dividers.geometry.to_numpy(),
                               min_area_m2=min_community_area_m2,
                               min_width_m=min_community_width_m,
                               max_area_m2=max_community_area_m2, drop_edge_strips=True)
    codes = list(community_codes)
    if len(codes) < len(cells):
        raise GridCodeError(
            f"{path}: the partition has {len(cells)} cells but only {len(codes)} codes given")
    centres = shapely.centroid(cells)
    rank = grid_serial_order(["partition"] * len(cells), shapely.get_x(centres),
                             shapely.get_y(centres), row_height_m=500.0)
    comm = gpd.GeoDataFrame({"community_code": [codes[r - 1] for r in rank]},
                            geometry=gpd.GeoSeries(cells, crs=crs), crs=crs)
    comm = comm.sort_values("community_code").reset_index(drop=True)
    streets = read_streets(path, highways=STREET_HIGHWAYS).to_crs(crs)
    try:
        internal = read_streets(path, highways=INTERNAL_WAY_HIGHWAYS).to_crs(crs)
    except DataFileError:
        # Extracts cut to the drivable network (osmnx "drive") have no footways or
        # service roads: grids then follow the streets alone.
        internal = streets.iloc[:0]
    note = (f"{Path(path).name}: communities are a documented partition of the extract's "
            "bounding box by arterial roads, rivers and railways (not real community "
            f"boundaries); {len(cells)} cells given codes {comm['community_code'].iloc[0]}… in "
            "reading order, illustrative only.")
    return GridInputs(streets, internal, comm, note)


def load_demo_grids(
    store: Store,
    *,
    osm_path: str | Path | None = None,
    community_codes: Sequence[str] | None = None,
    version: str = "demo-generated",
    work_grid_count: int | None = None,
) -> str:
    """Demo step: generate unit grids and work grids for the bundled Haidian extract.

    Communities are the documented partition of
    :func:`osm_extract_inputs` (not real boundaries),
    given the 2023 codes of 清华园街道 (110108014) in reading order.

    Parameters
    ----------
    store : Store
        A migrated store; writes ``unit_grid``, ``grid_version`` and ``work_grid``.
    osm_path : str or Path, optional
        OSM extract (default: the bundled Wudaokou file).
    community_codes : sequence of str, optional
        Codes for the partition cells (default: the 10 communities of 110108014).
    version : str
        Grid version label.
    work_grid_count : int, optional
        Number of work grids (default: one per 5 unit grids, as 1,537 → ~300).

    Returns
    -------
    str
        One-line summary.
    """
    path = Path(osm_path) if osm_path is not None else data_path(
        "osm/beijing_haidian_wudaokou.osm.bz2")
    codes = list(community_codes) if community_codes is not None else [
        f"110108014{k:03d}" for k in range(1, 11)]
    inputs = osm_extract_inputs(path, codes)
    out: GeneratedGrids = generate_unit_grids(inputs.streets, inputs.communities,
                                              internal_ways=inputs.internal_ways)
    grids = out.grids
    count = work_grid_count or max(1, round(len(grids) / 5))
    assignment = group_work_grids(grids, target_count=count)
    grids = grids.merge(assignment[["grid_code", "work_grid_code"]], on="grid_code")
    work = dissolve_work_grids(out.grids, assignment)
    summary = load_unit_grids(store, grids, version=version, source=path.name, note=inputs.note)
    load_work_grids(store, work, version=version, at=summary.loaded_at, source=path.name)
    return (f"{len(grids)} unit grids (median {out.stats['median_area_m2']:.0f} m², "
            f"{out.stats['metric_crs']}) in {grids['community_code'].nunique()} partition "
            f"communities, {len(work)} work grids; "
            f"coverage error {out.stats['coverage_error']:.1e}")


def load_demo_components(
    store: Store,
    *,
    profile: CityProfile | None = None,
    sources: Sequence[str] = BUNDLED_SOURCES,
    admin_code: str | None = None,
    at: dt.datetime | None = None,
) -> dict[str, int]:
    """Load the bundled component extracts into a store; return counts by class.

    Idempotent: a second run finds every record by its ``source`` key and writes
    nothing new.

    Parameters
    ----------
    store : Store
    profile : CityProfile, optional
        Default the demo city profile (7 classes, 121 subclasses).
    sources : sequence of str
        Bundled sources (default all: OSM China and Helsinki, Cambridge MA layers);
        ``("osm_haidian",)`` with ``admin_code="110108"`` gives the Haidian demo.
    admin_code : str, optional
        County code (区县代码) for new IDs; default the demo profile's own (320508), the
        demo's choice for a store that has no district of its own. A store with a
        district checks the code against it.
    at : datetime, optional
        Time of the load (history ``valid_from``).

    Returns
    -------
    dict
        ``"<class_code> <class_name>"`` → components of that class now in the
        store, in class order, plus ``"unmapped"``, ``"skipped"`` and
        ``"not_in_profile"`` feature counts from the readers.
    """
    profile = profile or demo_profile()
    frame, report = read_bundled_components(profile, sources)
    # The library never guesses a county (issue 19); the demo states its own.
    county = admin_code or profile.admin_code
    load_components(store, frame, profile, admin_code=county, at=at, source="bundled extracts")
    stats = component_stats(store, profile=profile)
    counts = {f"{r.class_code} {r.class_name}": int(r.count) for r in stats.itertuples()}
    counts["unmapped"] = sum(report.unmapped.values())
    counts["skipped"] = sum(report.skipped.values())
    counts["not_in_profile"] = sum(report.not_in_profile.values())
    return counts


def demo_work_grids(osm: Path, *, target_workload: float = 27.0) -> Any:
    """Work grids of an OSM extract generated in memory (issue-5 functions).

    Unit grids (about 10,000 m² each) from the extract's streets and its documented
    community partition (:func:`osm_extract_inputs`,
    Haidian's 2023 community codes), grouped into work grids of ``target_workload``
    average unit grids (27 → about 0.27 km²).
    """
    div = read_divisions_csv(data_path("codes/haidian_110108_divisions_2023.csv"))
    codes = div.loc[div["level"] == "community", "code"].astype(str).tolist()
    inputs = osm_extract_inputs(osm, codes)
    grids = generate_unit_grids(inputs.streets, inputs.communities,
                                internal_ways=inputs.internal_ways).grids
    assignment = group_work_grids(grids, target_workload=target_workload)
    return dissolve_work_grids(grids, assignment)
