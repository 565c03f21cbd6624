"""``python -m sr_zoo.pretrained``: the maintainers' command line, in :mod:`sr_zoo.zoo_cli`.

An app, not part of the runtime: importing :mod:`sr_zoo.pretrained` never imports the tools.
"""

import sys

from sr_zoo.zoo_cli import main

if __name__ == "__main__":
    sys.exit(main())
