"""The arc-routing core (弧路径): T-joins, postman problems, rural postman, CARP, plan checks.

Pure graph algorithms on networkx graphs with a ``weight`` on every edge; nothing here
knows about cities, modes or stores.
"""
