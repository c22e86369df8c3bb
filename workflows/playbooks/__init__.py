"""The shipped playbooks. They register through entry points (pyproject.toml) like any plugin's.

The playbooks in use, by name, are ``workflows.plugins.PLAYBOOKS``.
"""
