"""The command line as a user meets it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pyogrio
import pytest
from click.testing import CliRunner

from urbangrid.cli.main import LazyGroup, db, main


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("db", "demo", "load", "components"):
        assert command in result.output
    # One command per job: files go into a store through `urbangrid load` only.
    assert "streets" not in [line.split()[0] for line in result.output.splitlines()
                             if line.startswith("  ")]
    loads = CliRunner().invoke(main, ["components", "--help"])
    assert loads.exit_code == 0 and "  load " not in loads.output


@pytest.mark.parametrize("group", [main, db], ids=["main", "db"])
def test_lazy_help_matches_each_command(group: LazyGroup) -> None:
    """The one-line help kept in cli.py is the command's own (so it cannot drift)."""
    ctx = click.Context(group)
    for name, (_, summary) in group.lazy.items():
        command = group.get_command(ctx, name)
        assert command is not None and command.name == name
        assert command.get_short_help_str(limit=500) == summary, name


def test_help_imports_no_feature_module() -> None:
    code = ("import sys; from urbangrid.cli.main import main\n"
            "try: main(['--help'])\nexcept SystemExit: pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('numba', 'osmnx', 'networkx', 'folium', 'rapidfuzz')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_db_init_gpkg_twice(tmp_path: Path) -> None:
    target = str(tmp_path / "x.gpkg")
    first = CliRunner().invoke(main, ["db", "init", target])
    assert first.exit_code == 0, first.output
    assert "applied migration(s) 1" in first.output
    second = CliRunner().invoke(main, ["db", "init", target])
    assert "up to date" in second.output


def test_db_init_postgis_twice(bare_pg_dsn: str) -> None:
    first = CliRunner().invoke(main, ["db", "init", bare_pg_dsn])
    assert first.exit_code == 0, first.output
    assert "applied migration(s)" in first.output
    second = CliRunner().invoke(main, ["db", "init", bare_pg_dsn])
    assert "up to date" in second.output
    assert "urbangrid@" in second.output and "urbangrid:urbangrid" not in second.output


def test_bad_store_is_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["db", "info", str(tmp_path / "missing" / "x.gpkg")])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "Traceback" not in result.output


@pytest.mark.parametrize(("target", "server", "shown"), [
    ("postgresql://ug:s3cret@localhost:5432/city", True, "postgresql://ug@localhost:5432/city"),
    ("postgres://ug@db/city?password=s3cret&sslmode=require", True,
     "postgres://ug@db/city?password=***&sslmode=require"),
    ("dbname=city user=ug password=s3cret host=db", True,
     "dbname=city user=ug password=*** host=db"),
    ("host=db password='s3 cret' dbname=city", True, "host=db password=*** dbname=city"),
    ("district.gpkg", False, "district.gpkg"),
    ("dbname=x.gpkg", False, "dbname=x.gpkg"),
    ("gis://district.gpkg", False, "gis://district.gpkg"),
])
def test_one_rule_for_servers_and_no_password_shown(target: str, server: bool,
                                                    shown: str) -> None:
    """cli/stores.is_server is urbangrid.connect's rule (tested without a server), and
    describe() is what messages show of a target."""
    from urbangrid.cli.stores import describe, is_server

    assert is_server(target) is server
    assert describe(target) == shown and "s3cret" not in describe(target)


def test_a_key_value_dsn_is_a_server_and_its_password_stays_hidden(pg_admin_dsn: str) -> None:
    # `plan "dbname=… host=…"` said "no file at that path" (the CLI knew only URLs as servers)
    import psycopg

    dsn = psycopg.conninfo.make_conninfo(pg_admin_dsn, dbname="ug_no_such_db_h36")
    password = psycopg.conninfo.conninfo_to_dict(dsn).get("password")
    res = CliRunner().invoke(main, ["plan", dsn])
    assert res.exit_code == 1, res.output
    assert res.output.startswith("error: cannot connect to PostgreSQL")
    assert "no file at that path" not in res.output
    assert not password or f"password={password}" not in res.output


