"""Helpers shared by tests: real servers on free ports."""
