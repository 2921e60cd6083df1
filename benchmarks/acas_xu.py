"""Undecided neurons of ``check`` on the ACAS Xu networks: before and after the per-neuron stages.

Takes the directory of the 45 ``ACASXU_experimental_v2a_<a>_<b>.nnet`` files (the Marabou
repository, ``resources/nnet/acasxu/``; not shipped, never downloaded here) and checks each net on
its whole domain (the file's min/max, raw units) and on the input boxes of properties 1-4
(normalized network units, as ``--network-units``; properties 1 and 2 share their box, so it is
checked once and reported for both). "Before" is the detector alone (``--no-per-neuron``);
"after" adds the per-neuron stage and the input-splitting branch and bound (``--bab-boxes``).
Prints a markdown table of undecided neurons in percent per net, and the totals.

Example::

    python -m benchmarks.acas_xu acasxu/ --nets 1_1,1_7 --bab-boxes 8192
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

DOMAIN = (
    (0.0, 60760.0),
    (-3.141593, 3.141593),
    (-3.141593, 3.141593),
    (100.0, 1200.0),
    (0.0, 1200.0),
)
PROP1 = ((0.6, 0.679857769), (-0.5, 0.5), (-0.5, 0.5), (0.45, 0.5), (-0.5, -0.45))
PROP3 = (
    (-0.303531156, -0.298552812),
    (-0.009549297, 0.009549297),
    (0.493380324, 0.5),
    (0.3, 0.5),
    (0.3, 0.5),
)
PROP4 = (
    (-0.303531156, -0.298552812),
    (-0.009549297, 0.009549297),
    (0.0, 0.0),
    (0.318181818, 0.5),
    (0.083333333, 0.166666667),
)
BOXES = {
    "domain": (DOMAIN, False),
    "prop1": (PROP1, True),
    "prop3": (PROP3, True),
    "prop4": (PROP4, True),
}


def _undecided(result) -> tuple[int, int, int, int]:
    """``(undecided, inactive, active, neurons)`` over the hidden layers."""
    und = sum(len(layer.unknown) for layer in result.layers)
    ina = sum(len(layer.inactive) for layer in result.layers)
    act = sum(len(layer.active) for layer in result.layers)
    return und, ina, act, sum(layer.width for layer in result.layers)


def main(argv: list[str] | None = None) -> int:
    """Run the checks and print the table.

    Args:
      argv: command-line arguments (default ``sys.argv[1:]``).

    Returns:
      The exit status, 0.
    """
    import dataclasses

    import jax

    from jaxnn_nonconv import models

    jax.config.update("jax_enable_x64", True)
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("directory", help="directory of the ACASXU_experimental_v2a_*.nnet files")
    p.add_argument("--nets", help="comma-separated a_b names, e.g. 1_1,1_7 (default: all)")
    p.add_argument("--boxes", default="domain,prop1,prop3,prop4", help="which boxes")
    p.add_argument("--bab-boxes", type=int, default=8192, help="sub-boxes per net and box")
    p.add_argument("--no-before", action="store_true", help="skip the --no-per-neuron run")
    args = p.parse_args(argv)
    files = sorted(Path(args.directory).glob("ACASXU_experimental_v2a_*.nnet"))
    names = [f.stem.removeprefix("ACASXU_experimental_v2a_") for f in files]
    if args.nets:
        wanted = args.nets.split(",")
        by_name = dict(zip(names, files, strict=True))
        names = [n for n in wanted if n in by_name]  # in the given order
        files = [by_name[n] for n in names]
    boxes = args.boxes.split(",")
    print(
        "| net | "
        + " | ".join(f"{b} before → after" for b in boxes)
        + " | s/net before | s/net after |"
    )
    print("|---|" + "---|" * (len(boxes) + 2))
    totals = {b: [0, 0, 0, 0, 0] for b in boxes}  # undecided before, after, inactive, active, n
    for f, name in zip(files, names, strict=True):
        model = models.load(str(f))
        cells, t_before, t_after = [], 0.0, 0.0
        for b in boxes:
            box, network_units = BOXES[b]
            m = model
            if network_units:
                m = dataclasses.replace(model, input_map=None)
            dom = models.from_box(box)
            before = None
            if not args.no_before:
                t = time.perf_counter()
                before = _undecided(models.check(m, dom, per_neuron=False))
                t_before += time.perf_counter() - t
            t = time.perf_counter()
            after = _undecided(models.check(m, dom, bab_boxes=args.bab_boxes))
            t_after += time.perf_counter() - t
            tot = totals[b]
            tot[0] += before[0] if before else 0
            tot[1:] = [tot[1] + after[0], tot[2] + after[1], tot[3] + after[2], tot[4] + after[3]]
            pct = 100.0 * after[0] / after[3]
            cells.append(
                f"{100.0 * before[0] / before[3]:.1f} → {pct:.1f}" if before else f"{pct:.1f}"
            )
        print(
            f"| {name} | " + " | ".join(cells) + f" | {t_before:.2f} | {t_after:.2f} |", flush=True
        )
    print()
    print("| box | undecided before | undecided after | inactive (after) | active (after) |")
    print("|---|---|---|---|---|")
    for b, (ub, ua, ina, act, n) in totals.items():
        before = f"{100.0 * ub / n:.2f}%" if not args.no_before and n else "-"
        print(f"| {b} | {before} | {100.0 * ua / max(n, 1):.2f}% | {ina} | {act} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