def test_output_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`urbangrid db info STORE | head -1`: the reader leaves early; that is no error (it
    printed "error: Broken pipe; check the path and its permissions")."""
    store = str(tmp_path / "s.gpkg")
    assert CliRunner().invoke(main, ["db", "init", store]).exit_code == 0
    with subprocess.Popen([sys.executable, "-m", "urbangrid.cli.main", "db", "info", store],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # closed before the command writes: its first line meets EPIPE
        err = proc.stderr.read().decode()
    assert err == "", err


def test_demo_writes_a_geopackage(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "summary" in result.output
    layers = dict(pyogrio.list_layers(tmp_path / "demo.gpkg"))
    assert layers["street_centreline"] == "LineString"
    streets = pyogrio.read_info(tmp_path / "demo.gpkg", layer="street_centreline")
    assert streets["features"] > 500
    admin = pyogrio.read_dataframe(tmp_path / "demo.gpkg", layer="admin_area")
    assert admin["level"].value_counts()["community"] == 678


def test_load_osm_streets_twice_changes_nothing(tmp_path: Path) -> None:
    """`load streets` takes an OSM extract too (upsert by edge id), idempotent across
    processes: osmnx's merged-tag order varies with the hash seed."""
    import os

    from urbangrid.data import data_path

    target = str(tmp_path / "x.gpkg")
    osm = str(data_path("osm/beijing_haidian_wudaokou.osm.bz2"))
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-m", "urbangrid.cli.main", "load", "streets", osm,
             "--store", target],
            capture_output=True, text=True, env=env, check=True,
        )
        outputs.append(done.stdout)
    assert " new, 0 changed, 0 unchanged" in outputs[0], outputs
    assert " 0 new, 0 changed," in outputs[1], outputs


def test_load_osm_streets_refuses_survey_options(tmp_path: Path) -> None:
    from urbangrid.data import data_path

    osm = str(data_path("osm/beijing_haidian_wudaokou.osm.bz2"))
    res = CliRunner().invoke(main, ["load", "streets", osm, "--store",
                                    str(tmp_path / "x.gpkg"), "--dry-run"])
    assert res.exit_code == 2 and "--dry-run: for survey files" in res.output


def test_grids_generate_validate_diff(tmp_path: Path) -> None:
    from urbangrid.data import data_path

    store = str(tmp_path / "g.gpkg")
    osm = str(data_path("osm/beijing_haidian_wudaokou.osm.bz2"))
    gen = CliRunner().invoke(main, ["grids", "generate", store, "--osm", osm, "--version", "v1"])
    assert gen.exit_code == 0, gen.output
    assert "unit grids" in gen.output and "EPSG:4548" in gen.output  # CGCS2000 GK zone 39
    # the grids are cut from the file's streets; plan and route read the store's: say so
    assert f"created the store {store}" in gen.stderr
    assert "holds no streets yet" in gen.stdout and "urbangrid load streets" in gen.stdout
    assert f"--store {store}`" in gen.stdout  # the command to paste names the store
    for wrong in ("qa.geojson", "nowhere/qa.gpkg"):  # a GeoPackage named .geojson was written
        bad = CliRunner().invoke(main, ["grids", "validate", store, "--out",
                                        str(tmp_path / wrong)])
        assert bad.exit_code == 2 and "--out" in bad.output, bad.output
    assert not (tmp_path / "qa.geojson").exists()
    qa = CliRunner().invoke(main, ["grids", "validate", store, "--out", str(tmp_path / "qa.gpkg")])
    assert qa.exit_code == 0, qa.output
    assert (tmp_path / "qa.csv").exists()
    same = CliRunner().invoke(main, ["grids", "diff", store, "v1", "v1"])
    assert same.exit_code == 0, same.output
    assert same.output.startswith("0 grid change(s)")


