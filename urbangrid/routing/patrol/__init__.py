"""Patrol planning (巡查规划): travel modes, street graphs per mode, one area's route,
revisit intervals and shifts, export, collector areas and staffing.
"""
