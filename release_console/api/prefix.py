"""Where the REST API lives: every route, the error handlers and the docs share this prefix."""

API_PREFIX = "/api/v1"
