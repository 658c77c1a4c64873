"""`python -m runbridge` is the `runbridge` command."""

import sys

from runbridge.cli import main

sys.exit(main())
