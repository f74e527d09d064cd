"""The NiceGUI console: one shared page frame, pages as routers."""
