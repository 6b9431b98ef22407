"""Spatial core: grids, codes, coordinate systems, the assignment index, geocoding, components."""
