"""Release Console: watch software releases that run as Temporal workflows."""

__version__ = "0.1.0"
