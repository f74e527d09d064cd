"""Another team's release workflow, written from docs/query-contract.md alone: nothing here imports release_console."""
