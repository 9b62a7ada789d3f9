"""`python -m accvideo` runs the command line."""

import sys

from accvideo.commands import main

sys.exit(main())
