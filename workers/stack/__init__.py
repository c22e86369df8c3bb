"""The local stack behind ``steward up``: what to run, preflight checks, and the process runner."""
