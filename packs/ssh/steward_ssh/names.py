"""Patterns of the names that params carry (plain strings: safe in workflow code too)."""

# Catalog names of hosts and commands appear in params and policy targets: keep them plain.
NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,100}$"

# systemd unit names: letters, digits and ":-_.\@", never a leading "-" (read as an option).
UNIT_PATTERN = r"^[A-Za-z0-9:_.@\\][A-Za-z0-9:_.@\\-]{0,254}$"
