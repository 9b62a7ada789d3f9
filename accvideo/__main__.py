"""`python -m accvideo` runs the command line."""

import sys

from accvideo.cli import main

sys.exit(main())
