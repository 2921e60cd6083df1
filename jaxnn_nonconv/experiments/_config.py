"""Configuration at the edge: TOML files and command-line strings -> validated :class:`TrainConfig`.

Everything a user types is checked here, once, with messages that name the key (and its line in a
TOML file) and suggest close matches for misspelled names. Deeper code assumes valid input.

A TOML config has two tables; every key is optional::

    [train]                 # fields of TrainConfig, plus target / box / noise of the problem
    arch = [1, 32, 1]
    init = "pytorch"
    target = "x^2"
    box = "0:2"             # or [[0, 2]] or "0:1,-1:1"
    input_dist = "uniform"  # or "normal:0,1" or "piecewise:0,1,2:0,1;2,-1" (parse_input_dist)
    optimizer = "sgd"
    learning_rate = 0.01
    steps = 1000

    [run]
    trials = 1000
    seed = 0
    chunk_size = 1024

    [data]                  # optional: train on a data set (docs/data.md) instead of a target
    path = "diabetes.csv"   # .npy, .npz, .csv with a header, .parquet; relative to this file
    target_column = "target"
    features = ["age", "bmi"]   # default: every other column
    test_fraction = 0.2     # or test_path = "test.csv"
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import numbers
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jaxnn_nonconv import engine
from jaxnn_nonconv.core import (
    data as datasets,
    distributions,
    inits,
    nets,
    optim,
    problems,
)
from jaxnn_nonconv.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How many trials and how they are computed (not part of the trained setting)."""

    trials: int = 1000
    seed: int = 0
    chunk_size: int = engine.DEFAULT_CHUNK


# Trial indices are uint32 in the engine (padding to whole chunks included), so trials and chunk
# sizes are capped well below 2**32; jax.random.key keeps only the low 32 bits of a seed when 64-bit
# mode is off (key(2**32) == key(0)), so larger seeds would silently repeat smaller ones.
MAX_TRIALS = 2**31
MAX_CHUNK = 2**24
SEED_BOUND = 2**32


PROBLEM_KEYS = ("target", "box", "noise", "input_dist")
TRAIN_KEYS = (
    tuple(
        f.name for f in dataclasses.fields(engine.TrainConfig) if f.name not in ("problem", "data")
    )
    + PROBLEM_KEYS
)
RUN_KEYS = tuple(f.name for f in dataclasses.fields(RunOptions))
_NAMED = {
    "init": inits.INITS,
    "target": problems.TARGETS,
    "optimizer": optim.OPTIMIZERS,
    "schedule": optim.SCHEDULES,
    "dtype": tuple(engine.DTYPES),
}


