"""The agent's control API: one HTTP API on a unix socket (TCP only with TLS client
certificates), and the client the CLI's commands use (DESIGN section 10, docs/api.md)."""