def test_grids_generate_from_a_drive_only_extract(tmp_path: Path) -> None:
    """An extract cut to the drivable network (no footways) still gives grids."""
    import bz2
    import xml.etree.ElementTree as ET

    from urbangrid.data import data_path
    from urbangrid.spatial.grids.generate import INTERNAL_WAY_HIGHWAYS

    root = ET.fromstring(bz2.decompress(data_path("osm/beijing_haidian_wudaokou.osm.bz2")
                                        .read_bytes()))
    for way in root.findall("way"):
        tags = {t.get("k"): t.get("v") for t in way.findall("tag")}
        if tags.get("highway") in INTERNAL_WAY_HIGHWAYS:
            root.remove(way)
    drive = tmp_path / "drive.osm"
    ET.ElementTree(root).write(drive, encoding="utf-8", xml_declaration=True)
    store = str(tmp_path / "g.gpkg")
    gen = CliRunner().invoke(main, ["grids", "generate", store, "--osm", str(drive),
                                    "--version", "v1", "-q"])
    assert gen.exit_code == 0, gen.output
    assert "unit grids" in gen.output


def test_grids_generate_uses_the_streets_the_store_holds(tmp_path: Path) -> None:
    from urbangrid.data import data_path
    from urbangrid.demo.inputs import osm_extract_inputs

    osm = str(data_path("osm/beijing_haidian_wudaokou.osm.bz2"))
    comm = tmp_path / "communities.gpkg"
    codes = [f"110108001{k:03d}" for k in range(1, 100)]
    osm_extract_inputs(osm, codes).communities.to_file(comm)
    store = str(tmp_path / "g.gpkg")
    args = ["grids", "generate", store, "--communities", str(comm), "--version", "v1", "-q"]
    none = CliRunner().invoke(main, args)
    assert none.exit_code == 2 and "--streets FILE" in none.output, none.output
    assert not Path(store).exists()  # nothing created
    assert CliRunner().invoke(main, ["load", "streets", osm, "--store", store]).exit_code == 0
    gen = CliRunner().invoke(main, args)
    assert gen.exit_code == 0, gen.output
    assert "unit grids" in gen.output


def test_grids_generate_reads_gzipped_files_and_names_unreadable_ones(tmp_path: Path) -> None:
    """Cambridge's streets as the city publishes them (.geojson.gz) with one neighbourhood
    given a 12-digit code; a file that is no vector file is one line, not an internal
    DataSourceError (found generating Cambridge's grids as a new user)."""
    import geopandas as gpd

    data = Path(__file__).parent / "data" / "cambridge"
    hoods = gpd.read_file(f"/vsigzip/{data / 'neighborhoods.geojson.gz'}")
    one = hoods.iloc[[0]].assign(community_code="990101001001")
    comm = tmp_path / "hood.geojson"
    one.to_file(comm)
    store = str(tmp_path / "g.gpkg")
    args = ["grids", "generate", store, "--communities", str(comm), "--version", "v1", "-q"]
    streets = str(data / "street_centerlines.geojson.gz")
    gen = CliRunner().invoke(main, [*args, "--streets", streets])
    assert gen.exit_code == 0, gen.output
    assert "unit grids" in gen.output and "EPSG:32619" in gen.output
    junk = tmp_path / "streets.geojson.gz"
    junk.write_bytes(b"not gzip")
    bad = CliRunner().invoke(main, [*args, "--version", "v2", "--streets", str(junk)])
    assert bad.exit_code == 1, bad.output
    assert bad.output.startswith(f"error: {junk}: cannot read street centrelines: ")
    assert "internal error" not in bad.output and len(bad.output.strip().splitlines()) == 1


def _haidian_survey(tmp_path: Path) -> Path:
    """The bundled Haidian street furniture as a contractor's survey GeoPackage."""
    import geopandas as gpd

    from urbangrid.loaders.osm_components import read_bundled_components
    from urbangrid.spatial.components.codes import demo_profile

    records, _ = read_bundled_components(demo_profile(), ("osm_haidian",))
    survey = gpd.GeoDataFrame({
        "小类代码": records["subclass_code"].astype(str), "部件名称": records["name"],
        "部件状态": "好", "数据来源": "实测", "来源编号": records["source"].astype(str),
    }, geometry=records.geometry.values, crs="EPSG:4326")
    path = tmp_path / "survey.gpkg"
    pyogrio.write_dataframe(survey, path, layer="部件")
    return path


