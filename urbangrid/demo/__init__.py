"""The demo (演示): the main job on bundled real data, and the fixtures it is made from.

Only the command line and the tests import this package; library modules never do.
"""

from urbangrid.demo.run import run_demo

__all__ = ["run_demo"]
