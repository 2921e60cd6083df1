"""The page runner's parsing and comparison (tests/pages/pagerun.py) on small made-up pages: what
it calls an output, what it compares and what it ignores, so that the docs tests can fail."""

import json

import pytest

from tests.pages import pagerun

PAGE = """# A page
<!-- outputs: rtol=0.01 atol=1e-6 -->

```python
print("certified dead per layer:", [5, 5], "in 1.25 s")
```

```text
certified dead per layer: [5, 0] in 3.10 s
```

<!-- norun: needs a GPU -->
```bash
pip install jax
```

```bash
jaxnn-nonconv estimate --arch 1,8,1 \\
    --trials 100   # a comment
```

```json
{"a": 1}
```

Prose.

```text
a listing, not an output
```

```sh
make demo
```
"""


def test_parse_attaches_outputs_and_marks():
    blocks = pagerun.parse(PAGE)
    kinds = [(b.kind, b.mark and b.mark[0], b.output and b.output.lang) for b in blocks]
    assert kinds == [
        ("python", None, "text"),
        ("bad", "norun", None),
        ("shell", None, "json"),
        ("other", None, None),
        ("bad", None, None),
    ]
    assert pagerun.commands(blocks[2].code) == [["estimate", "--arch", "1,8,1", "--trials", "100"]]
    assert pagerun.tolerance(PAGE) == (0.01, 1e-6)


def test_an_unmarked_shell_block_is_refused(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("```sh\nmake demo\n```\n")
    with pytest.raises(ValueError, match="norun"):
        pagerun.run_page(page, tmp_path)


def test_text_comparison_numbers_within_tolerance_durations_ignored():
    real = "certified dead per layer: [5, 5] in 1.25 s\n"
    assert pagerun.text_differs("certified dead per layer: [5, 5] in 9 s", real, 0.01, 0) is None
    err = pagerun.text_differs("certified dead per layer: [5, 0] in 3.10 s", real, 0.01, 0)
    assert err is not None and "shown 0.0, real 5.0" in err
    assert pagerun.text_differs("p = 0.3113", "p = 0.3120", 0.01, 0) is None
    assert pagerun.text_differs("p = 0.3113", "p = 0.3200", 0.01, 0) is not None
    assert pagerun.text_differs("detector ibp", "detector crown", 0.01, 0) is not None
    assert pagerun.text_differs("a b", "a b c", 0.01, 0) is not None  # a line cut off
    # a table that re-wraps compares by content; rules and padding are not content
    assert pagerun.text_differs("┃ x ┃\n│ 1 │", "┃   x   ┃\n│     1 │", 0, 0) is None


def test_json_comparison_allows_an_abridged_page_but_no_wrong_value():
    real = {"a": 1.0, "b": {"c": [1, 2], "d": "x"}, "wall_s": 3.0}
    assert pagerun.json_differs({"b": {"c": [1, 2]}, "wall_s": 9}, real, 0.01, 0) is None
    assert pagerun.json_differs({"b": {"c": [1, 3]}}, real, 0.01, 0) is not None
    assert pagerun.json_differs({"e": 1}, real, 0.01, 0) is not None
    shown = {"b": {"d": "x"}, "a": 2}
    assert json.loads(pagerun._compact_json(pagerun._abridge(shown, real))) == {
        "a": 1.0,
        "b": {"d": "x"},
    }


def test_run_and_rewrite_a_page(tmp_path):
    page = tmp_path / "p.md"
    page.write_text(
        "<!-- outputs: rtol=0 atol=0 -->\n```python\nx = 6 * 7\nprint(x)\n```\n\n```text\n41\n```\n"
        "\n```python\nprint(x + 1)\n```\n\n```text\n43\n```\n"
    )
    run = pagerun.run_page(page, tmp_path)
    assert run.namespace["x"] == 42
    assert len(pagerun.differences(run)) == 1
    assert pagerun.rewrite(run) == 1
    assert "```text\n42\n```" in page.read_text()
    assert pagerun.differences(pagerun.run_page(page, tmp_path)) == []
