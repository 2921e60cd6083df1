"""The ``check`` and ``advise`` subcommands of ``jaxnn-nonconv`` (your own network and data).

``jaxnn-nonconv check MODEL (--box ... | --data FILE) [--json]`` certifies the dead neurons of a
model file (:mod:`jaxnn_nonconv.models`) on a box or a data set's box
(:mod:`jaxnn_nonconv.models`); ``jaxnn-nonconv advise --arch ... --box ...`` ranks the init
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
    require_hidden,
    setup_jax,
)
from jaxnn_nonconv.core import inits
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
        help="certify the dead / alive / undecided neurons of your model on your domain",
        description="Certify which hidden neurons of a ReLU MLP are inactive on the whole input "
        "domain (dead: zero gradient, they never train again), which are certainly active, and "
        "which are undecided.",
    )
    p.add_argument("model", help="model file: .pt/.pth (state_dict), .safetensors or .npz")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--box", help="input box a:b (every coordinate) or a1:b1,a2:b2,...")
    g.add_argument("--data", help="data file .csv/.npy/.npz of shape (n, d): its bounding box")
    p.add_argument(
        "--pad", type=float, default=0.0, help="with --data: widen by this fraction of the range"
    )
    p.add_argument(
        "--quantile",
        type=float,
        default=0.0,
        help="with --data: clip the box to the [q, 1-q] quantiles (default 0: min/max)",
    )
    add_detector_flags(p)
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=cmd_check)


def _box_of(text: str, dim: int):
    box = config.parse_box(text)
    if len(box) == 1 and "," not in text:
        box = box * dim
    if len(box) != dim:
        raise config.ConfigError(
            f"box has {len(box)} coordinate(s) but the model's input dimension is {dim}"
        )
    return box


def cmd_check(args) -> int:
    from jaxnn_nonconv import models

    setup_jax(False)  # float64 weights are checked in float64 by models.check itself
    try:
        model = models.load(args.model)
        dim = model.arch[0]
        if args.box is not None:
            if args.pad or args.quantile:
                raise config.ConfigError("--pad and --quantile apply to --data only")
            dom = models.from_box(_box_of(args.box, dim))
        else:
            x = models.load_data(args.data)
            if x.shape[1] != dim:
                raise config.ConfigError(
                    f"{args.data}: data has {x.shape[1]} column(s) but the model's input "
                    f"dimension is {dim}"
                )
            dom = models.from_data(x, pad=args.pad, quantile=args.quantile, source=args.data)
        settings = _check_detector_args(args, dim)
        result = models.check(model, dom, settings=settings)
    except models.ModelError as e:
        raise config.ConfigError(str(e)) from None
    return emit(result, args.json, models.print_result)


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
    p.add_argument("--box", required=True, help="input box a:b or a1:b1,a2:b2,...")
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
    p.set_defaults(func=cmd_advise)


def cmd_advise(args) -> int:
    from jaxnn_nonconv import models
    from jaxnn_nonconv.core import inits

    setup_jax(False)
    arch = config.parse_arch(args.arch)
    require_hidden(arch, "advise")
    box = _box_of(args.box, arch[0])
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
    )
    return emit(out, args.json, models.print_advice)
