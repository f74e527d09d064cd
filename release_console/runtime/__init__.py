"""The running server's own parts: the audit writer, metrics, the SIGTERM drain, shared state in Redis, loop lag,
the token cache, client addresses and security headers (core/ keeps the foundations they stand on)."""
