"""The layers point one way: data <- model <- solvers <- results <- experiments <-
api / cli, with errors, config, io, manifest and runspec below them all. Every import
in the package (at module level or inside a function) is checked from the source."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# module prefix -> layer; the longest matching prefix decides
LAYERS = {
    "asielplan.errors": 0,
    "asielplan.config": 0,
    "asielplan.io": 0,
    "asielplan.manifest": 0,
    "asielplan.runspec": 0,
    "asielplan.data": 1,
    "asielplan.model": 2,
    "asielplan.solvers": 3,
    "asielplan.experiments.results": 4,
    "asielplan.experiments": 5,
    "asielplan.api": 6,
    "asielplan.cli": 6,
    "asielplan": 6,  # the package itself: the public facade
}


def layer(module: str) -> int:
    prefix = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[prefix]


def package_modules() -> dict[str, Path]:
    """Every module of the package by its dotted name, from pyproject's package-dir."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = setuptools["package-dir"]
    out = {}
    for package in setuptools["packages"]:
        folder = folders.get(package, package.replace(".", "/"))
        for path in sorted((ROOT / folder).glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            out[name] = path
    return out


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.split(".")[0] == "asielplan"]


def test_no_module_imports_a_higher_layer() -> None:
    """No module imports a module of a higher layer (lists every offending import)."""
    modules = package_modules()
    assert len(modules) > 30
    upward = [
        f"{path.relative_to(ROOT)}:{line}: {name} (layer {layer(name)}) from {module} "
        f"(layer {layer(module)})"
        for module, path in modules.items()
        for line, name in imports_of(path)
        if layer(name) > layer(module)
    ]
    assert not upward, "imports that point up:\n" + "\n".join(upward)


def test_the_check_sees_an_upward_import() -> None:
    """The check itself works: data importing the API would be caught."""
    assert layer("asielplan.api") > layer("asielplan.data.instance")
    assert layer("asielplan.experiments.results.placement") < layer("asielplan.experiments.robust")
    assert layer("asielplan.solvers.result") < layer("asielplan.experiments.results")


def test_benchmarks_are_outside_the_package() -> None:
    """Benchmark scripts live in benchmarks/, not in the shipped package."""
    assert (ROOT / "benchmarks" / "bench_placement.py").is_file()
    assert not any("bench" in name for name in package_modules())
