"""Large CARP: Tang et al.'s files (Hefei, Beijing) read as they are (vertices from 0),
and instances above a few hundred streets solved by decomposition."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from urbangrid.cli.main import main
from urbangrid.errors import DataFileError
from urbangrid.routing.core.carp import (
    RECREATE_ABOVE,
    CarpInstance,
    CarpSolution,
    _instance_problem,
    _Search,
    read_instance,
    solve,
)
from urbangrid.routing.core.carp_decompose import (
    DECOMPOSE_ABOVE,
    RECREATE_STEPS,
    _drop_route,
    _fewest_routes,
    decomposed_search,
)
from urbangrid.routing.core.graphs import EdgeId
from urbangrid.routing.core.plan import check_plan

#: A 4-vertex instance in the Hefei/Beijing layout: 0-based, depot at the end.
TANG = """NOMBRE : tiny-0
COMENTARIO : 0
VERTICES : 4
ARISTAS_REQ : 3
ARISTAS_NOREQ : 1
VEHICULOS : 1
CAPACIDAD : 100
TIPO_COSTES_ARISTAS : EXPLICITOS
COSTE_TOTAL_REQ : 6
LISTA_ARISTAS_REQ :
( 0, 1)    coste 1    demanda 1
( 1, 2)    coste 2    demanda 2
( 2, 3)    coste 3    demanda 3
LISTA_ARISTAS_NOREQ :
( 3, 0)    coste 4
DEPOSITO : 0
"""


def test_zero_based_file_is_read_and_shifted(tmp_path: Path) -> None:
    f = tmp_path / "tiny.txt"
    f.write_text(TANG, encoding="ascii")
    inst = read_instance(f)
    assert inst.first_vertex == 0 and inst.depot == 1
    assert inst.required[0][:2] == (1, 2) and inst.nonrequired == [(4, 1, 4.0)]
    sol = solve(inst, time_limit_s=1.0, iterations=20, seed=0)
    assert sol.cost == pytest.approx(10.0)  # the cycle 0-1-2-3-0


def test_vertex_beyond_the_count_names_the_numbering(tmp_path: Path) -> None:
    f = tmp_path / "bad.txt"
    f.write_text(TANG.replace("( 2, 3)", "( 2, 4)"), encoding="ascii")
    with pytest.raises(DataFileError, match=r"outside 0\.\.3 \(vertices numbered from 0\)"):
        read_instance(f)


def _grid_instance(n: int = 18) -> CarpInstance:
    """An n x n street grid, every street required: 2 n (n - 1) edges (612 for 18)."""
    def vid(i: int, j: int) -> int:
        return i * n + j + 1

    req = []
    for i in range(n):
        for j in range(n):
            for di, dj in ((0, 1), (1, 0)):
                if i + di < n and j + dj < n:
                    c = 10.0 + (3 * i + 7 * j) % 11
                    req.append((vid(i, j), vid(i + di, j + dj), c, float(1 + (i + j) % 4)))
    return CarpInstance(name=f"grid{n}", vertices=n * n, depot=vid(n // 2, 0), vehicles=0,
                        capacity=60.0, required=req, nonrequired=[])


def _checked_cost(inst: CarpInstance, sol: CarpSolution) -> float:
    """The cost of ``sol`` by the independent plan check (every street once, capacity)."""
    req = [(u, v, i) for i, (u, v, _, _) in enumerate(inst.required)]
    dem: dict[EdgeId, float] = {(u, v, i): q for i, (u, v, _, q) in enumerate(inst.required)}
    return check_plan(inst.graph(), sol.to_plan(inst), weight="cost", required=req,
                      serve_once=True, demand=dem, capacity=inst.capacity)


def test_large_instance_is_decomposed_and_checks() -> None:
    inst = _grid_instance()
    assert len(inst.required) > DECOMPOSE_ABOVE
    a = solve(inst, time_limit_s=300, iterations=4, seed=4)
    assert a.info["decomposed"] and a.feasible
    assert a.cost <= a.info["first_cost"]
    assert _checked_cost(inst, a) == pytest.approx(a.cost)
    b = solve(inst, time_limit_s=300, iterations=4, seed=4)
    assert (b.cost, b.routes) == (a.cost, a.routes)  # deterministic for a seed and iterations
    short = solve(inst, time_limit_s=300, iterations=4, seed=4, target_cost=a.info["first_cost"])
    assert short.info["reached_target"] and short.info["iterations"] == 0


def test_route_drop_gives_a_feasible_plan_with_one_route_fewer() -> None:
    """A plan with a route more than the demand needs loses one, every edge still served
    once within the capacity (the move the decomposed search makes when it stalls)."""
    inst = _grid_instance()
    search = _Search(_instance_problem(inst), capacity=inst.capacity, route_limit=math.inf,
                     mode=0, k=1, seed=1)
    deps = np.full(search.m + 1, search.dep0, dtype=np.int64)
    plan = search._improve(search._split(search._nearest_giant()), deps)[0]
    assert plan.feasible
    half = len(plan.routes[0]) // 2  # one route cut in two: a route more than needed
    routes = [plan.routes[0][:half], plan.routes[0][half:], *plan.routes[1:]]
    extra = search._eval(routes, deps)
    assert len(extra.routes) > _fewest_routes(search)
    dropped = [s for s in (_drop_route(search, extra, deps) for _ in range(5)) if s is not None]
    assert dropped
    for s in dropped:
        assert s.feasible and _fewest_routes(search) <= len(s.routes) < len(extra.routes)
        served = np.sort(np.concatenate(s.routes) >> 1)
        assert np.array_equal(served, np.arange(search.m))


def test_mid_size_instance_ends_in_ruin_and_recreate_deterministically() -> None:
    inst = _grid_instance(13)  # 312 streets: above RECREATE_ABOVE, not decomposed
    assert RECREATE_ABOVE < len(inst.required) <= DECOMPOSE_ABOVE
    a = solve(inst, time_limit_s=300, iterations=60, seed=2)
    assert a.feasible and a.info["recreate_iterations"] == 30
    assert a.info["iterations"] == 60
    assert _checked_cost(inst, a) == pytest.approx(a.cost)
    b = solve(inst, time_limit_s=300, iterations=60, seed=2)
    assert (b.cost, b.routes) == (a.cost, a.routes)
    short = solve(inst, time_limit_s=300, iterations=60, seed=2, target_cost=a.cost * 1.5)
    assert short.info["reached_target"] and short.info["iterations"] < 60


def test_stall_at_fewest_routes_runs_whole_plan_ruin_and_recreate() -> None:
    """A plan at the fewest routes the demand allows whose groups stop improving gets
    ruin and recreate across the whole plan (RECREATE_STEPS steps), deterministically,
    and the result still serves every street once within the capacity."""
    inst = _grid_instance(6)
    total = sum(r[3] for r in inst.required)
    inst = CarpInstance(name="grid6-tight", vertices=inst.vertices, depot=inst.depot, vehicles=0,
                        capacity=total / 2 + 1, required=inst.required, nonrequired=[])

    def run() -> tuple[Any, dict[str, Any]]:
        search = _Search(_instance_problem(inst), capacity=inst.capacity,
                         route_limit=math.inf, mode=0, k=1, seed=3)
        best, info = decomposed_search(search, 300, 14)
        assert len(best.routes) == _fewest_routes(search) == 2
        return best, info

    best, info = run()
    assert info["recreate_steps"] == RECREATE_STEPS and best.feasible
    assert best.cost <= info["first_cost"]
    served = np.sort(np.concatenate(best.routes) >> 1)
    assert np.array_equal(served, np.arange(len(inst.required)))
    again, _ = run()
    assert again.cost == best.cost
    assert all(np.array_equal(a, b) for a, b in zip(again.routes, best.routes, strict=True))


def test_routes_csv_uses_the_files_vertex_numbers(tmp_path: Path) -> None:
    """``urbangrid solve carp --out``: the routes in the file's own vertex numbers."""
    src = tmp_path / "tiny-0.txt"
    src.write_text(TANG)
    out = tmp_path / "routes.csv"
    res = CliRunner().invoke(main, ["solve", "carp", str(src), "--time-limit", "1",
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "cost 10 with 1 routes" in res.output  # 1 + 2 + 3 served, 4 back to the depot
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["seq"] for r in rows] == ["1", "2", "3"]
    required = {1: {"0", "1"}, 2: {"1", "2"}, 3: {"2", "3"}}  # by line in the file's list
    for r in rows:
        assert {r["u"], r["v"]} == required[int(r["edge"])]
        assert float(r["cost"]) == float(r["demand"]) == int(r["edge"])
    assert {v for r in rows for v in (r["u"], r["v"])} == {"0", "1", "2", "3"}


def test_out_over_the_instance_or_in_a_missing_folder_is_refused_first(tmp_path: Path) -> None:
    src = tmp_path / "tiny-0.txt"
    src.write_text(TANG)
    for out in (src, tmp_path / "nowhere" / "routes.csv"):
        res = CliRunner().invoke(main, ["solve", "carp", str(src), "--out", str(out)])
        assert res.exit_code != 0
        assert "searching" not in res.output  # refused before the search
    assert src.read_text() == TANG
