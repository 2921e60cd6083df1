"""The ``check`` and ``advise`` subcommands of ``jaxnn-nonconv`` (your own network and data).

``jaxnn-nonconv check MODEL... (--box ... | --data FILE | --vnnlib FILE) [--json]`` certifies the
dead neurons of model files (several, or directories of them, in one run) on a box, a data set's
box or the boxes of a VNN-LIB property (:mod:`jaxnn_nonconv.models`); ``jaxnn-nonconv advise --arch
... --box ...`` ranks the init
families (:mod:`jaxnn_nonconv.models`). Bad input becomes a
:class:`~jaxnn_nonconv.errors.ConfigError`: one line on stderr and exit code 2.
"""

from __future__ import annotations

from jaxnn_nonconv import detector
from jaxnn_nonconv.cli._common import (
    add_detector_flags,
    detector_settings,
    emit,
    one_of,
    setup_jax,
)
from jaxnn_nonconv.core import inits
from jaxnn_nonconv.estimation import require_hidden
from jaxnn_nonconv.experiments import config


def _check_detector_args(args, dim: int) -> detector.DetectorSettings:
    """The detector flags as settings; ``--mode exact`` only for ``d = 1`` models here."""
    settings = detector_settings(args)
    if args.mode == "exact" and dim != 1:
        raise config.ConfigError(f"--mode exact needs input dimension 1, got {dim}")
    return settings


def add_check(sub) -> None:
    p = sub.add_parser(
        "check",
        help="certify the dead / alive / undecided neurons of your model(s) on your domain",
        description="Certify which hidden neurons of a ReLU MLP are inactive on the whole input "
        "domain (dead: zero gradient, they never train again), which are certainly active, and "
        "which are undecided. Several model files (or directories of them) are checked in one "
        "run, compiled once per architecture.",
    )
    p.add_argument(
        "model",
        nargs="+",
        help="model files or directories: .pt/.pth (state_dict), .safetensors, .npz, .onnx, "
        ".nnet, .skops, .keras",
    )
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--box", help="input box a:b (every coordinate) or a1:b1,a2:b2,... (a <= b)")
    g.add_argument("--data", help="data file .csv/.npy/.npz of shape (n, d): its bounding box")
    g.add_argument(
        "--vnnlib", help="VNN-LIB property: its input box (a disjunction: each box in turn)"
    )
    p.add_argument(
        "--pad", type=float, default=0.0, help="with --data: widen by this fraction of the range"
    )
    p.add_argument(
        "--quantile",
        type=float,
        default=0.0,
        help="with --data: clip the box to the [q, 1-q] quantiles (default 0: min/max)",
    )
    p.add_argument(
        "--activation",
        help="hidden activation: relu, clip or repu:P (default: the one the model file stores, "
        "else relu, said in the output); clip nets also get saturated/frozen/moving neurons",
    )
    add_detector_flags(p)
    x = p.add_argument_group("per-neuron results")
    x.add_argument(
        "--network-units",
        action="store_true",
        help="the domain is in the network's input units: skip a .nnet file's input "
        "normalization or an ONNX input offset (VNN-COMP properties are in these units)",
    )
    x.add_argument(
        "--no-per-neuron",
        action="store_true",
        help="skip bounds, witnesses and always-active neurons (the detector alone; faster)",
    )
    x.add_argument(
        "--bab-boxes",
        type=int,
        default=8192,
        metavar="N",
        help="sub-boxes per model and box of input-splitting branch and bound (backward linear "
        "bounds on a growing pool of sub-boxes) for the neurons still undecided after the "
        "per-neuron stage (ReLU nets, boxes of at most 16 sides of nonzero width; a count, so "
        "the result is the same on every machine; default 8192; 0: skip)",
    )
    x.add_argument(
        "--complete",
        action="store_true",
        help="decide the still undecided neurons by one mixed-integer program each (SciPy's "
        "HiGHS; nets of at most 2000 hidden neurons)",
    )
    x.add_argument(
        "--complete-time",
        type=float,
        default=5.0,
        help="with --complete: seconds per neuron (default 5)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print machine-readable JSON (a list when several models or boxes are checked)",
    )
    p.set_defaults(
        func=cmd_check,
        oom_hint="use a smaller --grid, --mode crown, or a smaller --sample-size",
    )


def _box_of(text: str, dim: int, *, allow_point: bool = True):
    box = config.parse_box(text, allow_point=allow_point)
    if len(box) == 1 and "," not in text:
        box = box * dim
    if len(box) != dim:
        raise config.ConfigError(
            f"box has {len(box)} coordinate(s) but the model's input dimension is {dim}"
        )
    return box


def _model_files(paths: list[str]) -> list[str]:
    """The given files, and the model files of the given directories (sorted by name)."""
    from pathlib import Path

    from jaxnn_nonconv import models

    files = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found = sorted(
                str(f) for f in path.iterdir() if f.suffix.lower() in models.FILE_SUFFIXES
            )
            if not found:
                raise config.ConfigError(
                    f"{path}: no model files ({', '.join(models.FILE_SUFFIXES)})"
                )
            files.extend(found)
        else:
            files.append(text)
    return files


