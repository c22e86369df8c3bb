"""Kubernetes actuators and checks on the lightkube client (see docs/kubernetes.md).

:mod:`.client` reaches a catalog service's cluster and maps API errors to Steward's retry
rules, :mod:`.diff` compares objects for dry-run diffs, and the actuators live by what they
change: :mod:`.workloads` (scale, rollout restart, resources), :mod:`.hpa`, :mod:`.pods`; the
checks are in :mod:`.checks`.
"""
