"""Beyond one machine (超越单机): bulk assignment, loads and city-wide routing on Dask.

The same functions run in one process (``scheduler=None``), on a local Dask cluster
(``scheduler="local"``) or on any Dask cluster (``scheduler="tcp://host:8786"`` or a
``distributed.Client``). Dask is the optional ``scale`` extra.
"""

from __future__ import annotations

from urbangrid.scale.assign import AssignResult, ParquetSink, assign_points
from urbangrid.scale.routing import CityPlan, plan_areas

__all__ = ["AssignResult", "CityPlan", "ParquetSink", "assign_points", "plan_areas"]
