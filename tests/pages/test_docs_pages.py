"""Every code block of every docs page runs, and every output a page shows is the run's
(tests/pages/pagerun.py); every duration a page quotes is docs/timings.json's.

docs/tutorial.md and docs/your-model.md are run by their own files (test_docs.py,
test_docs_your_model.py), which also check what their results mean; the other pages are run here.
"""

import json
import re
from pathlib import Path

import pytest

from tests.pages import pagerun

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = sorted(DOCS.glob("*.md"))
OWN_FILE = {"tutorial.md", "your-model.md", "data.md"}  # data.md: test_docs_data.py (slow)

# The blocks that do not run in the default suite, by page: `norun` (a GPU, a cluster, a template)
# and `slow` (minutes; run by test_slow_blocks_reproduce_their_outputs). A new one is added here on
# purpose, not by accident.
SKIPPED = {
    "benchmarks.md": {"norun": 2},
    "detector.md": {"norun": 1},
    "results.md": {"norun": 1, "slow": 2},
    "scaling.md": {"norun": 6},
    "tutorial.md": {"slow": 1},
    "your-model.md": {"norun": 2, "slow": 1},
}


def _runs(page: Path) -> bool:
    """Whether some block of the page runs in the default suite."""
    return any(
        b.kind in ("python", "shell") and b.mark is None for b in pagerun.parse(page.read_text())
    )


def test_every_block_runs_or_is_marked():
    marks = {}
    for page in PAGES:
        for b in pagerun.parse(page.read_text()):
            assert b.kind != "bad" or b.mark is not None, f"{page.name}:{b.start}: unmarked"
            if b.mark is not None:
                counts = marks.setdefault(page.name, {})
                counts[b.mark[0]] = counts.get(b.mark[0], 0) + 1
    assert marks == SKIPPED


def test_pages_with_outputs_declare_their_tolerance():
    for page in PAGES:
        text = page.read_text()
        if any(b.output is not None for b in pagerun.parse(text)):
            rtol, atol = pagerun.tolerance(text)
            assert 0 <= rtol <= 0.05 and 0 <= atol <= 1e-3, page.name


@pytest.mark.parametrize(
    "page", [p for p in PAGES if p.name not in OWN_FILE and _runs(p)], ids=lambda p: p.name
)
def test_page_runs_and_shows_its_outputs(page, tmp_path):
    run = pagerun.run_page(page, tmp_path)
    assert run.outputs
    assert pagerun.differences(run) == []


def test_quoted_durations_are_measured():
    """Each ``N<!-- timing KEY -->`` on a page is docs/timings.json's KEY as docs/timings.py writes
    it, and the JSON names the command and the machine of each measurement."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("timings", DOCS / "timings.py")
    timings = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(timings)
    data = json.loads((DOCS / "timings.json").read_text())
    quoted = 0
    for page in PAGES:
        for number, _, key in timings.TIMING.findall(page.read_text()):
            assert number == timings.shown(timings.lookup(data, key)), (page.name, key)
            entry = data  # the measurement: the dict that holds the quoted value
            for part in key.split(".")[:-1]:
                entry = entry[part]
            assert entry["command"] and entry["machine"]["cores"] >= 1
            quoted += 1
    assert quoted >= 6
    # no hand-typed "about N s" left on the pages that had them
    for name in ("tutorial.md", "your-model.md", "detector.md"):
        assert not re.search(r"about \d[\d.]* s\b", (DOCS / name).read_text()), name


@pytest.mark.slow
@pytest.mark.parametrize(
    "page",
    [p for p in PAGES if any(b.mark and b.mark[0] == "slow" for b in pagerun.parse(p.read_text()))],
    ids=lambda p: p.name,
)
def test_slow_blocks_reproduce_their_outputs(page, tmp_path):
    """The `slow` blocks too (`advise` with 2000 trials, a quick-size experiment). Their pages'
    other blocks are covered fast by test_docs.py::test_shown_outputs_are_the_run_s and
    test_docs_your_model.py::test_shown_outputs_are_the_run_s; the advise ranking itself by
    tests/models/test_monitor_advise.py."""
    run = pagerun.run_page(page, tmp_path, slow=True)
    assert not [b for b in run.skipped if b.mark and b.mark[0] == "slow"]
    assert pagerun.differences(run) == []
