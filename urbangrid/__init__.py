"""urbangrid: digital city management (数字城管) GIS.

Unit grids, city components, fast point-to-grid assignment and patrol routes,
stored in PostGIS (the system of record) or an embedded GeoPackage.

Examples
--------
>>> import urbangrid
>>> urbangrid.__version__
'0.1.0'
"""

from urbangrid.errors import UrbangridError
from urbangrid.store import Store, connect

__version__ = "0.1.0"

__all__ = ["Store", "UrbangridError", "__version__", "connect"]
