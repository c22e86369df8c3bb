"""Steward's public namespace for people who extend it from their own package.

``steward.testing`` is the test kit for playbooks (see ``docs/testing.md``). The extension
API itself (``activities.actuators.registry``, ``workflows.playbook`` and the modules that
``docs/playbooks.md`` names) keeps its own import paths.
"""
