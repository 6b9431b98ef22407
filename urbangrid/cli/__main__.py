"""``python -m urbangrid.cli``: the same as the ``urbangrid`` command."""

from urbangrid.cli.main import main

main()
