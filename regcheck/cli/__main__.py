"""``python -m regcheck.cli``: the ``regcheck`` command."""

import sys

from regcheck.cli import main

sys.exit(main())
