"""``python -m uncertainty_gk.cli``: the same as the ``ugk`` command."""

import sys

from .main import main

sys.exit(main())
