"""``python -m swaplab.workload``: ``swaplab simulate`` on its own."""

import sys

from swaplab.workload.command import main

sys.exit(main())