def _edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions, transpositions.

    >>> _edit_distance("adma", "adam"), _edit_distance("adma", "adamax")
    (1, 2)
    """
    prev2, prev = [], list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def suggest(word: str, valid) -> str:
    """``'; did you mean X?'`` when a close match exists, else ``''``.

    Typos (a swapped, missing, extra or wrong letter) are ranked by edit distance first, so
    ``adma`` suggests ``adam`` rather than the longer ``adamax``; otherwise :mod:`difflib` decides.

    >>> suggest("adma", ["adam", "adamax", "sgd"])
    "; did you mean 'adam'?"
    >>> suggest("zzz", ["adam", "sgd"])
    ''
    """
    word, valid = str(word), [str(v) for v in valid]
    if not valid:
        return ""
    dist = {v: _edit_distance(word.lower(), v.lower()) for v in valid}
    best = min(valid, key=lambda v: dist[v])
    if dist[best] <= max(1, min(len(word), len(best)) // 3):
        return f"; did you mean {best!r}?"
    match = difflib.get_close_matches(word, valid, n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def check_name(kind: str, value: str, valid) -> str:
    """Return ``value`` if it is in ``valid``; else raise a :class:`ConfigError` listing them."""
    if value not in valid:
        raise ConfigError(
            f"unknown {kind} {value!r}{suggest(value, valid)} (valid: {', '.join(valid)})"
        )
    return value


def parse_box(text: str, *, allow_point: bool = False) -> problems.Box:
    """Parse ``a:b`` (every coordinate, dimension taken from the architecture) or ``a1:b1,a2:b2``.

    ``allow_point``: accept zero-width coordinates ``a:a`` (a fixed input, as in a verification
    property; ``check`` and ``advise``); training boxes need ``a < b``.

    >>> parse_box("0:2")
    ((0.0, 2.0),)
    >>> parse_box("-1:1, 0:0.5")
    ((-1.0, 1.0), (0.0, 0.5))
    """
    box = []
    for part in str(text).split(","):
        bounds = part.strip().split(":")
        if len(bounds) != 2:
            raise ConfigError(f"box {text!r}: each coordinate must be 'a:b', got {part.strip()!r}")
        try:
            a, b = (float(s) for s in bounds)
        except ValueError:
            raise ConfigError(
                f"box {text!r}: bounds must be numbers, got {part.strip()!r}"
            ) from None
        if not (math.isfinite(a) and math.isfinite(b)):
            raise ConfigError(f"box {text!r}: bounds must be finite")
        if not (a < b or (allow_point and a == b)):
            need = "a <= b" if allow_point else "a < b"
            raise ConfigError(f"box {text!r}: need {need} in every 'a:b' (empty or reversed box)")
        box.append((a, b))
    return tuple(box)


INPUT_LAWS = ("uniform", "normal", "piecewise")


def _numbers(text: str, what: str, spec: str) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(
            f"input_dist {spec!r}: {what} must be comma-separated numbers, got {text.strip()!r}"
        ) from None
    if not all(math.isfinite(v) for v in out):
        raise ConfigError(f"input_dist {spec!r}: {what} must be finite, got {text.strip()!r}")
    return out


def parse_input_dist(spec, box: problems.Box):
    """The law of ``X`` from its spec (``--input-dist``, ``input_dist`` in ``[train]``).

    ``uniform`` (on the box: ``None``); ``normal:MEAN,STD[;MEAN,STD...]``, one pair per input
    coordinate; ``piecewise:E0,E1,...,Em:P1;P2;...;Pm`` (``d = 1``): on ``[E(i-1), Ei]`` the
    density is the polynomial with coefficients ``Pi = c0,c1,...`` (normalized here), and its
    support ``[E0, Em]`` must be the box. Raises :class:`ConfigError` (one line).

    >>> parse_input_dist("normal:0,1", ((0.0, 1.0),))
    Normal(mean=(0.0,), std=(1.0,))
    >>> parse_input_dist("piecewise:0,1,2:0,1;2,-1", ((0.0, 2.0),)).coeffs
    ((0.0, 1.0), (2.0, -1.0))
    """
    if not isinstance(spec, str):
        raise ConfigError(f"input_dist must be a string such as 'normal:0,1', got {spec!r}")
    kind, _, rest = spec.strip().partition(":")
    kind = kind.strip()
    if kind not in INPUT_LAWS:
        raise ConfigError(
            f"input_dist {spec!r}: unknown law {kind!r}{suggest(kind, INPUT_LAWS)}; valid: "
            "uniform, normal:MEAN,STD[;MEAN,STD...], piecewise:E0,...,Em:P1;...;Pm"
        )
    try:
        if kind == "uniform":
            if rest.strip():
                raise ConfigError(f"input_dist {spec!r}: 'uniform' takes no parameters")
            return None
        if kind == "normal":
            pairs = [_numbers(p, "each MEAN,STD", spec) for p in rest.split(";")]
            if any(len(p) != 2 for p in pairs):
                raise ConfigError(f"input_dist {spec!r}: give MEAN,STD pairs separated by ';'")
            return distributions.Normal(
                tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
            ).validate(box)
        if len(box) != 1:
            raise ConfigError(
                f"input_dist {spec!r}: a piecewise-polynomial density needs d = 1, "
                f"the box has {len(box)} coordinates"
            )
        edges, sep, polys = rest.partition(":")
        if not sep:
            raise ConfigError(f"input_dist {spec!r}: expected piecewise:E0,E1,...,Em:P1;P2;...;Pm")
        law = distributions.PiecewisePolynomial(
            _numbers(edges, "the edges", spec),
            tuple(_numbers(p, "each piece's coefficients", spec) for p in polys.split(";")),
        )
        law = law.validate()
        if law.box != tuple(box):
            (a, b), (e0, em) = box[0], law.box[0]
            raise ConfigError(
                f"input_dist {spec!r}: the density's support [{e0:g}, {em:g}] is not the box "
                f"[{a:g}, {b:g}] (set the box to {e0:g}:{em:g})"
            )
        return law
    except ConfigError:
        raise
    except ValueError as e:  # the law's own checks (edges, sign, stds)
        raise ConfigError(f"input_dist {spec!r}: {e}") from None


def parse_arch(text: str) -> tuple[int, ...]:
    """Parse ``1,32,1``.

    >>> parse_arch("1, 32,32 ,1")
    (1, 32, 32, 1)
    """
    try:
        arch = tuple(int(s) for s in str(text).split(","))
    except ValueError:
        raise ConfigError(f"arch {text!r}: expected comma-separated integers like 1,32,1") from None
    return _checked_arch(arch)


def _checked_arch(arch) -> tuple[int, ...]:
    if not isinstance(arch, (list, tuple)) or not all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in arch
    ):
        raise ConfigError(f"arch must be a list of integers like [1, 32, 1], got {arch!r}")
    try:
        return nets.check_arch(arch)
    except ValueError as e:
        raise ConfigError(f"arch: {e}") from None


def _box_for(box, dim: int) -> problems.Box:
    """A box from a string or a list of pairs; a single ``a:b`` is repeated to ``dim`` coords."""
    if isinstance(box, str):
        parsed = parse_box(box)
        single = "," not in box
    else:
        try:
            parsed = tuple((float(a), float(b)) for a, b in box)
        except (TypeError, ValueError):
            raise ConfigError(f"box {box!r}: expected 'a:b' or a list of [a, b] pairs") from None
        single = False
        parse_box(",".join(f"{a}:{b}" for a, b in parsed))  # same checks as a string
    if single and dim > 1:
        parsed = parsed * dim
    if len(parsed) != dim:
        raise ConfigError(
            f"box has {len(parsed)} coordinate(s) but the architecture's input dimension is {dim}"
        )
    return parsed


DATA_KEYS = ("path", "features", "target_column", "test_fraction", "test_path")
# The train/test split of --test-fraction is the same for every run: its own fixed seed.
SPLIT_SEED = 0


def data_from(values: Mapping[str, Any], base: str | Path | None = None) -> datasets.Dataset:
    """A :class:`~jaxnn_nonconv.core.data.Dataset` from a ``[data]`` table (or the flags
    ``--data``, ``--features``, ``--target-column``, ``--test-fraction``, ``--test-data``).

    Relative paths are taken from ``base`` (the config file's folder). ``features`` is a list of
    column names or one comma-separated string. Raises :class:`ConfigError` (one line).
    """
    for key in values:
        if key not in DATA_KEYS:
            raise ConfigError(f"unknown key {key!r}{suggest(key, DATA_KEYS)} in [data]")
    if "path" not in values:
        raise ConfigError("[data] needs a path (a .npy, .npz, .csv or .parquet file)")
    features = values.get("features")
    if isinstance(features, str):
        features = [f.strip() for f in features.split(",") if f.strip()]
    if features is not None and not (
        isinstance(features, list) and all(isinstance(f, (str, int)) for f in features)
    ):
        raise ConfigError(f"features must be a list of column names, got {features!r}")
    target = values.get("target_column")
    fraction = values.get("test_fraction")
    if fraction is not None and values.get("test_path") is not None:
        raise ConfigError(
            "give test_fraction or test_path (--test-fraction or --test-data), not both"
        )
    if fraction is not None and (not _is_number(fraction) or not 0 < fraction < 1):
        raise ConfigError(f"test_fraction must be a number in (0, 1), got {fraction!r}")

    def where(p):
        p = Path(str(p))
        return p if p.is_absolute() or base is None else Path(base) / p

    test = values.get("test_path")
    return _load_data(
        where(values["path"]),
        None if features is None else tuple(str(f) for f in features),
        None if target is None else str(target),
        None if test is None else where(test),
        fraction,
    )


def _load_data(path, features, target, test, fraction) -> datasets.Dataset:
    key = tuple(
        None if p is None else (str(p), p.stat().st_mtime_ns if p.is_file() else None)
        for p in (path, test)
    )
    return _load_data_cached(key, features, target, fraction)


@functools.lru_cache(maxsize=8)
def _load_data_cached(key, features, target, fraction) -> datasets.Dataset:
    """Read once per file version: a sweep builds one config per cell from the same file."""
    path, test = (None if k is None else k[0] for k in key)
    ds = datasets.load(path, features=features, target=target, test=test)
    return ds if fraction is None else datasets.split(ds, fraction, SPLIT_SEED)


def build(
    values: Mapping[str, Any],
    run: Mapping[str, Any] | None = None,
    data: datasets.Dataset | None = None,
):
    """Build ``(TrainConfig, RunOptions)`` from plain key/value mappings (TOML tables or flags).

    Raises :class:`ConfigError` with a message naming the offending key. With ``data`` (a
    :class:`~jaxnn_nonconv.core.data.Dataset`) the box, target and noise come from the data and
    may not be given.

    >>> cfg, opts = build({"arch": [1, 8, 1], "box": "0:1", "optimizer": "adam"}, {"trials": 10})
    >>> cfg.arch, cfg.problem.box, cfg.optimizer, opts.trials
    ((1, 8, 1), ((0.0, 1.0),), 'adam', 10)
    """
    values = dict(values)
    if data is not None:
        for key in ("box", "target", "noise", "data_size", "input_dist"):
            if key in values:
                raise ConfigError(
                    f"{key} does not apply to a data set (the box is the data's bounding box, "
                    "the target its target column, the data size its rows, the inputs its law)"
                )
        values["box"] = [list(ab) for ab in data.box()]
    for key in values:
        if key in RUN_KEYS:
            raise ConfigError(f"unknown key {key!r}: it is a run option, not a [train] key")
        if key not in TRAIN_KEYS:
            raise ConfigError(f"unknown key {key!r}{suggest(key, TRAIN_KEYS)}")
    for key, valid in _NAMED.items():
        if key == "init" and inits.width_power.is_spec(values.get(key)):
            try:  # syntax here; the groups against the architecture in TrainConfig.validate
                inits.check_init(values[key])
            except ValueError as e:
                raise ConfigError(str(e)) from None
        elif key in values:
            check_name(key.replace("_", " "), values[key], valid)
    if "activation" in values:
        try:
            nets.check_activation(values["activation"])
        except ValueError as e:
            if str(values["activation"]).startswith("repu:"):
                raise ConfigError(str(e)) from None
            check_name("activation", values["activation"], nets.ACTIVATION_NAMES)
    _check_types(values)
    default = engine.TrainConfig()
    arch = values.get("arch", default.arch)
    arch = parse_arch(arch) if isinstance(arch, str) else _checked_arch(arch)
    if data is not None and data.dim != arch[0]:
        raise ConfigError(
            f"the data has {data.dim} feature column(s) but the architecture's input dimension "
            f"is {arch[0]}"
        )
    box = _box_for(values.get("box", "0:2"), arch[0])
    law = parse_input_dist(values["input_dist"], box) if "input_dist" in values else None
    problem = problems.Problem(
        values.get("target", default.problem.target), box, values.get("noise", 0.0), law
    )
    fields = {k: v for k, v in values.items() if k not in PROBLEM_KEYS}
    for key in ("hyper", "schedule_kw"):
        if key in fields:
            if not isinstance(fields[key], Mapping):
                raise ConfigError(f"{key} must be a table of name = number")
            fields[key] = tuple(fields[key].items())
    if "trainable" in fields:
        fields["trainable"] = parse_trainable(fields["trainable"])
    fields["arch"] = arch
    try:
        cfg = dataclasses.replace(default, problem=problem, data=data, **fields).validate()
    except (TypeError, ValueError) as e:
        raise ConfigError(str(e)) from None
    return cfg, run_options(run or {})


def parse_trainable(value) -> tuple[str, ...]:
    """Trainable groups from ``"b1,W2"`` (a flag) or ``["b1", "W2"]`` (TOML); checked against the
    architecture later, in :meth:`TrainConfig.validate`.

    >>> parse_trainable("b1, W2"), parse_trainable(["b1"])
    (('b1', 'W2'), ('b1',))
    """
    if isinstance(value, str):
        names = tuple(s.strip() for s in value.split(",") if s.strip())
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        names = tuple(value)
    else:
        raise ConfigError(f'trainable must be a list of group names like ["b1"], got {value!r}')
    try:
        return optim.check_trainable(names)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_types(values: Mapping[str, Any]) -> None:
    """Type checks the dataclasses would not do (or would do with an unclear message)."""
    if "zero_bias" in values and not isinstance(values["zero_bias"], bool):
        raise ConfigError(f"zero_bias must be true or false, got {values['zero_bias']!r}")
    if "noise" in values and not _is_number(values["noise"]):
        raise ConfigError(f"noise must be a number, got {values['noise']!r}")
    for key in ("hyper", "schedule_kw"):
        table = values.get(key)
        if isinstance(table, Mapping):
            for name, value in table.items():
                if not (_is_number(value) or isinstance(value, bool)):
                    raise ConfigError(f"{key}: {name!r} must be a number, got {value!r}")
                if isinstance(value, float) and not math.isfinite(value):
                    raise ConfigError(f"{key}: {name!r} must be finite, got {value!r}")


def run_options(values: Mapping[str, Any]) -> RunOptions:
    for key in values:
        if key in TRAIN_KEYS:
            raise ConfigError(f"unknown key {key!r} in [run]: it is a [train] key")
        if key not in RUN_KEYS:
            raise ConfigError(f"unknown key {key!r} in [run]{suggest(key, RUN_KEYS)}")
    opts = RunOptions(**values)
    for key, limit, text in (("trials", MAX_TRIALS, "2**31"), ("chunk_size", MAX_CHUNK, "2**24")):
        value = getattr(opts, key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{key} must be a positive integer, got {value!r}")
        if value > limit:
            raise ConfigError(f"{key} must be at most {text} = {limit}, got {value}")
    seed = opts.seed
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_BOUND:
        raise ConfigError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    return opts


def read_toml(path: str | Path) -> tuple[dict, str]:
    """Parse a TOML file; return ``(data, text)``. Errors name the file and line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read config {str(path)!r}: {e.strerror}") from None
    except ValueError:  # the OS cannot even name it (a NUL byte)
        raise ConfigError(f"cannot read config {str(path)!r}: not a valid file name") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raise ConfigError(
            f"{path}:1: the file starts with a UTF-8 byte order mark (BOM), which TOML does not "
            "allow; save it as UTF-8 without BOM"
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{path}:1: the file is UTF-16 text; TOML must be UTF-8 (without BOM)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text ({e.reason} at byte {e.start}); TOML must be UTF-8"
        ) from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"at line (\d+)", str(e))
        where = f"{path}:{m.group(1)}" if m else str(path)
        raise ConfigError(f"{where}: malformed TOML: {e}") from None


