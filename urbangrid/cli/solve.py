"""``urbangrid solve``: the arc routing core on a graph file or a CARPLIB instance.

For patrol areas from OSM files or a store use ``urbangrid route``; this group
runs the solvers directly, for GIS staff checking a network or a benchmark.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import click

from urbangrid.cli.outputs import refuse_inputs

__all__ = ["solve"]


def _read_graph(path: Path) -> Any:
    """A GraphML file (plain or .bz2) as an osmnx/networkx multigraph.

    Raises DataFileError naming the file when it is empty or not GraphML.
    """
    import bz2
    import tempfile
    from xml.etree.ElementTree import ParseError

    import networkx as nx
    import osmnx as ox

    from urbangrid.errors import DataFileError

    try:
        if path.suffix == ".bz2":
            with tempfile.TemporaryDirectory(prefix="urbangrid-graphml-") as folder:
                plain = Path(folder) / "graph.graphml"
                plain.write_bytes(bz2.decompress(path.read_bytes()))
                return ox.load_graphml(plain)
        return ox.load_graphml(path)
    except (ParseError, OSError, ValueError, KeyError, EOFError, nx.NetworkXError) as exc:
        osm = " (an OSM extract? `urbangrid route` takes those)" if ".osm" in path.name else ""
        raise DataFileError(f"{path}: not a readable GraphML file ({exc}){osm}; give a street "
                            "graph saved by osmnx.save_graphml (plain or .bz2)") from None


@click.group()
def solve() -> None:
    """Postman and CARP solvers on a GraphML network or a CARPLIB instance."""


def _check_out(out: Path | None, source: tuple[str, Path]) -> None:
    """Refuse ``--out`` before the solve, not after it: over the input ``source`` (how
    the user gave it, path), or in a folder that does not exist."""
    refuse_inputs([(f"--out {out}", out)], [source])
    if out is not None and not out.parent.is_dir():
        raise click.BadParameter(f"{out}: the folder {out.parent} does not exist",
                                 param_hint="--out")


@solve.command("postman")
@click.argument("graph", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["undirected", "directed", "mixed"]),
              default="undirected", show_default=True,
              help="undirected: every street once (exact); directed: every arc forwards "
                   "(exact); mixed: one-ways forwards, two-way streets once (bound and gap).")
@click.option("--weight", default="length", show_default=True, help="Edge cost attribute.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the walk (one row per traversal) to this CSV.")
def postman(graph: Path, kind: str, weight: str, out: Path | None) -> None:
    """Closed walk covering every street of GRAPH (GraphML, optionally .bz2)."""
    import osmnx as ox

    from urbangrid.routing.core.postman import chinese_postman, directed_postman, mixed_postman

    _check_out(out, ("GRAPH", graph))
    G = _read_graph(graph)
    if kind == "undirected":
        # osmnx merges the two directed twins of a two-way street into one edge.
        plan = chinese_postman(ox.convert.to_undirected(G), weight=weight)
    elif kind == "directed":
        plan = directed_postman(G, weight=weight)
    else:
        plan = mixed_postman(G, weight=weight)
    gap = "proven optimal" if plan.optimal else f"gap {plan.gap:.2%}"
    click.echo(f"{kind} postman on {graph.name}: cost {plan.cost:,.1f} ({weight}), deadhead "
               f"{plan.deadhead_cost:,.1f}, {gap}")
    if out is not None:
        rows = plan.to_rows()
        with open(out, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        click.echo(f"walk: {len(rows)} traversals → {out}")


def _num(value: float) -> str:
    """A cost or load as printed: thousands separated, decimals only when it has them."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


@solve.command("carp")
@click.argument("instance", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--time-limit", "time_limit_s", default=60.0, show_default=True,
              help="Seconds of search.")
@click.option("--seed", default=0, show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the routes (one row per served edge, in order, vertices numbered "
                   "as in the file) to this CSV.")
def carp(instance: Path, time_limit_s: float, seed: int, out: Path | None) -> None:
    """Solve a CARP INSTANCE: a CARPLIB .dat (gdb, val, egl, EGL-G) or one of Tang et
    al.'s Hefei/Beijing .txt files (vertices from 0). Above 400 required edges the
    search works on groups of nearby routes (decomposition)."""
    from urbangrid.routing.core.carp import read_instance
    from urbangrid.routing.core.carp import solve as solve_carp

    _check_out(out, ("INSTANCE", instance))
    inst = read_instance(instance)
    # the search prints nothing until it ends: say what it does and for how long
    click.echo(f"{instance.name}: {len(inst.required):,} required edges, capacity "
               f"{_num(inst.capacity)}; searching for {time_limit_s:g} s (seed {seed})", err=True)
    sol = solve_carp(inst, time_limit_s=time_limit_s, seed=seed)
    how = (f"{sol.info['iterations']} route groups re-solved" if sol.info.get("decomposed")
           else f"{sol.info['iterations']} offspring")
    click.echo(f"{instance.name}: cost {_num(sol.cost)} with {len(sol.routes)} routes "
               f"(feasible: {sol.feasible}; {how} in {sol.info['seconds']:.0f} s)")
    for i, (route, cost) in enumerate(zip(sol.routes, sol.route_costs, strict=True), 1):
        click.echo(f"  route {i}: cost {_num(cost)}, load {_num(sol.loads[i - 1])}, "
                   f"{len(route)} task{'' if len(route) == 1 else 's'}")
    if out is not None:
        shift = inst.first_vertex - 1  # back to the file's own vertex numbers
        with open(out, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["route", "seq", "u", "v", "edge", "cost", "demand"])
            for i, (route, edges) in enumerate(zip(sol.routes, sol.route_edges, strict=True), 1):
                for k, ((u, v), e) in enumerate(zip(route, edges, strict=True), 1):
                    _, _, c, q = inst.required[e]
                    writer.writerow([i, k, u + shift, v + shift, e + 1, c, q])
        click.echo(f"routes: {sum(len(r) for r in sol.routes)} served edges → {out} "
                   "(edge: its line in the file's list of required edges, from 1)")
