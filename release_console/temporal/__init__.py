"""Temporal plumbing: connecting, the data converter, the worker and the embedded dev server."""
