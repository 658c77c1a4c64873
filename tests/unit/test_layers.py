"""The server's layers, read from its imports: the front (``lsp/``, ``cli.py``,
``entry.py``) over the session layer (``sessions/``) over the backends (``backends/``)
over the ground (the modules directly in ``runbridge/``). Every import counts, also one
inside a function or under ``TYPE_CHECKING``."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import runbridge

PACKAGE = Path(runbridge.__file__).parent
#: The three backends; none imports another (what they share is in kernel/ and remote/).
BACKENDS = ("local", "jupyter", "backendai")
#: What two or more backends share, below them.
SHARED = ("kernel", "remote")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str) -> Iterator[str]:
    """The modules (of runbridge and outside it) that module ``name`` imports."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                whole = f"{base}.{alias.name}"
                yield whole if whole in MODULES else base


def runbridge_imports(name: str) -> set[str]:
    return {m for m in imported(name) if m in MODULES and m != name}


def layer(name: str) -> int:
    """0 ground, 1 backends, 2 sessions, 3 the front."""
    parts = name.split(".")
    if len(parts) == 1:
        return 0  # the package's face
    if parts[1] in ("lsp", "cli", "entry", "__main__"):
        return 3
    if parts[1] == "sessions":
        return 2
    if parts[1] == "backends":
        return 1
    return 0


def test_the_import_reader_sees_what_it_must() -> None:
    """The reader below is what every other test here rests on."""
    assert "runbridge.backends.kernel.core" in MODULES
    assert "runbridge.model" in runbridge_imports("runbridge.backends.kernel.core")
    assert "runbridge.paths" in runbridge_imports("runbridge.sessions.output")
    assert "pygls" in {m.split(".")[0] for m in imported("runbridge.lsp.pygls_adapter")}
    assert layer("runbridge.model") == 0 and layer("runbridge.lsp.wire") == 3


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_a_layer_above_its_own(name: str) -> None:
    above = sorted(m for m in runbridge_imports(name) if layer(m) > layer(name))
    assert not above, f"{name} (layer {layer(name)}) imports from above: {above}"


@pytest.mark.parametrize("name", sorted(m for m in MODULES if 1 <= layer(m) <= 2 or layer(m) == 0))
def test_only_the_front_imports_pygls(name: str) -> None:
    outside = {m.split(".")[0] for m in imported(name)}
    assert not outside & {"pygls", "lsprotocol"}, f"{name} imports the LSP library"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_backend_imports_no_other_backend(backend: str) -> None:
    prefix = f"runbridge.backends.{backend}"
    others = [f"runbridge.backends.{b}" for b in BACKENDS if b != backend]
    for name in (m for m in MODULES if m == prefix or m.startswith(prefix + ".")):
        crossing = sorted(
            m
            for m in runbridge_imports(name)
            if any(m == o or m.startswith(o + ".") for o in others)
        )
        assert not crossing, f"{name} imports another backend: {crossing}"


@pytest.mark.parametrize("shared", SHARED)
def test_what_backends_share_imports_no_backend(shared: str) -> None:
    prefix = f"runbridge.backends.{shared}"
    for name in (m for m in MODULES if m.startswith(prefix)):
        upward = sorted(
            m
            for m in runbridge_imports(name)
            if any(m.startswith(f"runbridge.backends.{b}") for b in BACKENDS)
        )
        assert not upward, f"{name} imports a backend: {upward}"


def test_no_import_circles() -> None:
    graph = {name: runbridge_imports(name) for name in MODULES}
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            circle = [*trail[trail.index(name) :], name]
            pytest.fail("import circle: " + " -> ".join(circle))
        if name in done:
            return
        for target in sorted(graph[name]):
            # a package's face importing its own modules is not a circle of modules
            if not (MODULES[name].name == "__init__.py" and target.startswith(name + ".")):
                visit(target, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
