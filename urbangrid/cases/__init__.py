"""The case workflow (案件): the working-hours calendar and case indicators.

Case logs are read from files by :mod:`urbangrid.loaders.case_log`; this package turns
them into the standard's indicators and scores. It needs no street graph.
"""
