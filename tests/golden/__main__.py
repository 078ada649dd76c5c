"""``python -m tests.golden``: compare the golden files; ``--update`` rewrites them (see ``tests/golden``)."""

import sys

from tests.golden import main

sys.exit(main(sys.argv[1:]))
