"""CARP: CARPLIB parsing, feasible and deterministic solutions, k collectors."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from urbangrid.errors import DataFileError, InfeasibleRouteError, RoutingError, UnreachableError
from urbangrid.routing.core.carp import collector_routes, min_collectors, read_instance, solve
from urbangrid.routing.core.plan import check_plan

DATA = Path(__file__).resolve().parents[1] / "data" / "carp"


def _check_instance_plan(inst, sol) -> float:  # type: ignore[no-untyped-def]
    G = inst.graph()
    req = [(u, v, i) for i, (u, v, _, _) in enumerate(inst.required)]
    dem = {(u, v, i): q for i, (u, v, _, q) in enumerate(inst.required)}
    return check_plan(
        G,
        sol.to_plan(inst),
        weight="cost",
        required=req,
        serve_once=True,
        demand=dem,
        capacity=inst.capacity,
    )


class TestReadInstance:
    def test_gdb1_header_and_edges(self) -> None:
        inst = read_instance(DATA / "gdb1.dat")
        assert inst.name == "gdb1"
        assert (inst.vertices, inst.depot, inst.vehicles, inst.capacity) == (12, 1, 5, 5.0)
        assert len(inst.required) == 22 and inst.nonrequired == []
        assert inst.required[0] == (1, 2, 13.0, 1.0)
        assert sum(c for *_, c, _ in inst.required) == inst.header_required_cost

    def test_val_header_total_includes_constant(self) -> None:
        inst = read_instance(DATA / "val1A.dat")
        listed = sum(c for _, _, c, _ in inst.required)
        assert inst.header_required_cost - listed == 74

    def test_graph(self) -> None:
        G = read_instance(DATA / "gdb1.dat").graph()
        assert G.number_of_nodes() == 12 and G.number_of_edges() == 22
        assert all(d["required"] for *_, d in G.edges(data=True))

    def test_bad_files(self, tmp_path: Path) -> None:
        text = (DATA / "gdb1.dat").read_text()
        p = tmp_path / "short.dat"
        p.write_text(text.replace("ARISTAS_REQ : 22", "ARISTAS_REQ : 23"))
        with pytest.raises(DataFileError, match=r"short\.dat.*23"):
            read_instance(p)
        p.write_text(text.replace("CAPACIDAD", "CAPACITY"))
        with pytest.raises(DataFileError, match="CAPACIDAD"):
            read_instance(p)
        with pytest.raises(DataFileError, match="cannot read"):
            read_instance(tmp_path / "missing.dat")


class TestSolve:
    def test_gdb1_feasible_near_optimum(self) -> None:
        inst = read_instance(DATA / "gdb1.dat")
        sol = solve(inst, iterations=300, time_limit_s=120, seed=3)
        assert sol.feasible
        assert 316 <= sol.cost <= 316 * 1.03
        assert _check_instance_plan(inst, sol) == pytest.approx(sol.cost)
        assert all(q <= inst.capacity for q in sol.loads)
        assert sum(len(r) for r in sol.routes) == 22

    def test_deterministic_for_a_seed(self) -> None:
        inst = read_instance(DATA / "val1A.dat")
        a = solve(inst, iterations=60, time_limit_s=120, seed=7)
        b = solve(inst, iterations=60, time_limit_s=120, seed=7)
        assert a.cost == b.cost and a.routes == b.routes
        assert a.cost >= 173
        _check_instance_plan(inst, a)


def _grid(n: int = 5) -> nx.Graph:
    G = nx.grid_2d_graph(n, n)
    for a, b in G.edges:
        G.edges[a, b]["length"] = 100.0 + 10 * (a[0] + b[1])
        G.edges[a, b]["bins"] = 1
    return G


class TestCollectors:
    def test_min_max_two_collectors(self) -> None:
        G = _grid()
        plan = collector_routes(
            G, depot=(0, 0), k=2, objective="max", weight="length", iterations=150, seed=1
        )
        assert len(plan.routes) == 2
        check_plan(G, plan, weight="length", serve_once=True)
        assert plan.lower_bound is not None
        assert plan.lower_bound <= plan.max_route_cost
        gap = plan.gap
        assert gap is not None and 0 <= gap < 0.5
        rows = plan.to_rows()
        assert len(rows) == sum(len(r) for r in plan.routes)
        assert sum(r["served"] for r in rows) == G.number_of_edges()
        one = collector_routes(
            G, depot=(0, 0), k=1, objective="max", weight="length", iterations=50, seed=1
        )
        # two collectors share the work: the longest route is shorter than one tour
        assert plan.max_route_cost < one.max_route_cost
        assert plan.max_route_cost >= one.cost / 2 - 1e-9

    def test_per_collector_start_points(self) -> None:
        G = _grid()
        plan = collector_routes(
            G,
            depots=[(0, 0), (4, 4), (0, 4)],
            objective="max",
            weight="length",
            iterations=100,
            seed=2,
        )
        assert [r.start for r in plan.routes] == [(0, 0), (4, 4), (0, 4)]
        check_plan(G, plan, weight="length", serve_once=True)

    def test_capacity_and_route_limit(self) -> None:
        G = _grid()
        plan = collector_routes(
            G, depot=(2, 2), weight="length", demand="bins", capacity=8, iterations=150, seed=0
        )
        dem = {e: 1.0 for e in G.edges}
        check_plan(G, plan, weight="length", serve_once=True, demand=dem, capacity=8)
        assert len(plan.routes) >= 40 / 8
        limited = collector_routes(
            G, depot=(2, 2), weight="length", route_limit=2500.0, iterations=150, seed=0
        )
        check_plan(G, limited, weight="length", serve_once=True, max_route_cost=2500.0)

    def test_required_subset_and_one_way(self) -> None:
        G = nx.MultiDiGraph()
        nx.add_cycle(G, [0, 1, 2, 3], length=1.0, oneway=True)
        G.add_edge(0, 2, length=1.0, oneway=False)
        req = [(1, 2, 0), (0, 2, 0)]
        plan = collector_routes(
            G,
            depot=0,
            k=1,
            objective="max",
            weight="length",
            required=req,
            oneway="oneway",
            iterations=20,
        )
        check_plan(G, plan, weight="length", required=req, serve_once=True, oneway="oneway")

    def test_min_collectors(self) -> None:
        G = _grid(4)
        plan = min_collectors(
            G, depot=(0, 0), route_limit=2000.0, weight="length", iterations=80, seed=0
        )
        check_plan(G, plan, weight="length", serve_once=True, max_route_cost=2000.0)
        assert len(plan.routes) >= plan.info["k_lower_bound"]

    def test_bad_input(self) -> None:
        G = _grid(3)
        G.add_edge("a", "b", length=5.0)
        with pytest.raises(UnreachableError, match=r"\('a', 'b', 0\)"):
            collector_routes(G, depot=(0, 0), weight="length", iterations=5)
        with pytest.raises(RoutingError, match="depot 'zz'"):
            collector_routes(_grid(3), depot="zz", weight="length", iterations=5)
        H = _grid(3)
        H.edges[(0, 0), (0, 1)]["bins"] = 50
        with pytest.raises(InfeasibleRouteError, match="above the capacity"):
            collector_routes(H, depot=(0, 0), weight="length", demand="bins", capacity=10)
        with pytest.raises(RoutingError, match="k >= 1"):
            collector_routes(_grid(3), depot=(0, 0), weight="length", objective="max")
        H.edges[(0, 0), (0, 1)]["length"] = -1
        with pytest.raises(RoutingError, match="must be finite and >= 0"):
            collector_routes(H, depot=(0, 0), weight="length")


def test_kernels_compiled_at_install_no_numba() -> None:
    """Issue 21: the CARP kernels are a built extension; solving imports no numba."""
    import subprocess
    import sys

    from urbangrid.routing.core import _carp

    assert Path(_carp.__file__).suffix in {".so", ".pyd"}
    code = (
        "import sys; from urbangrid.routing.core.carp import read_instance, solve; "
        f"solve(read_instance({str(DATA / 'gdb1.dat')!r}), iterations=5, seed=0); "
        "print('numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
