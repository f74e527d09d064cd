"""Notifications: events worked out once from the read path, fanned out to Apprise channels by Temporal workflows."""
