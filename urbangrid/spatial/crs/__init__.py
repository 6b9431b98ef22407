"""Coordinate systems (坐标系): EPSG/WKT through pyproj, GCJ-02 and BD-09, one metric-CRS rule.

* :mod:`~urbangrid.spatial.crs.transform` — names, checks and transforms, one point or arrays;
* :mod:`~urbangrid.spatial.crs.metric` — the metric CRS every measuring function projects to;
* :mod:`~urbangrid.spatial.crs.faults` — row-by-row coordinate checks (xy_faults);
* ``_kernels`` — the compiled per-point formulas.
"""
