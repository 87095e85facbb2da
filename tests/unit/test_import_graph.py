"""The app's modules import one another in one direction only (scripts/import_cycles.py)."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "import_cycles.py"


def _script():
    spec = importlib.util.spec_from_file_location("import_cycles", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_module_imports_itself_through_others():
    script = _script()
    assert script.cycles(script.graph()) == []


def test_a_circle_is_found_even_through_an_import_inside_a_function():
    script = _script()
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert script.cycles(edges) == [["a", "b", "c"]]
