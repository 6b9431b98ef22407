"""Geocoding throughput: urbangrid forward and reverse, and PostGIS pg_trgm on the same gazetteer.

Workloads (seeded, bundled data: Wudaokou OSM extract + Haidian 2023 division codes):

* forward: distinct addresses "北京市海淀区<road><n>号" over every road of the
  gazetteer and n = 1..N, plus every POI name with one character dropped (typos);
* reverse: uniform random points over the extract's bounding box, one bulk call;
* pg_trgm: the same gazetteer written to a throw-away PostGIS database (``place``
  layer, GIN trigram index from migration 0901); each address or POI name looked up
  with ``ORDER BY name <-> query LIMIT 5`` (trigram distance, the index-backed
  fuzzy search PostgreSQL offers), one query per address as an application would.

Targets (issue 9): >= 5,000 forward/s, >= 100,000 reverse/s.

Usage: python benchmarks/geocode.py [--dsn postgresql://...] [--n 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import geopandas as gpd
import numpy as np
import psycopg
from psycopg import sql

import urbangrid
from urbangrid.data import data_path
from urbangrid.loaders.admin import read_divisions_csv
from urbangrid.spatial.geocoding.forward import geocode
from urbangrid.spatial.geocoding.gazetteer import (
    Gazetteer,
    load_places,
    merge_places,
    places_from_divisions,
    places_from_osm,
)
from urbangrid.spatial.geocoding.parse import normalize_address
from urbangrid.spatial.geocoding.reverse import reverse_many


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", default="postgresql://urbangrid:urbangrid@localhost:5432/postgres",
                    help="superuser DSN; a throw-away database is created and dropped")
    ap.add_argument("--n", type=int, default=20000, help="forward addresses")
    ap.add_argument("--points", type=int, default=1_000_000, help="reverse points")
    ap.add_argument("--pg-n", type=int, default=2000, help="pg_trgm queries")
    args = ap.parse_args()
    rng = np.random.default_rng(42)

    places = merge_places(
        places_from_osm(data_path("osm/beijing_haidian_wudaokou.osm.bz2")),
        places_from_divisions(
            read_divisions_csv(data_path("codes/haidian_110108_divisions_2023.csv")),
            gpd.read_file(data_path("boundaries/haidian_110108_wgs84.geojson")),
            boundary_code_column="district_adcode"),
    )
    g = Gazetteer(places)
    roads = sorted(set(g.name[g.types == "street"]))
    per_road = max(1, args.n // len(roads))
    addresses = [f"北京市海淀区{r}{n}号" for n in range(1, per_road + 1) for r in roads]
    pois = [str(n) for n in g.name[g.types == "poi"] if len(str(n)) >= 4]
    typos = []
    for name in pois:
        k = int(rng.integers(1, len(name) - 1))
        typos.append(name[:k] + name[k + 1:])
    print(f"gazetteer: {g}")
    print(f"forward workload: {len(addresses)} distinct addresses on {len(roads)} roads, "
          f"{len(typos)} POI names with a typo")

    normalize_address.cache_clear()
    t = time.perf_counter()
    levels = [geocode(g, a, limit=1).level for a in addresses]
    fw = _rate(len(addresses), time.perf_counter() - t)
    t = time.perf_counter()
    found = sum(geocode(g, a, limit=1).found for a in typos)
    fw_typo = _rate(len(typos), time.perf_counter() - t)
    counts = {lv: levels.count(lv) for lv in sorted(set(levels))}
    print(f"urbangrid forward (addresses): {fw:,.0f}/s   levels {counts}")
    print(f"urbangrid forward (POI typos): {fw_typo:,.0f}/s   found {found}/{len(typos)}")

    minx, miny, maxx, maxy = places[places.place_type != "area"].total_bounds
    lon = rng.uniform(minx, maxx, args.points)
    lat = rng.uniform(miny, maxy, args.points)
    reverse_many(g, lon[:10], lat[:10], crs=4326)  # build the index outside the timing
    t = time.perf_counter()
    out = reverse_many(g, lon, lat, crs=4326)
    rv = _rate(args.points, time.perf_counter() - t)
    t = time.perf_counter()
    reverse_many(g, lon[:100_000], lat[:100_000], crs="GCJ-02")
    rv_gcj = _rate(100_000, time.perf_counter() - t)
    print(f"urbangrid reverse (bulk, WGS84): {rv:,.0f}/s   described "
          f"{out.description.notna().mean():.1%}")
    print(f"urbangrid reverse (bulk, GCJ-02 input): {rv_gcj:,.0f}/s")

    name = f"ug_bench_geocode_{int(time.time())}"
    with psycopg.connect(args.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        dsn = psycopg.conninfo.make_conninfo(args.dsn, dbname=name)
        store, _ = urbangrid.store.init_store(dsn)
        load_places(store, places)
        con = store.connection
        con.execute("SET search_path TO urbangrid, public")
        con.execute("ANALYZE urbangrid.place")
        query = ("SELECT place_id, name, similarity(name, %s) FROM urbangrid.place "
                 "WHERE valid_to IS NULL ORDER BY name <-> %s LIMIT 5")
        sample = [addresses[i] for i in rng.integers(0, len(addresses), args.pg_n)]
        t = time.perf_counter()
        hits = 0
        for a in sample:
            rows = con.execute(query, (a, a)).fetchall()
            hits += bool(rows) and rows[0][2] > 0.3
        pg = _rate(len(sample), time.perf_counter() - t)
        t = time.perf_counter()
        pg_hits = 0
        for a in typos:
            rows = con.execute(query, (a, a)).fetchall()
            pg_hits += bool(rows) and rows[0][2] > 0.3
        pg_typo = _rate(len(typos), time.perf_counter() - t)
        store.close()
    finally:
        with psycopg.connect(args.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                          .format(sql.Identifier(name)))
    print(f"pg_trgm top-5 (addresses): {pg:,.0f}/s   similarity > 0.3: {hits}/{len(sample)}")
    print(f"pg_trgm top-5 (POI typos): {pg_typo:,.0f}/s   similarity > 0.3: "
          f"{pg_hits}/{len(typos)}")
    print(f"ratio forward urbangrid / pg_trgm (addresses): {fw / pg:.1f}x")
    print(f"ratio forward urbangrid / pg_trgm (POI typos): {fw_typo / pg_typo:.1f}x")
    print(f"targets: forward {fw:,.0f}/s vs 5,000/s ({fw / 5000:.2f}x); "
          f"reverse {rv:,.0f}/s vs 100,000/s ({rv / 100000:.2f}x)")
    print(f"load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    for what, ours, peer, theirs in (
        ("forward geocoding, addresses (per s)", fw, "pg_trgm top-5, one query each", pg),
        ("forward geocoding, POI names with a typo (per s)", fw_typo, "pg_trgm top-5", pg_typo),
        ("reverse geocoding, WGS84 points (per s)", rv, "target 100,000/s", 100_000.0),
    ):
        print("RESULT " + json.dumps({
            "benchmark": "geocode", "what": what, "peer": peer, "mode": "warm",
            "statistic": "one run", "urbangrid_s": ours, "peer_s": theirs,
            "ratio": ours / theirs, "command": "python benchmarks/geocode.py"}))  # fmt: skip


if __name__ == "__main__":
    main()
