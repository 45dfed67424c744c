"""`python -m paved_gates`, the same as the `gates` command."""

import sys

from ._cli import main

sys.exit(main())
