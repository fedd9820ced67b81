"""The layout shows the architecture: ``data/`` → ``model/`` → ``app/``, imports one way, and
the app wing in small pieces."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_CLASS_LINES = 160  # "about 150": a class over it does more than one job


def _imports(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
    return out


def test_imports_go_one_way():
    for wing, banned in (("data", ("finescale.model", "finescale.app")),
                         ("model", ("finescale.app",))):
        for path in (ROOT / wing).rglob("*.py"):
            bad = [m for m in _imports(path) if m.startswith(banned)]
            assert not bad, (str(path.relative_to(ROOT)), bad)


def test_no_class_of_the_app_is_large():
    large = []
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_CLASS_LINES:
                    large.append((str(path.relative_to(ROOT)), node.name, n))
    assert not large, large
