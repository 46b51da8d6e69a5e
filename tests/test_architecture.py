"""The import arrows of docs/architecture.md: a stage imports only the stages its table allows.

Every .py under the stage folders is parsed with ast; every import counts, at the top of a module
or inside a function (a lazy import hides no cycle), and so do importlib.import_module("...") and
__import__("...") with a literal name.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
STAGES = ("ingest", "index", "search", "ui", "bench")
# docs/architecture.md, "Allowed arrows": from -> the stages it may import.
ALLOWED = {
    "ingest": set(),
    "index": {"ingest"},
    "search": {"ingest", "index"},
    "ui": {"ingest", "index", "search", "bench"},
    "bench": {"ingest", "index", "search"},
}
# Single modules a stage may import from a stage it may not otherwise (docs/architecture.md):
# bench reads its settings through the one loader, and nothing else of ui/.
ALLOWED_MODULES = {"bench": {"ui", "ui.settings", "ui.settings.load_settings"}}
# Known wrong arrows, (file, imported module): none left. An entry that no longer occurs fails
# too, so the list cannot outlive its arrow.
KNOWN_WRONG: set[tuple[str, str]] = set()


def _module_of(path: Path) -> list[str]:
    parts = list(path.relative_to(PROJECT).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_modules(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file (or `source` as if it were that file),
    relative ones resolved against the file's package."""
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_of(path) if path.name == "__init__.py" else _module_of(path)[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            found += [(node.lineno, f"{name}.{a.name}") for a in node.names if name in STAGES]  # from ui import cli
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = ast.unparse(node.func)
            if func in ("importlib.import_module", "import_module", "__import__"):
                found.append((node.lineno, node.args[0].value))
    return found


def arrows() -> list[tuple[str, int, str, str, str]]:
    """(file, line, from stage, to stage, module) for every import of another stage."""
    out = []
    for stage in STAGES:
        for path in sorted((PROJECT / stage).rglob("*.py")):
            rel = path.relative_to(PROJECT).as_posix()
            for line, module in imported_modules(path):
                target = module.split(".")[0]
                if target in STAGES and target != stage:
                    out.append((rel, line, stage, target, module))
    return out


def test_the_table_here_is_the_table_in_the_architecture_document():
    text = (PROJECT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and ln.split("|")[1].strip() in STAGES]
    header = [c.strip() for c in next(ln for ln in text.splitlines() if ln.startswith("| from")).split("|")[2:-1]]
    assert len(rows) == len(STAGES)
    for row in rows:
        cells = [c.strip() for c in row.split("|")[1:-1]]
        allowed = {to for to, cell in zip(header, cells[1:]) if cell.startswith("yes")}
        assert allowed == ALLOWED[cells[0]], cells[0]


def test_every_stage_module_is_parsed():
    files = [p for stage in STAGES for p in (PROJECT / stage).rglob("*.py")]
    assert len(files) > 50 and all(imported_modules(p) is not None for p in files)
    assert any(arrow[2:4] == ("search", "index") for arrow in arrows())  # the walk sees real arrows


def test_no_import_points_the_wrong_way():
    wrong = [a for a in arrows() if a[3] not in ALLOWED[a[2]] and a[4] not in ALLOWED_MODULES.get(a[2], ())
             and (a[0], a[4]) not in KNOWN_WRONG]
    assert not wrong, "imports against docs/architecture.md:\n" + "\n".join(
        f"  {f}:{line}: {src} -> {dst} ({module})" for f, line, src, dst, module in wrong)


def test_each_known_wrong_arrow_still_exists():
    present = {(a[0], a[4]) for a in arrows()}
    gone = KNOWN_WRONG - present
    assert not gone, f"remove from KNOWN_WRONG, the arrow is gone: {sorted(gone)}"


@pytest.mark.parametrize("source,expected", [
    ("def f():\n    from ui.cli import main\n", ["ui.cli"]),
    ("import importlib\nimportlib.import_module('ui.app')\n", ["importlib", "ui.app"]),
    ("from . import runner\n", ["bench", "bench.runner"]),
    ("from ..ui import cli\n", ["ui", "ui.cli"]),
])
def test_lazy_string_and_relative_imports_are_seen(source, expected):
    probe = PROJECT / "bench" / "probe.py"  # never written: the source is parsed as if it were there
    assert [m for _, m in imported_modules(probe, source)] == expected
