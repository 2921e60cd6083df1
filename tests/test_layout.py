"""The package's layout holds: data flows one way through the subpackages, without cycles, through
public names only, in small modules; and every table of contents (``__all__``) resolves.

The order of the subpackages is declared once, in :data:`ORDER`; a module may import only from its
own subpackage and those to its LEFT. The package ``__init__`` at the top may import anything. The
checks are small pure functions on a list of parsed imports, shown to fail on planted violations
in a fake package built in ``tmp_path``.
"""

import ast
import importlib
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "jaxnn_nonconv"

# The direction data flows; each entry is one rank (the root modules share the lowest).
ORDER: tuple[tuple[str, ...], ...] = (
    ("errors", "version"),
    ("core",),
    ("stats",),
    ("exact",),
    ("engine",),
    ("detector",),
    ("rare",),
    ("estimation",),
    ("flow",),
    ("models",),
    ("experiments",),
    ("bench",),
    ("cli",),
)
MAX_LINES = 600


class Import(NamedTuple):
    """One import statement's arrow: ``source`` module imports ``target`` module (dotted names).

    ``names`` are the names taken from ``target`` (empty for ``import target``); ``file`` and
    ``line`` say where, for the messages.
    """

    source: str
    target: str
    names: tuple[str, ...]
    file: str
    line: int


# --- parsing ----------------------------------------------------------------------------------


def module_name(path: Path, root: Path) -> str:
    """``root/pkg/sub/_x.py`` -> ``pkg.sub._x``; ``root/pkg/sub/__init__.py`` -> ``pkg.sub``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(dotted: str, root: Path) -> bool:
    base = root.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def parse_imports(root: Path, package: str) -> list[Import]:
    """Every import of ``package`` by a module of ``package`` under ``root``, at any depth
    (module level, inside functions, under ``if TYPE_CHECKING``), relative imports resolved.

    ``from a.b import c`` is an arrow to the module ``a.b.c`` when ``c`` is a module (file or
    package) and to ``a.b`` otherwise (``c`` is then a name of ``a.b``).
    """
    out = []
    for path in sorted((root / package).rglob("*.py")):
        source = module_name(path, root)
        is_pkg = path.name == "__init__.py"
        rel = str(path.relative_to(root))
        for node in ast.walk(ast.parse(path.read_text(), filename=rel)):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == package:
                        out.append(Import(source, alias.name, (), rel, node.lineno))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = source.split(".") if is_pkg else source.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    frm = ".".join(base + ([node.module] if node.module else []))
                else:
                    frm = node.module or ""
                if frm.split(".")[0] != package:
                    continue
                plain = []
                for alias in node.names:
                    sub = f"{frm}.{alias.name}"
                    if is_module(sub, root):
                        out.append(Import(source, sub, (), rel, node.lineno))
                    else:
                        plain.append(alias.name)
                if plain:
                    out.append(Import(source, frm, tuple(plain), rel, node.lineno))
    return out


# --- the checks: pure functions on parsed imports ------------------------------------------


def subpackage(module: str) -> str:
    """``pkg.sub._x`` -> ``sub``; ``pkg.errors`` -> ``errors``; the package itself -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def rank(module: str, order) -> int:
    """Position of the module's subpackage in ``order``; the package ``__init__`` is on top."""
    sub = subpackage(module)
    if not sub:
        return len(order)
    for i, group in enumerate(order):
        if sub in group:
            return i
    raise ValueError(f"{module}: subpackage {sub!r} is not in the declared order")


def upward_imports(imports: list[Import], order) -> list[str]:
    """Arrows from a subpackage to one to its RIGHT in ``order`` (or to the package ``__init__``)."""
    return [
        f"{i.file}:{i.line}: {i.source} imports {i.target}, which is to the right of "
        f"{subpackage(i.source)!r} in the order {[' '.join(g) for g in order]}"
        for i in imports
        if subpackage(i.source) and rank(i.target, order) > rank(i.source, order)
    ]


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_imports(imports: list[Import]) -> list[str]:
    """Private names (``_x``, a private module included) taken from ANOTHER subpackage."""
    hits = []
    for i in imports:
        if not subpackage(i.source) or subpackage(i.source) == subpackage(i.target):
            continue
        private = [p for p in i.target.split(".") if is_private(p)]
        private += [n for n in i.names if is_private(n)]
        if private:
            hits.append(
                f"{i.file}:{i.line}: {i.source} imports private {', '.join(private)} from "
                f"{i.target}; go through the names {subpackage(i.target)}/__init__.py exports"
            )
    return hits


def import_cycles(imports: list[Import]) -> list[str]:
    """Every cycle of the module graph (one per strongly connected component), as its arrows."""
    graph: dict[str, dict[str, Import]] = {}
    for i in imports:
        graph.setdefault(i.source, {}).setdefault(i.target, i)
        graph.setdefault(i.target, {})
    # Tarjan's strongly connected components, iteratively (no recursion limit).
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1 or v in graph[v]:
                    components.append(set(comp))
    messages = []
    for comp in components:
        cycle = _one_cycle(graph, comp)
        arrows = "\n".join(f"    {i.file}:{i.line}: {i.source} -> {i.target}" for i in cycle)
        messages.append(f"import cycle through {sorted(comp)}:\n{arrows}")
    return messages


