"""``python -m bench.badday``: the same as ``python -m bench badday``."""

import sys

from bench.badday import main

sys.exit(main())
