import sys

from jaxnn_nonconv.cli import main

sys.exit(main())
