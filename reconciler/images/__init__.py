"""Images: registries, credentials, pull policies, builds and retention."""
