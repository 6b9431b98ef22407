"""Shipped field mappings (TOML), read by :func:`urbangrid.loaders.mapping.shipped_mappings`."""
