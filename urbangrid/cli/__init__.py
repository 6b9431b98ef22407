"""The ``urbangrid`` command line: one module per job, loaded when its command runs."""

from urbangrid.cli.main import main

__all__ = ["main"]
