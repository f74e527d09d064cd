"""Start the Release Console: ``python main.py`` (embedded Temporal unless TEMPORAL_ADDRESS is set)."""

from release_console.cli import serve

if __name__ in {"__main__", "__mp_main__"}:
    serve()
