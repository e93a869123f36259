"""``python -m hearing_server`` is the same as the ``hearing-server`` command."""

import sys

from hearing_server.cli import main

sys.exit(main())
