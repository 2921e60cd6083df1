"""Read scikit-learn ``MLPRegressor`` / ``MLPClassifier`` objects and ``.skops`` files.

A fitted MLP's ``coefs_[k]: (l_{k-1}, l_k)`` and ``intercepts_[k]`` are this project's
``W_k = coefs_[k].T`` and ``b_k``; its hidden ``activation`` must be ``"relu"`` (``tanh``,
``logistic`` and ``identity`` have no zero-gradient region and are refused with
:class:`~jaxnn_nonconv.models.NoDeadNeurons`). A classifier's output function (softmax or
logistic) follows the last affine layer and does not change which hidden neurons are dead.

``.skops`` files are read with the ``skops`` package's safe loader: the file's types are listed
first (``skops.io.get_untrusted_types``) and loading goes on only when every type outside skops'
own defaults is one of :data:`TRUSTED` (the two MLP classes, the classifier's label binarizer,
the optimizers' states); otherwise the file is refused, naming the types. Pickle and joblib
files are never read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from jaxnn_nonconv.errors import ModelError
from jaxnn_nonconv.models import _loaders as loaders

TRUSTED: tuple[str, ...] = (
    "sklearn.neural_network._multilayer_perceptron.MLPRegressor",
    "sklearn.neural_network._multilayer_perceptron.MLPClassifier",
    "sklearn.preprocessing._label.LabelBinarizer",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
)


def from_sklearn(est: Any) -> loaders.Model:
    """A fitted ``MLPRegressor`` / ``MLPClassifier``.

    Raises:
      NoDeadNeurons: hidden activation ``tanh``, ``logistic`` or ``identity``.
      ModelError: not a fitted scikit-learn MLP.
    """
    kind = type(est).__name__
    if kind not in ("MLPRegressor", "MLPClassifier"):
        raise ModelError(f"unsupported scikit-learn model {kind} (MLPRegressor/MLPClassifier only)")
    if not hasattr(est, "coefs_"):
        raise ModelError(f"this {kind} is not fitted (no coefs_)")
    loaders.check_activation_name(str(est.activation), f"the {kind}'s hidden activation")
    layers = [
        (f"coefs_[{k}]", np.asarray(w).T, np.asarray(b))
        for k, (w, b) in enumerate(zip(est.coefs_, est.intercepts_, strict=True))
    ]
    return loaders.build(layers, f"sklearn {kind}", "relu")


def load_file(path: str | Path) -> loaders.Model:
    """Read a ``.skops`` file safely (see the module docstring).

    Raises:
      ModelError: the ``skops`` package is missing, the file is unreadable or holds a type
        outside :data:`TRUSTED`, or :func:`from_sklearn` refuses the model.
    """
    try:
        import skops.io as sio
    except ImportError:
        raise ModelError(
            f"{path}: reading .skops files needs skops (pip install 'jaxnn_nonconv[sklearn]')"
        ) from None
    try:
        untrusted = sio.get_untrusted_types(file=str(path))
    except Exception as e:
        raise ModelError(f"{path}: not a readable .skops file ({loaders._one_line(e)})") from None
    refused = sorted(set(untrusted) - set(TRUSTED))
    if refused:
        raise ModelError(
            f"{path}: holds types that are not a scikit-learn MLP ({', '.join(refused[:4])}); "
            "refused without loading"
        )
    try:
        est = sio.load(str(path), trusted=list(untrusted))
    except Exception as e:
        raise ModelError(f"{path}: not a readable .skops file ({loaders._one_line(e)})") from None
    return from_sklearn(est)
