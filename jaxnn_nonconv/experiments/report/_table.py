"""The table of :func:`~jaxnn_nonconv.experiments.report.report`'s summary, 80 columns wide.

One block of rows per cell: the cell's name with theory's ``p`` (P(first-layer neuron inactive),
arXiv 2402.05155), then each probability above its 95% Wilson interval, theory's closed form or
bound, and an exact binomial test against it (:func:`jaxnn_nonconv.stats.theory_test`).
"""

from __future__ import annotations

from typing import Any

from jaxnn_nonconv import stats


def _fmt_num(x) -> str:
    return "" if x is None else f"{x:.4g}"


def _one_minus(x: float | None) -> float | None:
    return None if x is None else 1.0 - x


def _cell_rows(r: dict, alpha: float) -> list[tuple[str, str, str, str]]:
    """The stacked rows of one cell: ``(quantity, measured, theory, consistent?)``."""
    shallow = r["depth"] == 1  # P(some neuron inactive) = 1 - (1 - p)^H exactly
    rows = [
        stats.probability_cells(
            ("P(some neuron inactive) at init", "P(no inactive neuron) at init"),
            r["inactive_at_init"],
            _one_minus(r["theory_no_inactive_bound"]),
            "= " if shallow else ">= ",
            alpha=alpha,
        ),
        stats.probability_cells(
            ("P(network constant) at init", "P(network not constant) at init"),
            r["constant_at_init"],
            r["theory_constant_lower_bound"],
            ">= ",
            alpha=alpha,
        ),
    ]
    if r.get("not_global") is not None:
        rows.append(
            stats.probability_cells(
                ("P(not global: risk above R_H)", "P(global: risk at R_H)"),
                r["not_global"],
                r.get("mechanism_bound"),
                ">= ",
                alpha=alpha,
            )
        )
    if r.get("success") is not None:
        rows.append(
            stats.probability_cells(
                ("P(final risk > best found + tol)", "P(final risk <= best found + tol)"),
                r["fail"],
                None,
                test=False,
            )
        )
    if r.get("risk_median") is not None:
        rows.append(("median final risk", _fmt_num(r["risk_median"]), "", ""))
    return rows


def print_summary(summary: dict, console: Any = None) -> None:
    """A rich table of the rows of :func:`report`, 80 columns wide: one block of rows per cell
    (its name with theory's neuron probability ``p``, then each probability above its Wilson
    interval, theory, and an exact binomial test against theory)."""
    from rich.console import Console

    console = console or Console()
    alpha = 0.05  # the report's intervals are 95% ones (proportion)
    rows: list = []
    for r in summary["rows"]:
        if rows:
            rows.append(None)
        p = r.get("theory_p")  # theory's P(first-layer neuron inactive), on the cell's row
        rows.append((r["label"], "", "" if p is None else f"p = {p:.4g}", ""))
        rows.extend(_cell_rows(r, alpha))
    stats.print_table(
        f"{summary['experiment']} ({summary['kind']}): {summary['claim']}",
        f"{stats.notation(0.95, 'Wilson')}; {stats.consistency_notation(alpha)}; a probability "
        "above 1/2 is shown through its complement; a diverged trial counts as a failure",
        ("cell / quantity", "measured", "theory", stats.TEST_HEADER),
        rows,
        console,
    )
    if summary["extra"]:
        console.print_json(stats.dumps_json(summary["extra"]))
    done = f"{summary['cells_done']}/{summary['cells_total']} cells"
    console.print(f"{done}; figures: {', '.join(summary['figures'])}")