def _domains(args, dim: int, source: str) -> list:
    from jaxnn_nonconv import models

    if args.box is not None:
        if args.pad or args.quantile:
            raise config.ConfigError("--pad and --quantile apply to --data only")
        return [models.from_box(_box_of(args.box, dim))]
    if args.vnnlib is not None:
        doms = models.read_vnnlib(args.vnnlib)
        if doms[0].dim != dim:
            raise config.ConfigError(
                f"{args.vnnlib}: the property has {doms[0].dim} input(s) but {source} has {dim}"
            )
        return doms
    x = models.load_data(args.data)
    if x.shape[1] != dim:
        raise config.ConfigError(
            f"{args.data}: data has {x.shape[1]} column(s) but the model's input dimension is {dim}"
        )
    return [models.from_data(x, pad=args.pad, quantile=args.quantile, source=args.data)]


def cmd_check(args) -> int:
    import dataclasses
    import math

    from jaxnn_nonconv import models

    setup_jax(False)  # float64 weights are checked in float64 by models.check itself
    if not (math.isfinite(args.complete_time) and args.complete_time > 0):
        raise config.ConfigError(f"--complete-time must be a number > 0, got {args.complete_time}")
    if args.bab_boxes < 0:
        raise config.ConfigError(f"--bab-boxes must be an integer >= 0, got {args.bab_boxes}")
    results = []
    try:
        files = _model_files(args.model)
        for path in files:
            model = models.load(path)
            if args.network_units and model.input_map is not None:
                note = f"{model.input_map.text.split(':')[0]} skipped (--network-units)"
                model = dataclasses.replace(model, input_map=None, notes=(note,))
            dim = model.arch[0]
            settings = _check_detector_args(args, dim)
            for dom in _domains(args, dim, path):
                r = models.check(
                    model,
                    dom,
                    settings=settings,
                    per_neuron=not args.no_per_neuron,
                    complete=args.complete,
                    complete_time=args.complete_time,
                    bab_boxes=args.bab_boxes,
                    activation=args.activation,
                )
                results.append((path, r))
    except models.ModelError as e:
        raise config.ConfigError(str(e)) from None
    if len(results) == 1 and len(files) == 1 and args.vnnlib is None:
        return emit(results[0][1], args.json, models.print_result)
    listed = [{"file": path, **r.to_dict()} for path, r in results]

    def tables(_):
        for path, r in results:
            models.print_result(r, title_prefix=f"{path}: ")

    return emit(listed, args.json, tables)


def add_advise(sub) -> None:
    p = sub.add_parser(
        "advise",
        help="rank init families by P(dead neuron at init), P(constant net), restarts needed",
        description="Rank initialization families for your architecture and input box: for "
        "each family (with and without bias), the probability that some neuron is dead at "
        "initialization, that the whole network is constant on the box, and how many restarts "
        "make at least one run free of dead neurons with 95% probability. Exactly equal "
        "estimates share a rank.",
    )
    p.add_argument("--arch", required=True, help="widths, e.g. 10,64,64,1")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--box", help="input box a:b or a1:b1,a2:b2,...")
    g.add_argument(
        "--data",
        help="data file (.npy, .npz, .csv with a header, .parquet): rank by P(some neuron dead "
        "on the data); the box is the data's bounding box",
    )
    p.add_argument("--features", help="with --data: input columns (default: all but the target)")
    p.add_argument("--target-column", help="with --data: the target column (default: the last)")
    p.add_argument("--trials", type=int, default=2000, help="initializations per family")
    p.add_argument("--seed", type=int, default=0, help="trial i uses fold_in(key(seed), i)")
    p.add_argument("--confidence", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument(
        "--inits",
        help="comma-separated init families, each "
        f"{one_of(inits.INITS)} (default: all, each with and without bias)",
    )
    add_detector_flags(p)
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=cmd_advise, oom_hint="use fewer --trials, a smaller --grid or --mode crown")


def cmd_advise(args) -> int:
    from jaxnn_nonconv import models
    from jaxnn_nonconv.core import inits

    setup_jax(False)
    arch = config.parse_arch(args.arch)
    require_hidden(arch, "advise")
    points = None
    if args.data is None:
        if args.features is not None or args.target_column is not None:
            raise config.ConfigError("--features and --target-column need --data FILE")
        box = _box_of(args.box, arch[0], allow_point=False)  # training problems need a < b
    else:
        ds = config.data_from(
            {
                "path": args.data,
                **({} if args.features is None else {"features": args.features}),
                **({} if args.target_column is None else {"target_column": args.target_column}),
            }
        )
        if ds.dim != arch[0]:
            raise config.ConfigError(
                f"{args.data}: {ds.dim} feature column(s) but the architecture's input "
                f"dimension is {arch[0]}"
            )
        box, points = ds.box(), ds.x
    if not 1 <= args.trials <= config.MAX_TRIALS:
        raise config.ConfigError(f"--trials must be in [1, {config.MAX_TRIALS}]")
    if not 0 <= args.seed < config.SEED_BOUND:
        raise config.ConfigError(f"--seed must be in [0, {config.SEED_BOUND})")
    if not 0 < args.confidence < 1:
        raise config.ConfigError(f"--confidence must be in (0, 1), got {args.confidence}")
    families = models.FAMILIES
    if args.inits:
        names = [config.check_name("init", n.strip(), inits.INITS) for n in args.inits.split(",")]
        families = tuple(f for f in models.FAMILIES if f[0] in names)
    settings = _check_detector_args(args, arch[0])
    out = models.advise(
        arch,
        box,
        trials=args.trials,
        seed=args.seed,
        confidence=args.confidence,
        families=families,
        settings=settings,
        points=points,
    )
    return emit(out, args.json, models.print_advice)
