"""Cross-cutting pieces: configuration, security, logging."""
