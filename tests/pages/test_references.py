"""What the docs and docstrings point to exists: repository paths in docs/*.md and README.md, dotted
``jaxnn_nonconv.x.y`` names in the docs and the package's sources, and the modules their examples
import."""

import ast
import importlib
import importlib.util
import io
import re
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SOURCES = sorted((ROOT / "jaxnn_nonconv").rglob("*.py"))

# A file of the repository named by its path from the root (a glob such as experiments/*.toml is
# not a path; a path under runs/ is an output, not a file of the repository).
PATH = re.compile(
    r"(?<![\w/.-])((?:jaxnn_nonconv|tests|experiments|benchmarks|docs)/[\w/.-]*\w\.(?:py|toml|md|png|json))"
)
DOTTED = re.compile(r"(?<![\w.])(jaxnn_nonconv(?:\.[A-Za-z_]\w*)+)(?![<{\w])")
IMPORT = re.compile(
    r"(?:^|>>> |\s)(?:from\s+(jaxnn_nonconv[\w.]*)\s+import\s+([\w ,]+)|import\s+(jaxnn_nonconv[\w.]*))",
    re.M,
)
RUN_MODULE = re.compile(r"python -m ([A-Za-z_][\w.]*)")


def prose(path: Path) -> str:
    """A page as it is; a module's docstrings and comments only (its code is checked by running)."""
    text = path.read_text()
    if path.suffix != ".py":
        return text
    parts = [
        ast.get_docstring(node, clean=False) or ""
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    parts += [
        tok.string
        for tok in tokenize.generate_tokens(io.StringIO(text).readline)
        if tok.type == tokenize.COMMENT
    ]
    return "\n".join(parts)


def paths_named(text: str) -> list[str]:
    return PATH.findall(text)


def import_here(dotted: str):
    """The module, imported from this checkout only: a stale install elsewhere on the path (an
    editable install of an older tree) must not make a removed module look present."""
    module = importlib.import_module(dotted)
    if not Path(module.__file__).resolve().is_relative_to(ROOT):
        # forget it, or it stays an attribute of its parent package
        del sys.modules[dotted]
        parent, _, name = dotted.rpartition(".")
        if parent and getattr(sys.modules.get(parent), name, None) is module:
            delattr(sys.modules[parent], name)
        raise ImportError(f"{dotted} comes from {module.__file__}, outside this checkout")
    return module


def resolves(dotted: str) -> bool:
    """``a.b.c`` is a module, or an attribute chain of the longest importable module prefix."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = import_here(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def is_module(dotted: str) -> bool:
    try:
        import_here(dotted)
    except ImportError:
        return False
    return True


def where(path: Path, text: str, needle: str) -> str:
    """``file:line: needle``, the line of its first occurrence in the file."""
    full = path.read_text()
    line = full[: full.index(needle)].count("\n") + 1 if needle in full else "?"
    return f"{path.relative_to(ROOT)}:{line}: {needle}"


def test_the_patterns_can_fail():
    assert paths_named("see `jaxnn_nonconv/train.py` and tests/test_x.py.") == [
        "jaxnn_nonconv/train.py",
        "tests/test_x.py",
    ]
    assert paths_named("runs/shallow/experiments/a.toml, experiments/*.toml") == []
    assert DOTTED.findall("(:func:`jaxnn_nonconv.detector.refine`).") == [
        "jaxnn_nonconv.detector.refine"
    ]
    assert not resolves("jaxnn_nonconv.detector.refine")
    assert resolves("jaxnn_nonconv.detector.make_detector")
    assert resolves("jaxnn_nonconv.core._nets.Params")
    assert resolves("jaxnn_nonconv.core.nets.init_params")
    # an attribute alias is not a module: ``from jaxnn_nonconv.core.nets import x`` fails
    assert not is_module("jaxnn_nonconv.core.nets") and is_module("jaxnn_nonconv.core._nets")
    assert package_names("`core.nets.Runs`, `engine.fit(...)`, `nets.x`, `engine`") == [
        "core.nets.Runs",
        "engine.fit",
    ]
    assert IMPORT.findall(">>> from jaxnn_nonconv.stats.results import proportion") == [
        ("jaxnn_nonconv.stats.results", "proportion", "")
    ]
    assert bad_imports(
        ">>> from jaxnn_nonconv import nets, engine as e\nimport jaxnn_nonconv.x"
    ) == [
        "jaxnn_nonconv.nets",
        "jaxnn_nonconv.x",
    ]
    code = 'def f():\n    """See jaxnn_nonconv.a.b."""\n    return "jaxnn_nonconv.c"  # jaxnn_nonconv.d\n'
    assert DOTTED.findall(prose_of(code)) == ["jaxnn_nonconv.a.b", "jaxnn_nonconv.d"]


def prose_of(code: str) -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.py"
        path.write_text(code)
        return prose(path)


def bad_imports(text: str) -> list[str]:
    """Modules that do not import, and names a module lacks, in ``from``/``import`` lines."""
    bad = []
    for frm, names, mod in IMPORT.findall(text):
        if mod:
            if not is_module(mod):
                bad.append(mod)
            continue
        if not is_module(frm):
            bad.append(frm)
            continue
        for name in (n.split()[0] for n in names.split(",") if n.strip()):
            if not resolves(f"{frm}.{name}"):
                bad.append(f"{frm}.{name}")
    return bad


def test_repository_paths_in_the_docs_exist():
    missing = []
    for page in PAGES:
        text = page.read_text()
        for p in sorted(set(paths_named(text))):
            # theory-to-code.md names tests relative to tests/ (``experiments/test_store.py``)
            in_tests = page.name == "theory-to-code.md" and (ROOT / "tests" / p).is_file()
            if not ((ROOT / p).exists() or in_tests):
                missing.append(where(page, text, p))
    assert not missing, "\n".join(missing)


def test_dotted_names_in_docs_and_docstrings_resolve():
    broken = []
    for f in PAGES + SOURCES:
        text = prose(f)
        for d in sorted(set(DOTTED.findall(text))):
            if not resolves(d):
                broken.append(where(f, text, d))
    assert not broken, "\n".join(broken)


def test_imports_in_examples_are_modules():
    """``from jaxnn_nonconv.x import y`` in a doctest or a docs block needs ``x`` to be a module
    (or package), not an attribute alias such as ``stats.results``."""
    broken = []
    for f in PAGES + SOURCES:
        text = prose(f)
        broken += [f"{f.relative_to(ROOT)}: {b}" for b in bad_imports(text)]
    assert not broken, "\n".join(broken)


def test_modules_run_with_python_m_exist():
    broken = []
    for page in PAGES:
        text = page.read_text()
        for mod in sorted(set(RUN_MODULE.findall(text))):
            if importlib.util.find_spec(mod) is None:
                broken.append(where(page, text, mod))
    assert not broken, "\n".join(broken)


SUBPACKAGES = {p.parent.name for p in (ROOT / "jaxnn_nonconv").glob("*/__init__.py")}
TESTED = re.compile(r"`((?:\w+/)?test_\w+\.py)?(?:::(\w+))?`")


def package_names(text: str) -> list[str]:
    """Backticked names relative to the package (``core.nets.init_params``, ``engine.fit(...)``)."""
    names = re.findall(r"`([A-Za-z_][\w.]*)", text)
    return sorted({n for n in names if n.split(".")[0] in SUBPACKAGES and "." in n.rstrip(".")})


def test_package_relative_names_in_the_docs_resolve():
    broken, seen = [], 0
    for page in PAGES:
        text = page.read_text()
        for n in package_names(text):
            seen += 1
            if not resolves(f"jaxnn_nonconv.{n.rstrip('.')}"):
                broken.append(where(page, text, n))
    assert seen > 150
    assert not broken, "\n".join(broken)


def test_theory_to_code_tests_exist():
    """docs/theory-to-code.md: each named test file exists and defines each named test
    (``::name`` continues the last file named)."""
    page = ROOT / "docs" / "theory-to-code.md"
    text = page.read_text()
    assert len(package_names(text)) > 100
    broken, last, checked = [], None, 0
    for m in TESTED.finditer(text):
        file, test = m.groups()
        if file:
            last = file
            if not (ROOT / "tests" / file).is_file():
                broken.append(where(page, text, file))
                continue
        if test:
            checked += 1
            if last is None or f"def {test}(" not in (ROOT / "tests" / last).read_text():
                broken.append(f"{where(page, text, m.group(0))} (in {last})")
    assert checked > 50
    assert not broken, "\n".join(broken)


def test_every_subpackage_has_a_reference_page_in_the_site():
    """docs/reference/<sub>.md renders each subpackage (and errors) and mkdocs.yml links it."""
    subs = ["errors"] + [
        ".".join(p.parent.relative_to(ROOT / "jaxnn_nonconv").parts)
        for p in (ROOT / "jaxnn_nonconv").rglob("*/__init__.py")
    ]
    nav = (ROOT / "mkdocs.yml").read_text()
    missing = []
    for sub in sorted(subs):
        page = ROOT / "docs" / "reference" / f"{sub}.md"
        if not page.is_file() or f"::: jaxnn_nonconv.{sub}\n" not in page.read_text():
            missing.append(f"{page.relative_to(ROOT)} lacks ::: jaxnn_nonconv.{sub}")
        if f"reference/{sub}.md" not in nav:
            missing.append(f"mkdocs.yml does not link reference/{sub}.md")
    assert len(subs) == 14  # flow added (issue 20)
    assert not missing, "\n".join(missing)
