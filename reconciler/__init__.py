"""A declarative reconciler for container hosts: TOML files in, a converged engine out."""

__version__ = "0.1.0"
