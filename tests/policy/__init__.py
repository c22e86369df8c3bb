"""Tests of the governance policy as a product: CLI, engines, facts, runtime state, workflows."""
