"""``python -m d2lmini``: the command line (:mod:`d2lmini.cli`)."""

import sys

from .cli import main

sys.exit(main())
