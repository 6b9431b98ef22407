"""Benchmark: the CARP solver on gdb, val, egl and the large sets (Hefei, Beijing, EGL-G).

Each instance runs in its own process (so its peak RSS is its own) with ``--time-limit``
seconds (``--large-time-limit`` for the large sets). The parent then re-costs every
solution *from the instance file*, with its own parser and shortest paths, not from
the solver's cost: each required edge served exactly once (by its index and ends),
every route within the capacity, cost = service + deadhead of closed walks from the
depot. Printed per instance: best-known cost (the published peers: MADCoM, CARPData.jl,
the file headers; see ``../shared/data/carp/*/README.md``), re-costed cost, gap, time
budget, wall seconds, peak RSS of the solving process, the load average (the
machine is shared: timings are noisy when load > 2) and the number of routes beside
the fewest the total demand allows.

Usage::

    python benchmarks/carp.py --sets large --instances Hefei-10 --large-time-limit 600
    python benchmarks/carp.py --sets gdb --time-limit 5
    python benchmarks/carp.py --sets val,egl --time-limit 60 --sample 6
    python benchmarks/carp.py --sets large --large-time-limit 600 --stop-at-gap 1

``--stop-at-gap 1`` stops an instance's search as soon as it is within 1 % of the
best-known cost. The solver never looks at that target otherwise, so up to the stop it
runs exactly as it would for the whole budget: "within 1 % after 212 s of a 600 s
budget" is then a finding about the 600 s run, obtained in 212 s. ``wall s`` is
the time to reach it; an instance that does not reach it runs the whole budget.
``--stop-at-gap 0`` stops at the best-known cost itself: the gap printed is then never
smaller than the whole budget would give (the search could only have gone on below a
best-known cost that is not proven optimal), so a mean over a set stays honest.

Results also go to ``benchmarks/results/carp_<sets>_<time>s.csv``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

CARP = Path(__file__).resolve().parents[2] / "shared" / "data" / "carp"
CARP_CODE = ["urbangrid/routing/core/carp.py", "urbangrid/routing/core/carp_decompose.py",
             "urbangrid/routing/core/_carp.pyx"]
RESULTS = Path(__file__).resolve().parent / "results"
EDGE = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*coste\s+([0-9.]+)(?:\s+demanda\s+([0-9.]+))?")


def run_one(path: str, time_limit_s: float, seed: int, target_cost: float | None) -> None:
    """Child: solve one file, print JSON (routes in the file's own vertex numbers)."""
    import resource

    from urbangrid.routing.core.carp import read_instance, solve

    inst = read_instance(path)
    t = time.perf_counter()
    sol = solve(inst, time_limit_s=time_limit_s, seed=seed, target_cost=target_cost)
    dt = time.perf_counter() - t
    shift = 1 - inst.first_vertex
    routes = [[[i, u - shift, v - shift] for (u, v), i in zip(r, idx, strict=True)]
              for r, idx in zip(sol.routes, sol.route_edges, strict=True)]
    print(json.dumps({
        "cost": sol.cost, "routes": routes, "seconds": dt,
        "iterations": sol.info.get("iterations"),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "load": os.getloadavg()[0],
    }))


def recost(path: Path, routes: list[list[list[int]]]) -> tuple[float, str, int]:
    """Cost of ``routes`` from the file alone, any violation named, and the fewest
    routes the demand allows (total demand / capacity, rounded up)."""
    head: dict[str, str] = {}
    req: list[tuple[int, int, float, float]] = []
    arcs: list[tuple[int, int, float]] = []
    for line in path.read_text(encoding="ascii", errors="replace").splitlines():
        m = EDGE.search(line)
        if m:
            u, v, c = int(m.group(1)), int(m.group(2)), float(m.group(3))
            arcs.append((u, v, c))
            if m.group(4) is not None:
                req.append((u, v, c, float(m.group(4))))
        elif ":" in line:
            k, _, val = line.partition(":")
            head[k.strip().upper()] = val.strip()
    n = int(head["VERTICES"]) + 1
    depot = int(head.get("DEPOSITO", "1"))
    cap = float(head["CAPACIDAD"])
    w: dict[tuple[int, int], float] = {}
    for u, v, c in arcs:
        for a, b in ((u, v), (v, u)):
            w[(a, b)] = min(c, w.get((a, b), np.inf))
    adj = sp.csr_matrix((list(w.values()), ([a for a, _ in w], [b for _, b in w])), shape=(n, n))
    src = sorted({depot} | {x[2] for r in routes for x in r})
    dist = dijkstra(adj, directed=True, indices=src)
    row = {s: i for i, s in enumerate(src)}
    seen = np.zeros(len(req), dtype=int)
    total = 0.0
    problems = []
    for ri, r in enumerate(routes):
        at, load = depot, 0.0
        for i, u, v in r:
            a, b, c, q = req[i]
            if {a, b} != {u, v}:
                problems.append(f"route {ri}: edge {i} is ({a},{b}), not ({u},{v})")
            seen[i] += 1
            total += dist[row[at], u] + c
            load += q
            at = v
        total += dist[row[at], depot] if r else 0.0
        if load > cap + 1e-9:
            problems.append(f"route {ri}: load {load} > capacity {cap}")
    if (seen != 1).any():
        problems.append(f"{int((seen == 0).sum())} edges unserved, {int((seen > 1).sum())} twice")
    fewest = int(np.ceil(sum(x[3] for x in req) / cap - 1e-9))
    return total, "; ".join(problems), fewest


def instances(sets: list[str]) -> list[tuple[str, str, Path, float]]:
    """(set, name, file, best-known) of the chosen sets."""
    out = []
    with open(CARP / "best_known.csv", newline="") as f:
        for r in csv.DictReader(f):
            if r["set"] in sets:
                p = CARP / r["set"] / f"{r['instance']}.dat"
                out.append((r["set"], r["instance"], p, float(r["best_known_cost"])))
    if "large" in sets:
        with open(CARP / "large" / "best_known_large.csv", newline="") as f:
            for r in csv.DictReader(f):
                name = r["instance"]
                p = CARP / "large" / (f"{name}.dat" if name.startswith("egl") else f"{name}.txt")
                out.append(("large", name, p, float(r["best_known"])))
    return out


def commit() -> str:
    """The checkout's commit, "+dirty" when the CARP solver's files differ from it."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--",
                                *CARP_CODE], capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def append_row(out: Path, row: dict[str, Any]) -> None:
    """Append one result row to ``out`` (header first when the file is new; a file
    begun by an older version of this script keeps its own columns)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    new = not out.exists() or out.stat().st_size == 0
    fields = list(row)
    if not new:
        with open(out, newline="") as f:
            fields = next(csv.reader(f))
    with open(out, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore", restval="")
        if new:
            w.writeheader()
        w.writerow(row)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", default="gdb", help="comma list of gdb, val, egl, large")
    ap.add_argument("--instances", default=None, help="comma list of instance names")
    ap.add_argument("--sample", type=int, default=0, help="every n-th instance of each set")
    ap.add_argument("--time-limit", type=float, default=5.0, help="seconds, gdb/val/egl")
    ap.add_argument("--large-time-limit", type=float, default=600.0, help="seconds, large set")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None,
                    help="CSV to append to, one row as each instance ends (default: "
                         "benchmarks/results/carp_<sets>_<time>s_<large time>s.csv, rewritten)")
    ap.add_argument("--stop-at-gap", type=float, default=None,
                    help="stop each instance once within this %% of its best-known cost")
    ap.add_argument("--target-cost", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        run_one(args.one, args.time_limit, args.seed, args.target_cost)
        return
    sets = args.sets.split(",")
    todo = instances(sets)
    if args.instances:
        order = args.instances.split(",")  # run in the order given (e.g. worst gap first)
        todo = sorted((x for x in todo if x[1] in order), key=lambda x: order.index(x[1]))
    if args.sample:
        todo = [x for s in sets for x in [y for y in todo if y[0] == s][:: args.sample]]
    print(f"CARP benchmark, seed {args.seed}, {os.cpu_count()} cores, commit {commit()}, "
          f"started {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; each instance in its own process; "
          "costs re-costed from the file", flush=True)
    print(f"{'set':5} {'instance':11} {'best-known':>11} {'urbangrid':>11} {'gap%':>7} "
          f"{'budget s':>8} {'wall s':>7} {'peak MB':>8} {'load':>5} routes/fewest check")
    rows: list[dict[str, Any]] = []
    for set_, name, path, bk in todo:
        limit = args.large_time_limit if set_ == "large" else args.time_limit
        cmd = [sys.executable, __file__, "--one", str(path), "--time-limit", str(limit),
               "--seed", str(args.seed)]
        if args.stop_at_gap is not None:
            cmd += ["--target-cost", repr(bk * (1 + args.stop_at_gap / 100))]
        used = commit()  # the solver code this instance's process imports
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"{set_:5} {name:11} failed: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        cost, bad, fewest = recost(path, res["routes"])
        n_routes = sum(1 for r in res["routes"] if r)
        ok = "ok" if not bad and abs(cost - res["cost"]) < 1e-6 * max(1.0, cost) else (
            bad or f"solver said {res['cost']}")
        gap = 100 * (cost - bk) / bk
        print(f"{set_:5} {name:11} {bk:11.0f} {cost:11.0f} {gap:7.2f} {limit:8g} "
              f"{res['seconds']:7.1f} {res['peak_rss_mb']:8.0f} {os.getloadavg()[0]:5.2f} "
              f"{n_routes:3d}/{fewest:<3d} {ok}",
              flush=True)
        rows.append({"set": set_, "instance": name, "best_known": bk, "cost": cost,
                     "gap_pct": round(gap, 4), "time_limit_s": limit,
                     "seconds": round(res["seconds"], 1), "iterations": res["iterations"],
                     "peak_rss_mb": round(res["peak_rss_mb"], 1),
                     "stop_at_gap_pct": "" if args.stop_at_gap is None else args.stop_at_gap,
                     "routes": n_routes, "fewest_routes": fewest,
                     "load": round(os.getloadavg()[0], 2), "check": ok, "seed": args.seed,
                     "commit": used, "finished": time.strftime("%Y-%m-%d %H:%M:%S")})
        if args.out:
            append_row(Path(args.out), rows[-1])
    if not rows:
        return
    out = Path(args.out) if args.out else (
        RESULTS / f"carp_{'-'.join(sets)}_{args.time_limit:g}s_{args.large_time_limit:g}s.csv")
    if not args.out:
        RESULTS.mkdir(parents=True, exist_ok=True)
        with open(out, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    for s in sets:
        g = [x["gap_pct"] for x in rows if x["set"] == s]
        if g:
            print(f"{s}: {len(g)} instances, mean gap {statistics.fmean(g):.3f} %, worst "
                  f"{max(g):.3f} %")
    print(f"table: {out}")


if __name__ == "__main__":
    main()
