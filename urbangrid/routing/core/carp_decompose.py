"""Large CARP instances by route-cutting decomposition (thousands of required streets).

A whole-plan memetic search costs time per offspring that grows with the number of
tasks ``m``, and its Split and local search see every route. Here, as in Tang et al.'s
hierarchical decomposition [1]_ and MADCoM's divide-and-conquer mutation [2]_, the
search works on a *plan* and repeatedly:

1. picks a random route and the routes closest to it (by how many of its streets
   have their nearest streets there), until the group holds about ``target`` tasks;
2. solves that group's streets as a CARP of their own with the memetic search of
   :mod:`urbangrid.routing.core.carp` (the group's current routes seed its
   population, so the sub-plan never gets worse), every second group of four routes
   or more with its ruin and recreate from the group's routes instead;
3. puts the sub-plan back when it is cheaper;
4. when no group has improved the plan for a while and it has more routes than the
   total demand needs, empties one route into the others (penalised insertion and a
   local search that opens no route) and goes on from that plan even when it costs
   more; a stalled plan worse than the best found restarts from the best. Groups can
   split a route but never merge routes of different groups, so without this step a
   surplus route stays for good (Beijing-2: 12 routes where 11 fit, 2 % above the
   best-known cost after 600 s; 0.95 % after 52 s with it);
5. when it stalls at the fewest routes, runs ruin and recreate on the whole plan
   from the best plan (up to 40 streets at a time, neighbouring or scattered, across
   any routes; sometimes a plan up to 0.5 % dearer is accepted) and goes on from its
   best plan, or, when that is no cheaper, from the plan it ended on. With the
   capacity nearly full (Beijing-3: 18 routes, 97 % of their capacity used) moving load
   between routes needs a chain of moves through several routes that no group of
   nearby routes holds: that plan stayed at 1.03 % above the best-known cost from 53 s
   to 600 s. Going on from the best plan alone left seed 1 at 1.32 % for 400 s; from
   the plan the ruin and recreate ended on, 0.94 % after 50 s more.

A sub-problem shares the parent's deadhead matrix (its tasks index the same nodes),
so no shortest paths are recomputed and memory stays that of the instance: the matrix
between the task nodes plus tables linear in ``m``. A full local search of the whole
plan runs every few groups to repair the seams between groups.

References
----------
.. [1] K. Tang, J. Wang, X. Li, X. Yao. A scalable approach to capacitated arc routing
   problems based on hierarchical decomposition. IEEE Trans. Cybernetics 47(11), 2017.
.. [2] R. Oliveira et al. MADCoM: a memetic algorithm with divide-and-conquer mutation
   for large-scale CARP. European Journal of Operational Research 321(2), 2025.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from urbangrid.routing.core.carp import _Problem, _reached, _Search, _Sol

__all__ = ["DECOMPOSE_ABOVE", "decomposed_search"]

#: Instances with more required edges than this are solved by decomposition.
DECOMPOSE_ABOVE = 400

#: Ruin-and-recreate steps on the whole plan each time the group search stalls at the
#: fewest routes (at most 10 s of them without an iteration count).
RECREATE_STEPS = 1500


def _sub_problem(p: _Problem, edges: np.ndarray) -> _Problem:
    """The CARP on ``edges`` only (edge ids of ``p``): same matrix and depots."""
    idx = np.empty(2 * len(edges), dtype=np.int64)
    idx[0::2] = 2 * edges
    idx[1::2] = 2 * edges + 1
    return _Problem(p.D, p.th[idx], p.tt[idx], p.tc[idx], p.tq[idx], p.allowed[idx],
                    p.depots, p.rel_nodes)


def _pick_group(
    routes: list[np.ndarray], neigh: np.ndarray, rng: np.random.Generator, target: int
) -> list[int]:
    """A random route and its closest routes, about ``target`` tasks in all.

    Route closeness: how many neighbour links (each street's nearest streets) join a
    route to the group so far; ties and the seed route are random.
    """
    m = neigh.shape[0]
    owner = np.empty(m, dtype=np.int64)
    for r, seq in enumerate(routes):
        owner[seq >> 1] = r
    group = [int(rng.integers(0, len(routes)))]
    size = len(routes[group[0]])
    while size < target and len(group) < len(routes):
        edges = np.concatenate([routes[r] >> 1 for r in group])
        votes = np.bincount(owner[neigh[edges].ravel()], minlength=len(routes)).astype(float)
        votes[group] = -1.0
        votes += rng.random(len(routes)) * 0.5  # random tie-break
        nxt = int(np.argmax(votes))
        group.append(nxt)
        size += len(routes[nxt])
    return group


def _solve_group(
    search: _Search, routes: list[np.ndarray], group: list[int], budget_s: float,
    sub_iterations: int, recreate: bool = False,
) -> list[np.ndarray] | None:
    """Re-solve the routes in ``group``; the new routes (parent task ids) when cheaper.

    The sub-search is the memetic search seeded with the group's routes, or with
    ``recreate`` ruin and recreate from them (``sub_iterations`` steps either way)."""
    p = search.p
    old = [routes[r] for r in group]
    edges = np.sort(np.concatenate([r >> 1 for r in old]))
    local = np.full(p.m, -1, dtype=np.int64)
    local[edges] = np.arange(len(edges))
    seeded = [2 * local[r >> 1] + (r & 1) for r in old]
    sub = _Search(_sub_problem(p, edges), capacity=search.Q, route_limit=search.Lmax, mode=0,
                  k=1, seed=search.rng, shape=search.shape)
    deps = np.full(sub.m + 1, sub.dep0, dtype=np.int64)
    before = sub._eval(seeded, deps)
    if recreate:
        best, _ = sub.ils(deps, budget_s, sub_iterations, initial=before)
    else:
        best, _ = sub.memetic(budget_s, sub_iterations, initial=[seeded], popsize=15)
    if not best.feasible or best.cost >= before.cost - 1e-9:
        return None
    return [2 * edges[r >> 1] + (r & 1) for r in best.routes]


def _first_plan(search: _Search, deadline: float, tries: int) -> _Sol:
    """Best of a few randomised nearest-neighbour tours, split and locally improved."""
    deps = np.full(search.m + 1, search.dep0, dtype=np.int64)
    best: _Sol | None = None
    for k in range(tries):
        giant = search._nearest_giant()
        s, _ = search._improve(search._split(giant), deps)
        if best is None or (s.feasible, -s.obj) > (best.feasible, -best.obj):
            best = s
        if k and time.perf_counter() > deadline:
            break
    assert best is not None
    return best


def _fewest_routes(search: _Search) -> int:
    """The fewest routes the total demand allows (no fewer can be feasible)."""
    if not math.isfinite(search.Q):
        return 1
    return max(1, math.ceil(float(search.p.tq[0::2].sum()) / search.Q - 1e-9))


def _drop_route(search: _Search, cur: _Sol, deps: np.ndarray) -> _Sol | None:
    """``cur`` with one route fewer, or None when no feasible such plan was found.

    One of the three lightest routes is emptied; its tasks go to their cheapest places
    in the other routes (overloads allowed at the penalty), then the whole plan is
    locally searched with no new route allowed while the penalty doubles, until every
    route fits the capacity. A group's re-solve can only split a route, never merge two
    routes of different groups, so without this move a plan keeps a route the demand
    does not need (Beijing-2: 12 routes where 11 fit).
    """
    rng = search.rng
    order = np.argsort(np.asarray(cur.loads), kind="stable")
    r = int(order[int(rng.integers(0, min(3, len(order))))])
    keep = [x for i, x in enumerate(cur.routes) if i != r]
    tasks = cur.routes[r] >> 1
    tasks = tasks[rng.permutation(len(tasks))]
    lam = search.lam
    routes, d = search._insert(keep, deps, tasks, lam, search.mu, can_open=False)
    for _ in range(10):
        routes, d = search._ls(routes, d, lam, search.mu, can_open=False)
        s = search._eval(routes, d)
        if s.feasible:
            return s
        lam *= 2.0
    return None


def decomposed_search(
    search: _Search, time_limit_s: float, iterations: int | None, *, target: int = 160,
    target_cost: float | None = None,
) -> tuple[_Sol, dict[str, Any]]:
    """Improve one plan by re-solving groups of nearby routes (see the module docstring).

    ``iterations`` counts groups; with it set the result is deterministic for the
    search's seed. Each group gets ``sub_iterations`` offspring (fewer when time runs
    out). It stops early once a feasible plan costs at most ``target_cost``. Returns the
    best plan and ``info`` (groups tried, groups improved, seconds).
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    deps = np.full(search.m + 1, search.dep0, dtype=np.int64)
    # with ``iterations`` the first plan must not depend on the clock either
    cur = _first_plan(search, t0 + 0.05 * time_limit_s if iterations is None else np.inf, 3)
    best = cur
    first_cost = cur.cost
    fewest = _fewest_routes(search)
    it = improved = since = drops = recreated = 0
    sub_iterations = 150
    while (iterations is None or it < iterations) and time.perf_counter() < deadline:
        if _reached(best, target_cost):
            break
        it += 1
        routes = cur.routes
        group = _pick_group(routes, search.neigh, search.rng, target)
        left = deadline - time.perf_counter()
        budget = left if iterations is not None else max(0.05, min(left, 10.0))
        # every second group of 4 routes or more by ruin and recreate: on Hefei-4 (groups
        # of ~9 routes) at 120 s 0.26-0.39 % above the best-known cost, against 1.20 %
        # with the memetic search for every group; but on Beijing-2 (groups of 2-3 long
        # routes) 1.76 % against 0.62 %
        recreate = it % 2 == 0 and len(group) >= 4
        new = _solve_group(search, routes, group, budget, sub_iterations, recreate=recreate)
        since += 1
        if new is not None:
            keep = [r for i, r in enumerate(routes) if i not in set(group)]
            cand = search._eval(keep + [r for r in new if len(r)], deps)
            if cand.feasible and cand.cost < cur.cost - 1e-9:
                cur = cand
                improved += 1
                since = 0
        if it % 25 == 0:
            cur = _polish(search, cur, deps)
        if _better(cur, best):
            best = cur
        if since >= max(10, len(cur.routes)):
            # stalled: leave a plan with more routes than the demand needs for the best
            # of a few with one route fewer, even if dearer (the groups then improve
            # it); a stalled plan that is worse than the best restarts from the best
            since = 0
            if len(cur.routes) <= fewest and cur is not best:
                cur = best
            if len(cur.routes) <= fewest:
                left = deadline - time.perf_counter()
                found, more = search.ils(
                    deps, left if iterations is not None else max(0.0, min(left, 10.0)),
                    RECREATE_STEPS, initial=cur, target_cost=target_cost,
                    max_ruin=40, worse=0.005,
                )
                recreated += more["iterations"]
                # nothing cheaper: the groups go on from where it ended, a plan a few
                # tenths of a percent dearer, instead of the plan they could not improve
                cur = found if found.cost < cur.cost - 1e-9 else more["current"]
            else:
                tries = [_drop_route(search, cur, deps) for _ in range(5)]
                ok = [x for x in tries if x is not None]
                if ok:
                    cur = min(ok, key=lambda x: x.cost)
                    drops += 1
            if _better(cur, best):
                best = cur
    cur = _polish(search, cur, deps)
    if _better(cur, best):
        best = cur
    info = {"iterations": it, "groups_improved": improved, "routes_dropped": drops,
            "recreate_steps": recreated,
            "first_cost": first_cost, "decomposed": True, "seconds": time.perf_counter() - t0}
    return best, info


def _better(a: _Sol, b: _Sol) -> bool:
    """Whether ``a`` is feasible and cheaper than ``b``, or ``b`` is infeasible and ``a``
    is either feasible or has the lower penalised objective."""
    if a.feasible:
        return not b.feasible or a.cost < b.cost - 1e-9
    return not b.feasible and a.obj < b.obj - 1e-9


def _polish(search: _Search, cur: _Sol, deps: np.ndarray) -> _Sol:
    """A local search of the whole plan (the seams between groups); kept when better."""
    routes, d = search._ls(cur.routes, deps, search.lam, search.mu)
    s = search._eval(routes, d)
    return s if s.feasible and s.cost < cur.cost - 1e-9 else cur
