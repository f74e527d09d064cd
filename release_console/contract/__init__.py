"""The wire contract of a release workflow (see docs/query-contract.md), shared by the workflow and the read path.

Any workflow, in any SDK, that answers these queries with these shapes appears in the console.

- ``names``: workflow type, query and update names, search attributes, memo key
- ``limits``: page sizes and byte budgets of query results
- ``cursors``: the opaque ``o:<n>`` offset cursors
- ``shapes``: the JSON shapes (dataclasses) of arguments and results
- ``views``: the domain tree turned into query results (and the memo summary)

Everything here is deterministic and free of I/O: the workflow imports it inside Temporal's sandbox.
"""
