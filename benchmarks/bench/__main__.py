"""``python -m benchmarks.bench``."""

import sys

from benchmarks.bench.run import main

sys.exit(main())
