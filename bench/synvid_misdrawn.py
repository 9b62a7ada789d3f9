"""`accvideo synvid misdrawn` under its earlier name: the samples of a Shapes SynVid whose recorded clip the judge
reads wrong, a file for `accvideo distill --exclude` (accvideo.synvid.misdrawn).

    python bench/synvid_misdrawn.py --synvid runs/synvid --out runs/synvid_misdrawn.txt
    # the same as: accvideo synvid misdrawn --synvid runs/synvid --out runs/synvid_misdrawn.txt
"""

import subprocess
import sys

if __name__ == "__main__":
    sys.exit(subprocess.call([sys.executable, "-m", "accvideo", "synvid", "misdrawn", *sys.argv[1:]]))