def _one_cycle(graph, comp: set[str]) -> list[Import]:
    """A closed walk inside one strongly connected component, by breadth-first search."""
    start = min(comp)
    parent: dict[str, Import] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w, imp in sorted(graph[v].items()):
                if w not in comp:
                    continue
                if w == start:
                    path = [imp]
                    while path[0].source != start:
                        path.insert(0, parent[path[0].source])
                    return path
                if w not in parent:
                    parent[w] = imp
                    nxt.append(w)
        frontier = nxt
    raise AssertionError("not a strongly connected component")


def long_modules(root: Path, package: str, limit: int = MAX_LINES) -> list[str]:
    out = []
    for path in sorted((root / package).rglob("*.py")):
        n = len(path.read_text().splitlines())
        if n > limit:
            out.append(f"{path.relative_to(root)}:{n}: {n} lines, over {limit}; split it")
    return out


def violations(root: Path, package: str, order) -> list[str]:
    imports = parse_imports(root, package)
    return (
        import_cycles(imports)
        + upward_imports(imports, order)
        + private_imports(imports)
        + long_modules(root, package)
    )


# --- the real package -----------------------------------------------------------------------


def test_every_subpackage_is_in_the_order():
    subs = {p.name for p in (ROOT / PACKAGE).iterdir() if (p / "__init__.py").is_file()}
    subs |= {p.stem for p in (ROOT / PACKAGE).glob("*.py") if p.name != "__init__.py"}
    assert subs == {s for group in ORDER for s in group}


def test_the_imports_are_seen():
    imports = parse_imports(ROOT, PACKAGE)
    arrows = {(i.source, i.target) for i in imports}
    # a module-level `from pkg import sub`, a function-level one, and `from pkg.sub import _x`
    assert ("jaxnn_nonconv.models._check", "jaxnn_nonconv.detector") in arrows
    assert ("jaxnn_nonconv.cli._main", "jaxnn_nonconv.bench") in arrows
    assert ("jaxnn_nonconv.core", "jaxnn_nonconv.core._nets") in arrows
    assert len(arrows) > 100


def test_layout_of_the_package():
    found = violations(ROOT, PACKAGE, ORDER)
    assert not found, "\n".join(found)


# --- the checks fail when they should --------------------------------------------------------

FAKE_ORDER = (("errors",), ("core",), ("stats",))


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def fake(tmp_path):
    """A tiny clean package ``fake``: errors < core < stats."""
    write(
        tmp_path,
        {
            "fake/__init__.py": "from fake.stats import mean\nfrom fake.core import net\n",
            "fake/errors.py": "class E(Exception): pass\n",
            "fake/core/__init__.py": "from fake.core import _net as net\n",
            "fake/core/_net.py": "import math\n",
            "fake/stats/__init__.py": "from fake.stats._mean import mean\n",
            "fake/stats/_mean.py": "from fake import core\nfrom . import _util\nfrom ..errors import E\n",
            "fake/stats/_util.py": "def f():\n    import fake.core\n",
        },
    )
    assert violations(tmp_path, "fake", FAKE_ORDER) == []
    return tmp_path


def test_relative_and_function_level_imports_are_parsed(fake):
    arrows = {(i.source, i.target, i.line) for i in parse_imports(fake, "fake")}
    assert ("fake.stats._mean", "fake.stats._util", 2) in arrows
    assert ("fake.stats._util", "fake.core", 2) in arrows
    assert ("fake.stats._mean", "fake.core", 1) in arrows
    assert ("fake.stats._mean", "fake.errors", 3) in arrows


def test_a_planted_cycle_is_reported(fake):
    # inside one subpackage, through a function-level relative import
    write(fake, {"fake/core/_a.py": "from fake.core import _b\n"})
    write(fake, {"fake/core/_b.py": "def g():\n    from ._a import x\n"})
    found = violations(fake, "fake", FAKE_ORDER)
    assert len(found) == 1 and found[0].startswith("import cycle"), found
    assert "fake/core/_a.py:1: fake.core._a -> fake.core._b" in found[0]
    assert "fake/core/_b.py:2: fake.core._b -> fake.core._a" in found[0]


def test_a_module_importing_its_own_package_init_is_a_cycle(fake):
    write(fake, {"fake/core/_net.py": "from fake.core import net\n"})
    (found,) = violations(fake, "fake", FAKE_ORDER)
    assert "fake.core._net -> fake.core" in found and "fake.core -> fake.core._net" in found


def test_a_planted_upward_import_is_reported(fake):
    write(fake, {"fake/errors.py": "def f():\n    from fake.core import net\n"})
    found = violations(fake, "fake", FAKE_ORDER)
    assert found == [
        "fake/errors.py:2: fake.errors imports fake.core, which is to the right of "
        "'errors' in the order ['errors', 'core', 'stats']"
    ]


