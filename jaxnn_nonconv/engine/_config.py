"""The configuration of one training setting: :class:`TrainConfig`, validated once.

A :class:`TrainConfig` names everything a trial needs (architecture, initialization, problem,
optimizer, steps, batch, dtype); :meth:`TrainConfig.validate` checks it once, at the edge, and
the engine trusts a validated config. Strings typed by users are parsed in
:mod:`jaxnn_nonconv.experiments.config`.
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp

from jaxnn_nonconv.core import data as datasets, inits, nets, optim, problems

DTYPES = {"float32": jnp.float32, "float64": jnp.float64}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """One Monte Carlo training setting; every trial of a run shares it.

    Attributes:
      arch: ``(d, l_1, ..., l_L, 1)``.
      init, zero_bias, init_scale: initialization (:mod:`jaxnn_nonconv.core.inits`): a family
        name or a width-power spec (arXiv 2212.13111's initializations, e.g.
        ``"width_power: W = H^(-1/7) |N|, b = H^(-1/2) N"``), stored in canonical spelling.
      activation: hidden activation (:data:`jaxnn_nonconv.core.nets.ACTIVATION_NAMES`).
      problem: target, input box and noise.
      optimizer, learning_rate, hyper: optimizer (:mod:`jaxnn_nonconv.core.optim`); ``hyper`` is a tuple
        of ``(name, value)`` overrides, kept as a tuple so the config stays hashable.
      schedule, schedule_kw: learning-rate schedule and its ``(name, value)`` parameters.
      steps: number of optimizer steps.
      batch_size: samples per step.
      data_size: ``None`` for online training (a fresh batch every step, as in the papers'
        numerics); else empirical risk minimization on one fixed data set of that size per trial,
        with batches drawn from it (full-batch gradient descent when ``batch_size >= data_size``).
      eval_size: fresh samples on which the initial and final risks are estimated.
      n_record: number of log-spaced steps at which the minibatch loss and gradient norm are kept.
      n_snapshots: number of log-spaced steps after which the flat parameter vector is kept
        (``param_traj``, :func:`~jaxnn_nonconv.engine.snapshot_steps`; the last is after the
        last step, so it equals the final parameters exactly); ``0`` (default): none, and the
        run is the same program, bit for bit, as without the option. Memory: trials x
        snapshots x parameters numbers, so opt-in. Not with a data set.
      dtype: ``float32`` or ``float64`` (the latter needs ``jax_enable_x64``).
      diverge_threshold: a trial whose final risk is not finite or exceeds this is ``diverged``.
      trainable: the parameter groups that train (``("b1",)``, ``("W2", "b1")``; groups ``W1, b1,
        W2, b2, ...`` numbered by layer from 1, :func:`jaxnn_nonconv.core.optim.check_trainable`);
        ``None`` (default): all. The others stay bit-identical to their initial values.
      data: a :class:`~jaxnn_nonconv.core.data.Dataset` shared by every trial, or ``None``. With
        data, training minimizes its empirical risk in epochs of minibatches of ``batch_size``
        (each epoch a permutation drawn from the trial's key; full batch when ``batch_size >= n``);
        ``risk0`` and ``risk`` are the empirical risks, the box is the data's bounding box, the
        target is unknown (``problem.target`` is :func:`~jaxnn_nonconv.core.data.no_target`) and
        ``data_size``, ``eval_size`` and ``noise`` do not apply (docs/data.md).
    """

    arch: tuple[int, ...] = (1, 32, 1)
    init: str = "pytorch"
    zero_bias: bool = False
    init_scale: float = 1.0
    activation: str = "relu"
    problem: problems.Problem = problems.Problem("x^2", ((0.0, 2.0),))
    optimizer: str = "sgd"
    learning_rate: float = 0.01
    hyper: tuple[tuple[str, float], ...] = ()
    schedule: str = "constant"
    schedule_kw: tuple[tuple[str, float], ...] = ()
    steps: int = 1000
    batch_size: int = 64
    data_size: int | None = None
    eval_size: int = 8192
    n_record: int = 16
    n_snapshots: int = 0
    dtype: str = "float32"
    diverge_threshold: float = 1e6
    trainable: tuple[str, ...] | None = None
    data: datasets.Dataset | None = None

    def validate(self) -> TrainConfig:
        """Check every field once, at the edge; return a normalized copy. Raises ``ValueError``."""
        arch = nets.check_arch(self.arch)
        problem = self.problem
        if self.data is not None:
            if not isinstance(self.data, datasets.Dataset):
                raise ValueError(f"data must be a Dataset, got {type(self.data).__name__}")
            if self.data_size is not None:
                raise ValueError("data_size does not apply to a data set (its n points are used)")
            if self.data.dim != arch[0]:
                raise ValueError(
                    f"the data has {self.data.dim} feature(s) but the architecture's input "
                    f"dimension is {arch[0]}"
                )
            problem = problems.Problem(datasets.no_target, self.data.box())
        problem = problem.validate()
        if problem.dim != arch[0]:
            raise ValueError(
                f"box has {problem.dim} coordinate(s) but the architecture's input dimension is "
                f"{arch[0]}"
            )
        init = inits.check_init(self.init, arch)
        nets.check_activation(self.activation)
        _check_positive(self.init_scale, "init_scale")
        _check_positive(self.learning_rate, "learning_rate")
        _check_positive(self.diverge_threshold, "diverge_threshold")
        # make() and schedule() raise for unknown names and parameters.
        optim.make(self.optimizer, self.learning_rate, **dict(self.hyper))
        optim.schedule(self.schedule, **dict(self.schedule_kw))
        for name in ("steps", "batch_size", "eval_size", "n_record"):
            check_count(getattr(self, name), name)
        if self.data_size is not None:
            check_count(self.data_size, "data_size")
        n_snap = self.n_snapshots
        if isinstance(n_snap, bool) or not isinstance(n_snap, int) or n_snap < 0:
            raise ValueError(f"n_snapshots must be an integer >= 0, got {n_snap!r}")
        if n_snap and self.data is not None:
            raise ValueError("n_snapshots is not supported with a data set (yet)")
        if self.dtype not in DTYPES:
            raise ValueError(f"unknown dtype {self.dtype!r}; valid: {', '.join(DTYPES)}")
        trainable = self.trainable
        if trainable is not None:
            if isinstance(trainable, str):
                raise ValueError(f"trainable must be a list of group names, got {trainable!r}")
            trainable = optim.check_trainable(trainable, len(arch) - 1)
            if trainable == optim.parameter_groups(len(arch) - 1):
                trainable = None  # all groups: the same run as no mask (one config hash)
        return dataclasses.replace(
            self,
            trainable=trainable,
            init=init,
            arch=arch,
            problem=problem,
            hyper=tuple(sorted(dict(self.hyper).items())),
            schedule_kw=tuple(sorted(dict(self.schedule_kw).items())),
        )

    def to_dict(self) -> dict:
        """JSON-friendly view (a callable target is shown by its name)."""
        out = dataclasses.asdict(dataclasses.replace(self, data=None))
        out.pop("data")
        if self.data is not None:
            out["data"] = self.data.to_dict()
        target = self.problem.target
        out["problem"] = {
            "target": target if isinstance(target, str) else getattr(target, "__name__", "custom"),
            "box": [list(ab) for ab in self.problem.box],
            "noise": self.problem.noise,
        }
        dist = self.problem.distribution
        if dist is not None:
            out["problem"]["distribution"] = {
                "law": type(dist).__name__,
                **dataclasses.asdict(dist),
            }
        out["arch"] = list(self.arch)
        out["hyper"] = dict(self.hyper)
        out["schedule_kw"] = dict(self.schedule_kw)
        if self.n_snapshots == 0:
            del out["n_snapshots"]  # absent when off: runs stored before snapshots keep their hash
        if self.trainable is None:
            del out["trainable"]  # absent, not null: runs stored before masks keep their hash
        else:
            out["trainable"] = list(self.trainable)
        return out


def _check_positive(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")


def check_count(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
