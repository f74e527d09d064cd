"""The read path: Temporal → gateway → shared mirrors and release list → REST and UI."""
