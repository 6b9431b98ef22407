"""City components (城市部件): code tables, identifiers and records.

* :mod:`~urbangrid.spatial.components.codes` — classes, subclasses, statuses, city profiles;
* :mod:`~urbangrid.spatial.components.ids` — 16/17-digit component IDs (标识码);
* :mod:`~urbangrid.spatial.components.records` — records in a store: load, find, nearest,
  stats.
"""
