"""``python -m jaxnn_nonconv.bench``."""

import sys

from jaxnn_nonconv.bench._run import main

sys.exit(main())
