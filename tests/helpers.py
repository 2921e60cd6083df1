"""Helpers shared by several test files (fixtures shared by several files live in conftest.py)."""

import contextlib
import io
import json
import os
import re
from pathlib import Path

from jaxnn_nonconv import cli

REPO = Path(__file__).resolve().parents[1]


def strict_json(text: str):
    """``json.loads`` that refuses ``NaN``/``Infinity``, which are not JSON."""

    def bad(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=bad)


def cli_json(argv: list[str]) -> dict:
    """Run ``jaxnn-nonconv ARGV`` in-process (without touching the persistent compilation cache);
    check exit code 0; return its stdout parsed as strict JSON."""
    old = os.environ.get("JAXNN_NONCONV_CACHE")
    os.environ["JAXNN_NONCONV_CACHE"] = ""
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            assert cli.main([str(a) for a in argv]) == 0
    finally:
        if old is None:
            del os.environ["JAXNN_NONCONV_CACHE"]
        else:
            os.environ["JAXNN_NONCONV_CACHE"] = old
    return strict_json(buf.getvalue())


def usage_error(argv, capsys) -> str:
    """Run the CLI; check exit code 2, nothing on stdout, one line on stderr; return that line."""
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert rc == 2, (rc, err)
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    return lines[0]


def python_blocks(path: Path) -> list[str]:
    """The ```` ```python ```` blocks of a Markdown page, in order."""
    return re.findall(r"^```python\n(.*?)^```", path.read_text(), re.S | re.M)


def within(value, ci) -> bool:
    """``ci[0] <= value <= ci[1]``."""
    return ci[0] <= value <= ci[1]


def run_page(page: Path, work: Path, name: str) -> dict:
    """Execute the python blocks of ``page`` in order, in one namespace, with ``work`` as the
    current directory (as a reader copying them into one session would); return the namespace."""
    old = Path.cwd()
    os.chdir(work)
    namespace: dict = {"__name__": name}
    try:
        for i, block in enumerate(python_blocks(page)):
            exec(compile(block, f"{page.name}[block {i}]", "exec"), namespace)
    finally:
        os.chdir(old)
    namespace["_work"] = work
    return namespace
