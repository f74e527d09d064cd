"""Temporal workflows: the reference ReleaseWorkflow and the accounts workflow."""
