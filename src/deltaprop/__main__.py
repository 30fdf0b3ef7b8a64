"""``python -m deltaprop``: the command line (see ``deltaprop.cli``)."""

import sys

from deltaprop.cli import main

if __name__ == "__main__":
    sys.exit(main())
