"""Fixtures for the scale tests: the Boston ward index, the 311 sample, a 2-worker cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import distributed
import geopandas as gpd
import pytest

from urbangrid.spatial.index.engine import GridIndex

DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLE_311 = DATA / "reports" / "boston_311_2025_sample.csv.gz"
WARDS = DATA / "index" / "boston_wards.geojson"


@pytest.fixture(scope="session")
def ward_index() -> GridIndex:
    """The 22 Boston wards (EPSG:4326), keyed by ward number as text."""
    wards = gpd.read_file(WARDS)
    return GridIndex.from_polygons(
        wards, wards["WARD"].astype(str).to_numpy(), grid_version="boston-wards-2012"
    )


@pytest.fixture(scope="session")
def cluster_client() -> Iterator[Any]:
    """A ``distributed.LocalCluster`` of 2 single-threaded worker processes.

    The scheduler gives a task up after its worker died twice (``allowed-failures``
    1), so the worker-death tests run quickly.
    """
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = distributed.Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
