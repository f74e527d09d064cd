"""Every ``Any`` in release_console says why: a ``# Any: <reason>`` comment on its line or the line above.

``Any`` switches the type checker off for a value, so it is kept only where a library forces it (an untyped
library, a signature typed ``Any``, JSON handed on as is) and the reason stays next to it. Counted: the name ``Any``
(or ``typing.Any``) in code (annotations, aliases, casts), not in imports, strings or comments.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "release_console"
REASON = "# Any:"


def _any_lines(tree: ast.AST) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(tree)
        if (isinstance(node, ast.Name) and node.id == "Any") or (isinstance(node, ast.Attribute) and node.attr == "Any")
    ]


def _reason_lines(source: str) -> set[int]:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {t.start[0] for t in tokens if t.type == tokenize.COMMENT and t.string.startswith(REASON)}


def unexplained(source: str) -> list[int]:
    """The lines of ``source`` with an ``Any`` that has no reason."""
    reasons = _reason_lines(source)
    return [line for line in sorted(set(_any_lines(ast.parse(source)))) if not {line, line - 1} & reasons]


def test_every_any_has_a_reason() -> None:
    missing = [f"{path.relative_to(PACKAGE.parent)}:{line}" for path in sorted(PACKAGE.rglob("*.py"))
               for line in unexplained(path.read_text(encoding="utf-8"))]
    assert not missing, "Any without a '# Any: <reason>' comment on its line or the line above:\n" + "\n".join(missing)


def test_a_missing_reason_is_found() -> None:
    source = (
        "from typing import Any\n"
        "import typing\n"
        "a: Any = 1  # Any: a reason\n"
        "# Any: the reason of the next line\n"
        "b: list[Any] = []\n"
        "c: dict[str, Any] = {}  # a comment that gives no reason\n"
        "d: typing.Any = '''Any in a string'''\n"
    )
    assert unexplained(source) == [6, 7]
