"""Work grids: contiguous, balanced, inside communities, stable codes."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from urbangrid.demo.inputs import cambridge_inputs
from urbangrid.errors import GridGeometryError
from urbangrid.spatial.grids.generate import GeneratedGrids, generate_unit_grids
from urbangrid.spatial.grids.work import dissolve_work_grids, group_work_grids, workload

DATA = Path(__file__).resolve().parents[1] / "data"
C1, C2 = "110108014001", "110108014002"


def _row_of_grids(n: int, comm: list[str] | None = None) -> gpd.GeoDataFrame:
    comm = comm or [C1] * n
    return gpd.GeoDataFrame(
        {"grid_code": [f"{c}{k + 1:03d}" for k, c in enumerate(comm)], "community_code": comm,
         "area_m2": 10_000.0, "component_count": [0] * n},
        geometry=[shapely.box(100 * k, 0, 100 * (k + 1), 100) for k in range(n)], crs="EPSG:4548")


@pytest.fixture(scope="module")
def cambridge() -> GeneratedGrids:
    inputs = cambridge_inputs(DATA / "cambridge" / "neighborhoods.geojson.gz",
                              DATA / "cambridge" / "street_centerlines.geojson.gz")
    return generate_unit_grids(inputs.streets, inputs.communities)


class TestHandMade:
    def test_row_of_six_into_three(self) -> None:
        grids = _row_of_grids(6)
        out = group_work_grids(grids, target_count=3)
        assert out["work_grid_code"].tolist() == [f"{C1}W01"] * 2 + [f"{C1}W02"] * 2 + [
            f"{C1}W03"] * 2

    def test_weights_shift_the_balance(self) -> None:
        grids = _row_of_grids(6)
        grids["component_count"] = [9, 0, 0, 0, 0, 1]
        out = group_work_grids(grids, target_count=2, weights={"area_m2": 1, "component_count": 1})
        # Workloads: 1 + 9/(10/6) = 6.4 for the first grid, 1.6 for the last; total 12.
        assert out["work_grid_code"].tolist() == [f"{C1}W01"] + [f"{C1}W02"] * 5

    def test_never_across_communities_unless_allowed(self) -> None:
        grids = _row_of_grids(4, [C1, C1, C2, C2])
        out = group_work_grids(grids, target_count=1)
        assert out["work_grid_code"].tolist() == [f"{C1}W01"] * 2 + [f"{C2}W01"] * 2
        across = group_work_grids(grids, target_count=1, cross_communities=True)
        assert set(across["work_grid_code"]) == {"110108014W001"}
        polygons = dissolve_work_grids(grids, across)
        assert polygons["community_code"].isna().all()
        assert polygons["area_m2"].tolist() == [40_000.0]

    def test_disconnected_community_parts_stay_apart(self) -> None:
        grids = _row_of_grids(3, [C1, C2, C1])
        out = group_work_grids(grids, target_count=1)
        assert out["work_grid_code"].nunique() == 3  # C1's two pieces do not touch

    def test_workload_is_unit_free(self) -> None:
        frame = pd.DataFrame({"a": [1.0, 3.0], "b": [10.0, 30.0]})
        assert workload(frame, {"a": 1}).tolist() == workload(frame, {"b": 1}).tolist()
        with pytest.raises(KeyError, match="report_count"):
            workload(frame, {"report_count": 1})

    def test_needs_projected_crs(self) -> None:
        with pytest.raises(GridGeometryError, match="projected"):
            group_work_grids(_row_of_grids(2).to_crs("EPSG:4326"), target_count=1)

    def test_exactly_one_target(self) -> None:
        with pytest.raises(ValueError, match="exactly one"):
            group_work_grids(_row_of_grids(2))


class TestCambridge:
    def test_contiguous_balanced_within_communities(self, cambridge: GeneratedGrids) -> None:
        grids = cambridge.grids
        target = round(len(grids) / 5)  # ~5 unit grids per work grid, as 1,537 → ~300
        out = group_work_grids(grids, target_count=target)
        polygons = dissolve_work_grids(grids, out)
        assert abs(len(polygons) - target) <= 13  # at least one per community piece
        assert set(polygons.geom_type) == {"Polygon"}  # contiguous
        assert polygons["community_code"].notna().all()
        assert (polygons["work_grid_code"].str[:12] == polygons["community_code"]).all()
        ratio = polygons["workload"] / polygons.groupby("community_code")["workload"].transform(
            "mean")
        assert ratio.between(0.5, 2.0).all()

    def test_stable_codes(self, cambridge: GeneratedGrids) -> None:
        grids = cambridge.grids
        first = group_work_grids(grids, target_count=300)
        again = group_work_grids(grids, target_count=300)
        assert first["work_grid_code"].tolist() == again["work_grid_code"].tolist()
        previous = dict(zip(first["grid_code"], first["work_grid_code"], strict=True))
        # Drop a few grids of one community: most work grids keep their codes and new
        # codes are never ones issued before.
        edited = grids[~grids["grid_code"].isin(grids["grid_code"].iloc[:3])]
        later = group_work_grids(edited, target_count=300, previous=previous)
        merged = later.merge(first, on="grid_code", suffixes=("", "_before"))
        kept = (merged["work_grid_code"] == merged["work_grid_code_before"]).mean()
        assert kept > 0.8
        new = set(later["work_grid_code"]) - set(first["work_grid_code"])
        assert not new & set(previous.values())
        assert np.all([c.partition("W")[0] == k[:12] for c, k in
                       zip(later["work_grid_code"], later["grid_code"], strict=True)])
