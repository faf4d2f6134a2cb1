"""`reconciler import`: desired-state TOML from Compose files and from running containers."""
