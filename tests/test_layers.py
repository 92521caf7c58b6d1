"""How udl_core's modules depend on each other: one way, no cycles, never on the GUI."""

from __future__ import annotations

import subprocess
import sys

from import_graph import ROOT, cycles, imports_graph


def test_udl_core_never_names_udl_gui():
    """Not even in an import string or a docstring: the GUI adds its command through an entry point."""
    named = [str(path.relative_to(ROOT)) for path in sorted((ROOT / "udl_core").rglob("*.py"))
             if "udl_gui" in path.read_text()]
    assert named == []


def test_udl_gui_is_still_a_udl_subcommand():
    listing = subprocess.run([sys.executable, "-m", "udl_core", "--help"], capture_output=True, text=True,
                             cwd=ROOT, check=True).stdout
    assert "gui" in listing.split("positional arguments:")[1]
    usage = subprocess.run([sys.executable, "-m", "udl_core", "gui", "--help"], capture_output=True, text=True,
                           cwd=ROOT)
    assert usage.returncode == 0, usage.stderr
    assert usage.stdout.startswith("usage: udl gui [-h] [path]")


def test_the_commands_import_their_options_from_a_leaf_not_from_cli():
    graph = imports_graph()
    back = sorted(module for module, targets in graph.items()
                  if "udl_core.cli" in targets and module != "udl_core.__main__")
    assert back == []
    assert {"udl_core.cli_data", "udl_core.cli_train", "udl_core.cli_check"} <= set(graph)
    assert not [m for m in graph if m.startswith("udl_core.training.cli")]


def test_no_import_cycle_among_udl_core_modules_outside_formats():
    outside = [cycle for cycle in cycles(imports_graph()) if not all(m.startswith("udl_core.formats.") for m in cycle)]
    assert outside == []


def test_no_import_cycle_in_formats():
    assert cycles(imports_graph()) == []


def test_the_import_graph_sees_lazy_imports(tmp_path, monkeypatch):
    """A cycle closed by an import inside a function is still a cycle."""
    import import_graph

    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("def f():\n    from pkg.a import thing\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n")
    monkeypatch.setattr(import_graph, "ROOT", tmp_path)
    graph = import_graph.imports_graph("pkg")
    assert import_graph.cycles(graph) == [["pkg.a", "pkg.b"]]
    assert graph["pkg.c"] == set()


def test_only_mlx_runtime_imports_mlx():
    """MLX comes in through one module, which picks the BLAS right before it imports mlx.core."""
    import ast

    importers = []
    for path in sorted((ROOT / "udl_core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(name == "mlx" or name.startswith("mlx.") for name in names):
                importers.append(str(path.relative_to(ROOT)))
    assert sorted(set(importers)) == ["udl_core/mlx_runtime.py"]


def test_no_module_imports_a_private_name_from_another():
    """What modules share is public (formats/bounded.py, sampling.py, ...), not reached by a leading underscore."""
    import ast

    private = []
    for path in sorted((ROOT / "udl_core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("udl_core"):
                private += [f"{path.relative_to(ROOT)}: {node.module}.{alias.name}" for alias in node.names
                            if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert private == []


def test_each_reader_registers_its_sizer_with_it():
    """One registry: the estimate asks a reader's spec for its sizer; the big formats have one."""
    from udl_core.formats import readers

    sized = {spec.name for spec in readers() if spec.size is not None}
    assert {"csv", "json", "parquet", "arrow", "npy", "npz", "pair", "images"} <= sized
