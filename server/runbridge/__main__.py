"""`python -m runbridge` is the `runbridge` command."""

import sys

from runbridge.entry import main

sys.exit(main())