def test_importing_the_package_init_from_inside_is_upward(fake):
    write(fake, {"fake/errors.py": "import fake\n"})
    found = violations(fake, "fake", FAKE_ORDER)
    assert any(f.startswith("fake/errors.py:1: fake.errors imports fake,") for f in found), found


def test_a_planted_private_import_is_reported(fake):
    write(fake, {"fake/stats/_mean.py": "from fake.core._net import E\nfrom fake.core import _x\n"})
    found = violations(fake, "fake", FAKE_ORDER)
    assert found == [
        "fake/stats/_mean.py:1: fake.stats._mean imports private _net from fake.core._net; go "
        "through the names core/__init__.py exports",
        "fake/stats/_mean.py:2: fake.stats._mean imports private _x from fake.core; go through "
        "the names core/__init__.py exports",
    ]


def test_a_long_module_is_reported(fake):
    write(fake, {"fake/core/_long.py": "x = 1\n" * (MAX_LINES + 1)})
    assert violations(fake, "fake", FAKE_ORDER) == [
        f"fake/core/_long.py:{MAX_LINES + 1}: {MAX_LINES + 1} lines, over {MAX_LINES}; split it"
    ]


# --- tables of contents ---------------------------------------------------------------------


def subpackages() -> list[str]:
    return sorted(
        module_name(p, ROOT)
        for p in (ROOT / PACKAGE).rglob("__init__.py")
        if p.parent != ROOT / PACKAGE
    )


def test_top_level_all_resolves():
    pkg = importlib.import_module(PACKAGE)
    missing = [n for n in pkg.__all__ if not hasattr(pkg, n)]
    assert not missing, missing
    assert len(set(pkg.__all__)) == len(pkg.__all__)


@pytest.mark.parametrize("name", subpackages())
def test_every_subpackage_has_an_all_that_resolves(name):
    mod = importlib.import_module(name)
    assert isinstance(getattr(mod, "__all__", None), list), f"{name} has no __all__"
    missing = [n for n in mod.__all__ if not hasattr(mod, n)]
    assert not missing, f"{name}.__all__ names what it lacks: {missing}"
    assert len(set(mod.__all__)) == len(mod.__all__), f"{name}.__all__ has duplicates"


def test_tests_mirror_the_subpackages():
    """Every subpackage has its test folder ``tests/<subpackage>/`` (``tests/`` mirrors the
    package, as in BlackJAX), and no test file lies in a folder without a subpackage."""
    names = {n.split(".")[1] for n in subpackages()}
    folders = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert names - folders == set(), f"subpackages without tests/<name>/: {sorted(names - folders)}"
    assert folders - names <= {"pages"}, f"test folders without a subpackage: {folders - names}"


def test_benchmarks_folder_is_not_installed():
    """The package ships ``jaxnn_nonconv.bench``; the top-level ``benchmarks/`` (scripts, results,
    figures) is not a package that ``pip install`` would put into site-packages: of the folders
    with an ``__init__.py`` at the top, setuptools' ``include`` patterns keep only the package."""
    import fnmatch
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    tops = sorted(p.parent.name for p in ROOT.glob("*/__init__.py"))
    assert "benchmarks" in tops  # the scripts run as python -m benchmarks.x from the repository
    shipped = [t for t in tops if any(fnmatch.fnmatch(t, pattern) for pattern in include)]
    assert shipped == [PACKAGE], shipped


@pytest.mark.parametrize("name", subpackages())
def test_every_module_is_in_its_table_of_contents(name):
    """Each ``__init__`` docstring lists every private module of its subpackage (the table of
    contents a reader starts from)."""
    pkg = importlib.import_module(name)
    folder = Path(pkg.__file__).parent
    doc = pkg.__doc__ or ""
    missing = [
        p.stem
        for p in sorted(folder.glob("_*.py"))
        if p.stem not in ("__init__", "__main__") and f"{name}.{p.stem}" not in doc
    ]
    assert not missing, f"{name}/__init__.py does not list {missing}"


def test_extended_tier_entries_are_checked_against_the_collected_tests():
    from tests.extended_tier import stale_entries

    tier = {"tests/a.py::test_big[2]": "tests/a.py::test_big[1]", "tests/b.py": "tests/a.py::t"}
    collected = {"tests/a.py::test_big[1]": False, "tests/a.py::test_big[2]": True}
    assert stale_entries(collected, tier) == ["no test tests/a.py::t"]
    collected["tests/a.py::test_big[1]"] = True
    assert (
        "the cover tests/a.py::test_big[1] of tests/a.py::test_big[2] is not in the default suite"
        in (stale_entries(collected, tier))
    )
    assert stale_entries({}, {"tests/a.py::x": "tests/b.py"}) == [
        "the cover of tests/a.py::x is a file, not one test: tests/b.py"
    ]
