"""What both outputs send from a mirror, beside the read path: the REST answers and the export as bytes, built with
orjson straight from the mirror's domain tree, once per mirror version, and shared by every reader.

release.py: a release with its hierarchy, one entity, a page of children (REST). export.py: every entity as CSV or
JSON, streamed (REST's ``/export`` and the UI's download buttons). Builds run in slices through the mirror's own
answer cache (readpath/answer_cache.py); only the freshness fields (``as_of``, ``stale``), which change with every
poll, are added per request.
"""