def test_load_components_and_stats(tmp_path: Path) -> None:
    """Components go in through `load components` (once `components load` too) and
    `components stats` counts them."""
    store = str(tmp_path / "c.gpkg")
    args = ["load", "components", str(_haidian_survey(tmp_path)), "--store", store,
            "--admin-code", "110108"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "282 added" in first.output
    again = CliRunner().invoke(main, args)
    assert "0 added, 0 changed, 0 moved, 0 removed, 282 unchanged" in again.output
    stats = CliRunner().invoke(main, ["components", "stats", store])
    assert stats.exit_code == 0, stats.output
    assert "道路交通类    235" in stats.output


@pytest.mark.parametrize("args", [
    ["components", "stats", "{tmp}/missing/x.gpkg"],
    ["locate", "{tmp}/empty.gpkg", "116.3", "39.99"],
    ["grids", "diff", "{tmp}/empty.gpkg", "v1", "v2"],
    ["staffing", "{tmp}/empty.gpkg"],
    ["solve", "carp", "{tmp}/garbage.dat"],
    ["load", "streets", "{tmp}/garbage.osm", "--store", "{tmp}/empty.gpkg"],
], ids=lambda a: " ".join(a[:2]))
def test_errors_are_one_line_never_a_traceback(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "garbage.dat").write_text("not a CARPLIB instance\n")
    (tmp_path / "garbage.osm").write_text("<osm><way")
    CliRunner().invoke(main, ["db", "init", str(tmp_path / "empty.gpkg")])
    argv = [a.format(tmp=tmp_path) for a in args]
    done = subprocess.run([sys.executable, "-m", "urbangrid.cli.main", *argv],
                          capture_output=True, text=True, check=False,
                          env={**__import__("os").environ, "URBANGRID_DEBUG": "0"})
    assert done.returncode in (1, 2), done
    assert "Traceback" not in done.stderr + done.stdout
    last = done.stderr.strip().splitlines()[-1]
    # failures are "error: …" whoever raised them, usage errors (exit 2) too
    assert last.startswith("error: "), done.stderr


def test_solve_postman_and_carp(tmp_path: Path) -> None:
    from urbangrid.data import data_path

    graph = str(data_path("networks/shenzhen_futian_osmnx_all.graphml.bz2"))
    out = tmp_path / "walk.csv"
    res = CliRunner().invoke(main, ["solve", "postman", graph, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "cost 284,594.1" in res.output and "proven optimal" in res.output
    assert out.read_text().startswith("route,seq,u,v,key,served")
    dat = str(Path(__file__).parent / "data" / "carp" / "gdb1.dat")
    res = CliRunner().invoke(main, ["solve", "carp", dat, "--time-limit", "2", "--seed", "1"])
    assert res.exit_code == 0, res.output
    assert "feasible: True" in res.output


def test_solve_postman_reads_bz2_without_leftovers_and_names_osm_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # each .graphml.bz2 left its decompressed copy in /tmp; an OSM extract was "internal
    # error (NetworkXError)"; a missing --out folder failed after the solve
    import tempfile

    from urbangrid.data import data_path

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    graph = str(data_path("networks/shenzhen_futian_osmnx_all.graphml.bz2"))
    res = CliRunner().invoke(main, ["solve", "postman", graph, "--out",
                                    str(tmp_path / "nowhere" / "w.csv")])
    assert res.exit_code == 2 and "the folder" in res.output and "cost" not in res.output
    assert CliRunner().invoke(main, ["solve", "postman", graph]).exit_code == 0
    assert list(scratch.iterdir()) == []
    osm = str(data_path("osm/beijing_haidian_wudaokou.osm.bz2"))
    res = CliRunner().invoke(main, ["solve", "postman", osm])
    assert res.exit_code == 1 and res.output.startswith(f"error: {osm}: not a readable GraphML")
    assert "urbangrid route" in res.output and "internal error" not in res.output


def test_locate_point_and_csv(tmp_path: Path) -> None:
    from urbangrid.data import data_path

    store = str(tmp_path / "g.gpkg")
    osm = str(data_path("osm/beijing_haidian_wudaokou.osm.bz2"))
    assert CliRunner().invoke(main, ["grids", "generate", store, "--osm", osm,
                                     "--version", "v1"]).exit_code == 0
    one = CliRunner().invoke(main, ["locate", store, "--crs", "GCJ-02", "116.3262", "39.9928"])
    assert one.exit_code == 0, one.output
    assert "grid_code\t990101001" in one.output
    pts = tmp_path / "pts.csv"
    pts.write_text("id,lon,lat\n1,116.3262,39.9928\n2,0,0\n3,not a number,1\n")
    res = CliRunner().invoke(main, ["locate", store, "--crs", "GCJ-02", "--csv", str(pts),
                                    "-o", str(tmp_path / "out.csv")])
    assert res.exit_code == 4, res.output  # written; row 3 is not a number
    import pandas as pd

    out = pd.read_csv(tmp_path / "out.csv", dtype=str)
    assert out["grid_code"].notna().tolist() == [True, False, False]


def test_admin_load_codes_and_boundaries(tmp_path: Path) -> None:
    """`admin load`: the Haidian codes with the district polygon; again changes nothing."""
    from urbangrid.data import data_path

    store = str(tmp_path / "a.gpkg")
    args = ["admin", "load", store,
            "--divisions", str(data_path("codes/haidian_110108_divisions_2023.csv")),
            "--boundaries", str(data_path("boundaries/haidian_110108_wgs84.geojson")),
            "--code-column", "district_adcode"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "708 admin areas (1 district, 29 street, 678 community), 1 with a boundary: " \
           "708 new" in first.output
    again = CliRunner().invoke(main, args)
    assert "0 new, 0 changed, 708 unchanged" in again.output, again.output
    areas = pyogrio.read_dataframe(store, layer="admin_area")
    district = areas[areas["code"] == "110108"]
    assert district["name"].tolist() == ["海淀区"] and not district.geometry.iloc[0].is_empty


def test_admin_load_bad_input_is_one_line(tmp_path: Path) -> None:
    from urbangrid.data import data_path

    bad = tmp_path / "codes.csv"
    bad.write_text("code,name,level,parent_code\n110108,海淀区,district,1101\n"
                   "11010800,坏,street,110108\n", encoding="utf-8")
    store = tmp_path / "a.gpkg"
    res = CliRunner().invoke(main, ["admin", "load", str(store), "--divisions", str(bad)])
    assert res.exit_code == 1 and "row 3" in res.output and "9 digits" in res.output
    assert not store.exists()  # nothing half-written
    res = CliRunner().invoke(main, [
        "admin", "load", str(store),
        "--divisions", str(data_path("codes/haidian_110108_divisions_2023.csv")),
        "--boundaries", str(data_path("boundaries/haidian_110108_wgs84.geojson"))])
    assert res.exit_code == 1 and "no column 'code'" in res.output and "--code-column" \
        in res.output and not store.exists()


@pytest.mark.parametrize("command", [["geocode"], ["reverse"], ["gazetteer", "load"],
                                     ["grids", "generate"], ["grids", "diff"],
                                     ["admin", "load"], ["scale", "assign"]],
                         ids=" ".join)
def test_command_help_is_cheap(command: list[str]) -> None:
    """A command's --help loads click and its own module, not pandas or geopandas."""
    code = ("import sys; from urbangrid.cli.main import main\n"
            f"try: main({[*command, '--help']!r})\nexcept SystemExit: pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pandas', 'geopandas', 'pyproj', 'numba', 'osmnx', 'folium')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout[-300:]


def test_admin_load_gcj02_boundaries(tmp_path: Path) -> None:
    """A GCJ-02 boundary file claiming WGS 84 (Amap, DataV) is put back with --boundaries-crs."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from urbangrid.data import data_path
    from urbangrid.spatial.crs.transform import wgs84_to_gcj02

    wgs = gpd.read_file(data_path("boundaries/haidian_110108_wgs84.geojson"))
    shifted = wgs.copy()
    shifted.geometry = shapely.transform(
        wgs.geometry.to_numpy(), lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1])))
    shifted.to_file(tmp_path / "amap.geojson", driver="GeoJSON")  # says WGS 84, is GCJ-02
    store = tmp_path / "a.gpkg"
    res = CliRunner().invoke(main, [
        "admin", "load", str(store),
        "--divisions", str(data_path("codes/haidian_110108_divisions_2023.csv")),
        "--boundaries", str(tmp_path / "amap.geojson"), "--code-column", "district_adcode",
        "--boundaries-crs", "GCJ-02"])
    assert res.exit_code == 0, res.output
    got = gpd.read_file(store, layer="admin_area").set_index("code").loc[["110108"]]
    metric = "EPSG:4548"
    gap_m = got.to_crs(metric).geometry.iloc[0].centroid.distance(
        wgs.to_crs(metric).geometry.iloc[0].centroid)
    assert gap_m < 1.0  # without --boundaries-crs it is several hundred metres


def test_mistyped_store_to_read_is_named(tmp_path: Path) -> None:
    """`grids validate` on a path with no file says so (not "load a gazetteer"), creates
    nothing."""
    res = CliRunner().invoke(main, ["grids", "validate", str(tmp_path / "demmo.gpkg"),
                                    "--out", str(tmp_path / "q.gpkg")])
    assert res.exit_code == 1
    assert "demmo.gpkg (no file at that path" in res.output
    assert "grids generate" in res.output and "gazetteer" not in res.output
    assert not (tmp_path / "demmo.gpkg").exists() and not (tmp_path / "q.gpkg").exists()


def test_gazetteer_load_bad_boundaries_create_nothing(tmp_path: Path,
                                                      shenzhen_names: Path) -> None:
    """Boundary codes matching no division code: one line, no store; a good load into a
    new path says it created the store."""
    from urbangrid.data import data_path

    divisions = str(data_path("codes/haidian_110108_divisions_2023.csv"))
    names = shenzhen_names
    store = tmp_path / "gaz.gpkg"
    bad = CliRunner().invoke(main, ["gazetteer", "load", str(store), "--divisions", divisions,
                                    "--boundaries", str(names), "--boundary-code-column", "qh"])
    assert bad.exit_code == 1 and "none of the 1 codes in column 'qh'" in bad.output
    assert "--boundary-code-column" in bad.output and not store.exists()
    good = CliRunner().invoke(main, ["gazetteer", "load", str(store), "--divisions", divisions])
    assert good.exit_code == 0 and f"created the store {store}" in good.stderr


def test_geocode_gbk_csv_contradictions_and_other_streets(tmp_path: Path) -> None:
    """A gazetteer of Haidian's division codes and one door plate: a GBK address file is
    read (and said), contradictory areas halve the score, an unknown road exits 3."""
    from tests.test_cli_geocode_zh import haidian_gazetteer

    store = haidian_gazetteer(tmp_path)
    good = CliRunner().invoke(main, ["geocode", store, "北京市海淀区成府路55号", "--lang", "en"])
    assert good.exit_code == 0 and good.output.startswith("plate\t")
    odd = CliRunner().invoke(main, ["geocode", store, "广东省北京市海淀区成府路55号",
                                    "--lang", "en"])
    assert odd.exit_code == 0 and odd.output.startswith("plate\t")
    score = float(good.output.split("\t")[1])
    assert float(odd.output.split("\t")[1]) == pytest.approx(score / 2, abs=0.01)
    assert "contradictory areas: 北京市 is not in 广东省" in odd.output
    none = CliRunner().invoke(main, ["geocode", store, "海淀区清华东路", "--lang", "en"])
    assert none.exit_code == 3 and "清华东路" in none.output
    addresses = tmp_path / "a.csv"
    addresses.write_bytes("id,address\n1,北京市海淀区成府路55号\n".encode("gbk"))
    res = CliRunner().invoke(main, ["geocode", store, "--csv", str(addresses), "-q"])
    assert res.exit_code == 0, res.output
    assert "read as GBK" in res.stderr and "成府路55号,plate" in res.stdout
    ragged = tmp_path / "r.csv"
    ragged.write_text("id,address\n1,a,b\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["geocode", store, "--csv", str(ragged), "-q"])
    assert res.exit_code == 1 and "line 2 has 3 fields" in res.output
