"""Run the code blocks of a docs page and compare (or rewrite) the outputs it shows.

A page (``docs/*.md``) is read as a sequence of fenced blocks:

* ```` ```python ```` blocks run in order, in one namespace, in a scratch directory that sees the
  repository's ``experiments/``; what a block prints is its output;
* shell blocks (```` ```bash ````, ```` ```sh ````, ```` ``` ````) whose every line is a
  ``jaxnn-nonconv ...`` command (``#`` comments and ``\\`` continuations allowed) run in-process
  through ``jaxnn_nonconv.cli.main`` in the same directory; their stdout is their output, their
  exit status must be 0;
* a ```` ```text ```` or ```` ```json ```` block right after a block that runs (only blank lines
  between) is the output that block prints, as the page shows it;
* a block that must not run in the suite is preceded by ``<!-- norun: reason -->`` (it needs a GPU,
  a cluster, a placeholder path, a second install) or ``<!-- slow: reason -->`` (it runs, but takes
  minutes: only in ``make test-slow`` and ``python -m tests.pages.pagerun --slow``); any other
  shell block is an error, so that a new command cannot be left untested by accident.

Shown outputs are compared number by number: every number within the page's declared tolerance
(``<!-- outputs: rtol=R atol=A -->``, once per page), everything else exactly, whitespace and
table rules ignored (so a table that re-wraps by one column still compares by content, and one whose
cells move does not). Durations (``8.34 s``, ``12 ms``; the JSON key ``wall_s``) are measured, not
reproduced, and are not compared. A ```` ```json ```` output may be abridged: the keys it shows
must be in the real output with the same values. A figure the page shows as
``figures/NAME.png`` that the run writes as ``NAME.png`` (or ``figures/NAME.png``) is the run's.

``python -m tests.pages.pagerun [--slow] [PAGE ...]`` re-runs the pages (all of ``docs/*.md``
by default) and rewrites their shown outputs and figures from the run (``make docs-outputs``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.helpers import one_device

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"

FENCE = re.compile(r"^```(\w*)[ \t]*$")
MARK = re.compile(r"^<!--\s*(norun|slow)\s*:\s*(.+?)\s*-->\s*$")
TOLERANCE = re.compile(r"<!--\s*outputs\s*:\s*rtol=(\S+)\s+atol=(\S+)\s*-->")
SHELL = {"bash", "sh", "console", "shell", ""}
OUTPUT = {"text", "json"}
PROGRAM = re.compile(r"^(?:\S*/)?jaxnn-nonconv$")
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
# A measured duration: a number followed by a unit of time (not "1000 steps").
DURATION = re.compile(r"\d+(?:\.\d+)?\s?(?:s|ms|min)\b(?!-)")
RULES = "─━│┃┌┐└┘├┤┬┴┼┏┓┗┛┡┩┣┫┳┻╇╈╋═║╔╗╚╝╠╣╦╩╬ \t\n"
IGNORED_JSON_KEYS = {"wall_s"}
FIGURE = re.compile(r"\]\(figures/([\w.-]+\.(?:png|svg))\)")


@dataclasses.dataclass
class Block:
    """One fenced block: its info string, its code, its content's line span ``[start, end)`` in
    the page, the ``norun``/``slow`` mark before it (or ``None``) and its shown output block."""

    lang: str
    code: str
    start: int
    end: int
    mark: tuple[str, str] | None = None
    output: Block | None = None

    @property
    def kind(self) -> str:
        """``python``, ``shell`` (a runnable command block), ``output``, ``other`` (a listing,
        not code) or ``bad`` (a shell block that neither runs nor is marked)."""
        if self.lang == "python":
            return "python"
        if self.lang in SHELL:
            return "shell" if commands(self.code) is not None else "bad"
        return "other"


def parse(text: str) -> list[Block]:
    """The page's fenced blocks, each output block attached to the block before it."""
    lines = text.split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j] != "```":
            j += 1
        if j == len(lines):
            raise ValueError(f"unclosed block at line {i + 1}")
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        mark = MARK.match(lines[k]) if k >= 0 else None
        block = Block(m.group(1), "\n".join(lines[i + 1 : j]) + "\n", i + 1, j)
        block.mark = (mark.group(1), mark.group(2)) if mark else None
        prev = blocks[-1] if blocks else None
        follows = prev is not None and all(not s.strip() for s in lines[prev.end + 1 : i])
        if (
            block.lang in OUTPUT
            and follows
            and prev.kind in ("python", "shell")
            and prev.output is None
        ):
            prev.output = block
        else:
            blocks.append(block)
        i = j + 1
    return blocks


def commands(code: str) -> list[list[str]] | None:
    """The ``jaxnn-nonconv`` argument lists of a shell block, or ``None`` if some line is not one."""
    out = []
    for line in code.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if not PROGRAM.match(words[0]):
            return None
        out.append(words[1:])
    return out or None


