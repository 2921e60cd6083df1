"""``python -m jaxnn_nonconv.flow CONFIG --out DIR [--full]``: the gradient-flow study."""

import sys

from jaxnn_nonconv.flow._study import main

sys.exit(main())