def line_of(text: str, key: str) -> int | None:
    """1-based line on which ``key = ...`` first appears in ``text``.

    >>> line_of("[train]\\nsteps = 3\\n", "steps")
    2
    >>> line_of("[train]\\n\\n  'steps'= 3\\n", "steps")  # blank lines, quoted keys
    3
    """
    pattern = re.compile(rf"^[ \t]*([\"']?){re.escape(key)}\1[ \t]*=", re.MULTILINE)
    m = pattern.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def _inline_line_of(text: str, key: str) -> int | None:
    """1-based line of ``key = ...`` anywhere on a line, e.g. inside an inline table."""
    m = re.search(rf"(?<![\w.\-]){re.escape(key)}[ \t]*=", text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def named_keys(error: Exception) -> list[str]:
    """The ``[train]`` and ``[run]`` keys that the message of ``error`` names, in order.

    >>> named_keys(ConfigError("box has 3 coordinate(s) but the architecture's input dimension is 2"))
    ['box']
    >>> named_keys(ConfigError("learning_rate must be a finite number > 0, got nan"))
    ['learning_rate']
    """
    words = re.findall(r"[A-Za-z_]+", str(error))
    return [w for w in dict.fromkeys(words) if w in TRAIN_KEYS + RUN_KEYS]


def with_line(error: ConfigError, path, text: str) -> ConfigError:
    """Prefix ``error`` with ``path:line`` of the first key it names that occurs in ``text``."""
    message = str(error)
    words = re.findall(r"'([A-Za-z_][A-Za-z0-9_]*)'", message) + re.findall(r"[A-Za-z_]+", message)
    candidates = [w for w in words if w in TRAIN_KEYS + RUN_KEYS or f"'{w}'" in message]
    line = next((n for n in map(lambda w: line_of(text, w), candidates) if n), None)
    if line is None:  # e.g. a key inside an inline table: hyper = {momentum = "x"}
        line = next((n for n in map(lambda w: _inline_line_of(text, w), words) if n), None)
    where = f"{path}:{line}" if line else str(path)
    return ConfigError(f"{where}: {message}")


def load(path: str | Path, tables: tuple[str, ...] = ("train", "run", "data")) -> tuple[dict, str]:
    """Read a TOML config and check its top-level tables; return ``(data, text)``."""
    data, text = read_toml(path)
    for table, value in data.items():
        if table not in tables:
            line = line_of(text.replace(f"[{table}]", f"{table} ="), table)
            where = f"{path}:{line}" if line else str(path)
            raise ConfigError(
                f"{where}: unknown table [{table}]{suggest(table, tables)} "
                f"(valid: {', '.join(tables)})"
            )
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: {table!r} must be a table [{table}]")
    return data, text


def load_train(path: str | Path):
    """``(TrainConfig, RunOptions)`` from a TOML file with ``[train]``, ``[run]`` and an optional
    ``[data]`` table."""
    data, text = load(path)
    try:
        table = data.get("data")
        ds = None if table is None else data_from(table, Path(path).parent)
        return build(data.get("train", {}), data.get("run", {}), data=ds)
    except ConfigError as e:
        raise with_line(e, path, text) from None