def tolerance(text: str) -> tuple[float, float]:
    """The page's declared ``(rtol, atol)`` for shown numbers."""
    found = TOLERANCE.findall(text)
    if len(found) != 1:
        raise ValueError("a page with shown outputs declares <!-- outputs: rtol=R atol=A --> once")
    return float(found[0][0]), float(found[0][1])


# --- running ----------------------------------------------------------------------------------


@dataclasses.dataclass
class PageRun:
    """What running a page gave: the namespace, each run block's output (by the block's start
    line), the skipped blocks, the scratch directory and the seconds each block took."""

    page: Path
    blocks: list[Block]
    namespace: dict
    outputs: dict[int, str]
    skipped: list[Block]
    work: Path
    seconds: dict[int, float]


@contextlib.contextmanager
def _columns(width: int = 80):
    """Rich's tables at the width redirected output gets (and a reader's 80-column terminal)."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def run_page(page: Path, work: Path | None = None, *, slow: bool = False) -> PageRun:
    """Run the blocks of ``page`` in order (``slow``-marked ones only with ``slow=True``) in
    ``work`` (a fresh temporary directory by default) and collect their outputs.

    Raises:
        AssertionError: a command exits with a status other than 0.
        ValueError: a shell block neither runs nor is marked.
    """
    from jaxnn_nonconv import cli

    work = Path(work or tempfile.mkdtemp(prefix=f"page-{page.stem}-"))
    if not (work / "experiments").exists():
        (work / "experiments").symlink_to(REPO / "experiments")
    blocks = parse(page.read_text())
    namespace: dict = {"__name__": page.stem.replace("-", "_")}
    outputs, seconds, skipped = {}, {}, []
    old = Path.cwd()
    os.chdir(work)
    try:
        with _columns(), one_device():
            for b in blocks:
                if b.kind == "bad" and b.mark is None:
                    raise ValueError(
                        f"{page.name}:{b.start}: a shell block that is not a jaxnn-nonconv command "
                        "needs <!-- norun: reason --> before it"
                    )
                if b.kind not in ("python", "shell"):
                    continue
                if b.mark and (b.mark[0] == "norun" or not slow):
                    skipped.append(b)
                    continue
                buf = io.StringIO()
                t0 = time.perf_counter()
                with contextlib.redirect_stdout(buf):
                    if b.kind == "python":
                        exec(compile(b.code, f"{page.name}:{b.start + 1}", "exec"), namespace)
                    else:
                        for argv in commands(b.code):
                            rc = cli.main(argv)
                            assert rc == 0, (page.name, b.start, argv, rc)
                seconds[b.start] = time.perf_counter() - t0
                outputs[b.start] = buf.getvalue()
    finally:
        os.chdir(old)
    namespace["_work"] = work
    return PageRun(page, blocks, namespace, outputs, skipped, work, seconds)


# --- comparing --------------------------------------------------------------------------------


def _tokens(text: str) -> list[str | float]:
    """Numbers (as floats) and the other non-blank characters, durations and rules left out."""
    text = DURATION.sub(" ", text)
    out: list[str | float] = []
    pos = 0
    for m in NUMBER.finditer(text):
        out += [c for c in text[pos : m.start()] if c not in RULES]
        out.append(float(m.group()))
        pos = m.end()
    out += [c for c in text[pos:] if c not in RULES]
    return out


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    return a == b or math.isclose(a, b, rel_tol=rtol, abs_tol=atol)


def text_differs(shown: str, real: str, rtol: float, atol: float) -> str | None:
    """``None`` if ``shown`` is ``real`` up to the tolerance, else where they first differ."""
    a, b = _tokens(shown), _tokens(real)
    for k, (x, y) in enumerate(zip(a, b)):
        same = (
            _close(x, y, rtol, atol)
            if isinstance(x, float) and isinstance(y, float)
            else type(x) is type(y) and x == y
        )
        if not same:
            ctx = "".join(str(t) for t in b[max(0, k - 30) : k + 10])
            return f"token {k}: shown {x!r}, real {y!r} (real output near it: {ctx!r})"
    if len(a) != len(b):
        return f"shown output has {len(a)} tokens, the real one {len(b)}"
    return None


def json_differs(shown, real, rtol: float, atol: float, path: str = "$") -> str | None:
    """``None`` if every key and value ``shown`` has is in ``real`` (numbers to the tolerance)."""
    if isinstance(shown, dict):
        if not isinstance(real, dict):
            return f"{path}: shown an object, real {type(real).__name__}"
        for k, v in shown.items():
            if k in IGNORED_JSON_KEYS:
                continue
            if k not in real:
                return f"{path}.{k}: shown but not in the real output"
            if (err := json_differs(v, real[k], rtol, atol, f"{path}.{k}")) is not None:
                return err
        return None
    if isinstance(shown, list):
        if not isinstance(real, list) or len(real) != len(shown):
            return f"{path}: shown {shown!r}, real {real!r}"
        for i, (x, y) in enumerate(zip(shown, real)):
            if (err := json_differs(x, y, rtol, atol, f"{path}[{i}]")) is not None:
                return err
        return None
    num = (int, float)
    if isinstance(shown, num) and isinstance(real, num) and not isinstance(shown, bool):
        return None if _close(shown, real, rtol, atol) else f"{path}: shown {shown}, real {real}"
    return None if shown == real else f"{path}: shown {shown!r}, real {real!r}"


def differences(run: PageRun) -> list[str]:
    """Every shown output of the page that the run does not reproduce, one line each."""
    text = run.page.read_text()
    errors = []
    for b in run.blocks:
        if b.output is None or b.start not in run.outputs:
            continue
        real, shown = run.outputs[b.start], b.output.code
        where = f"{run.page.name}:{b.output.start + 1}"
        rtol, atol = tolerance(text)
        if b.output.lang == "json":
            err = json_differs(json.loads(shown), json.loads(real), rtol, atol)
        else:
            err = text_differs(shown, real, rtol, atol)
        if err is not None:
            errors.append(f"{where}: {err}")
    return errors


def figures(run: PageRun) -> dict[str, Path]:
    """The figures the page shows (``figures/NAME``) that its run wrote, by name."""
    out = {}
    for name in FIGURE.findall(run.page.read_text()):
        for path in (run.work / name, run.work / "figures" / name):
            if path.is_file():
                out[name] = path
    return out


# --- rewriting --------------------------------------------------------------------------------


def _compact_json(value, indent: int = 0, width: int = 100) -> str:
    """JSON with every container on one line when it fits in ``width`` columns."""
    flat = json.dumps(value)
    if len(flat) + indent <= width or not isinstance(value, dict | list) or not value:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [
            f"{json.dumps(k)}: {_compact_json(v, indent + 2, width)}" for k, v in value.items()
        ]
        ends = "{}"
    else:
        items = [_compact_json(v, indent + 2, width) for v in value]
        ends = "[]"
    lines: list[str] = []  # short items share a line, as a person would write them
    for item in items:
        if lines and "\n" not in item and "\n" not in lines[-1]:
            joined = f"{lines[-1]}, {item}"
            if len(pad) + len(joined) + 1 <= width:
                lines[-1] = joined
                continue
        lines.append(item)
    body = ",\n".join(pad + line for line in lines)
    return ends[0] + "\n" + body + "\n" + " " * indent + ends[1]


def _abridge(shown, real):
    """``real`` restricted to the keys ``shown`` has (in ``real``'s order): the page's cut."""
    if isinstance(shown, dict) and isinstance(real, dict):
        return {
            k: round(v, 2) if k in IGNORED_JSON_KEYS else _abridge(shown[k], v)
            for k, v in real.items()
            if k in shown
        }
    if isinstance(shown, list) and isinstance(real, list) and len(shown) == len(real):
        return [_abridge(x, y) for x, y in zip(shown, real)]
    return real


def rewrite(run: PageRun) -> int:
    """Replace the page's shown outputs with the run's and copy its figures to ``docs/figures``;
    return the number of outputs changed."""
    lines = run.page.read_text().split("\n")
    changed = 0
    for b in sorted(run.blocks, key=lambda b: -b.start):  # from the end: spans stay valid
        if b.output is None or b.start not in run.outputs:
            continue
        real = run.outputs[b.start]
        if b.output.lang == "json":
            real = _compact_json(_abridge(json.loads(b.output.code), json.loads(real)))
        new = [line.rstrip() for line in real.rstrip("\n").split("\n")]
        if new != lines[b.output.start : b.output.end]:
            lines[b.output.start : b.output.end] = new
            changed += 1
    run.page.write_text("\n".join(lines))
    for name, path in figures(run).items():
        shutil.copyfile(path, run.page.parent / "figures" / name)
    return changed


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.pages.pagerun [--slow] [PAGE ...]``: rewrite the pages' outputs."""
    import tests.conftest  # noqa: F401  (the suite's JAX settings: 4 CPU devices, strict ranks)

    args = list(sys.argv[1:] if argv is None else argv)
    slow = "--slow" in args
    pages = [Path(a) for a in args if a != "--slow"] or sorted(DOCS.glob("*.md"))
    for page in pages:
        if not any(b.kind in ("python", "shell") for b in parse(page.read_text())):
            continue
        t0 = time.perf_counter()
        run = run_page(page.resolve(), slow=slow)
        n = rewrite(run)
        print(
            f"{page}: {len(run.outputs)} blocks run, {len(run.skipped)} skipped, "
            f"{n} outputs rewritten, {len(figures(run))} figures, {time.perf_counter() - t0:.0f} s",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
