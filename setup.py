"""Compiled kernels, built when the package is installed (``pip install -e .``).

Everything else about the package is in pyproject.toml. The point-in-polygon kernels
(``urbangrid/spatial/index/_pip.pyx``) and the GCJ-02/BD-09 formulas
(``urbangrid/spatial/crs/_kernels.pyx`` over ``_gcj.h``) are Cython compiled by the
system C compiler here, once, so no user waits for a compiler at run time and a
read-only install works. Parallel loops use POSIX threads (``_parallel.h``), not
OpenMP, so forked worker processes are safe.

``-ffp-contract=off``: no fused multiply-add may change a rounding. The exact
orientation tests (GEOS's double-double arithmetic) and the published GCJ-02 formula
depend on every operation being rounded as written.
"""

from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

FLAGS = ["-O3", "-ffp-contract=off", "-fno-math-errno", "-pthread"]
CRS_DIR = "urbangrid/spatial/crs"
HEADERS = [f"{CRS_DIR}/{h}" for h in ("_gcj.h", "_parallel.h", "_tmerc.h", "_sincos.h")]

extensions = [
    Extension(
        "urbangrid.spatial.index._pip",
        ["urbangrid/spatial/index/_pip.pyx"],
        include_dirs=[CRS_DIR],
        depends=HEADERS,
        extra_compile_args=FLAGS,
        extra_link_args=["-pthread"],
    ),
    Extension(
        "urbangrid.spatial.crs._kernels",
        [f"{CRS_DIR}/_kernels.pyx"],
        include_dirs=[CRS_DIR],
        depends=HEADERS,
        extra_compile_args=FLAGS,
        extra_link_args=["-pthread"],
    ),
    # Minimum-cost perfect matching with its dual (the certified T-join): C++ for the
    # blossoms' child lists.
    Extension(
        "urbangrid.routing.core._blossom",
        ["urbangrid/routing/core/_blossom.pyx"],
        include_dirs=["urbangrid/routing/core"],
        depends=["urbangrid/routing/core/_blossom.h"],
        language="c++",
        extra_compile_args=[*FLAGS, "-std=c++17"],
        extra_link_args=["-pthread"],
    ),
]

# Kernels owned by other packages (CARP local search, PostgreSQL COPY encoding) join the
# build as soon as their .pyx source exists, so each package adds its kernel without
# editing this file.
for module, source in [
    ("urbangrid.routing.core._carp", "urbangrid/routing/core/_carp.pyx"),
    ("urbangrid.store._copy", "urbangrid/store/_copy.pyx"),
]:
    if Path(source).exists():
        extensions.append(
            Extension(module, [source], extra_compile_args=FLAGS, extra_link_args=["-pthread"])
        )

# Generated C goes to build/, not next to the sources.
setup(
    ext_modules=cythonize(
        extensions, build_dir="build/cython", compiler_directives={"language_level": 3}
    )
)
