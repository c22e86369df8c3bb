"""Steward pack for hosts reached over SSH.

Actuators ``ssh.systemctl`` and ``ssh.run`` and the check ``ssh.unit_active``, registered
through the ``steward.actuators`` and ``steward.checks`` entry points of ``steward-ssh``.
Hosts, their credentials and the allow-listed commands come from the catalog file named by
``STEWARD_SSH_CATALOG`` (see :mod:`steward_ssh.catalog`).
"""
