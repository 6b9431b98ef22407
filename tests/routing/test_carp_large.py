"""Tang et al.'s large CARP files (Hefei, Beijing) read as they are: vertices from 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from urbangrid.errors import DataFileError
from urbangrid.routing.core.carp import read_instance, solve

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
