"""The fault campaign against `reconciler run` on the real engine: `make chaos` (docs/chaos.md)."""
