"""Marks the pack folder as a package so its tests import as ``postgres.tests`` under pytest.

Without it the tests folder would import as ``tests``, the name of Steward's own test package.
"""
