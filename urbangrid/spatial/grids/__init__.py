"""Unit grids (单元网格) and work grids (工作网格): generate, validate, code, group, version.

* :mod:`~urbangrid.spatial.grids.generate` — grids from streets and community polygons;
* :mod:`~urbangrid.spatial.grids.validate` — topology QA of a grid layer;
* :mod:`~urbangrid.spatial.grids.codes` — the 14/15-digit grid codes (GB/T 30428.1);
* :mod:`~urbangrid.spatial.grids.work` — work grids grouped by workload;
* :mod:`~urbangrid.spatial.grids.versions` — grid versions loaded into a store and diffed.
"""
