"""``python -m release_console``."""

from .cli import main

main()
