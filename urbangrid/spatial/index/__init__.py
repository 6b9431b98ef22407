"""The assignment engine (网格定位): which unit grid covers a point, for one point or millions.

* :mod:`~urbangrid.spatial.index.engine` — :class:`GridIndex`, built, saved and opened;
* :mod:`~urbangrid.spatial.index.sql` — the same rule as SQL functions in PostGIS;
* ``_pip`` — the compiled point-in-polygon kernels.
"""
