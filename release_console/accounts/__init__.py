"""Accounts: the cached view of AccountsWorkflow, login with throttling, and first-admin bootstrap."""
