"""The administrative hierarchy (行政区划层级) and the 属地/属主 responsibility rule.

:mod:`~urbangrid.spatial.admin.hierarchy` — a point's unit grid, work grid, community,
street and district in one call, and the unit responsible for a case.
"""
