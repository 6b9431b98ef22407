"""The ``urbangrid`` command line: one module per job, loaded when its command runs.

The entry point is :func:`urbangrid.cli.main.main` (``urbangrid`` or
``python -m urbangrid.cli``); this package imports nothing itself, so
``python -m urbangrid.cli.main`` runs without a double-import warning.
"""
