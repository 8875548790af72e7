"""``python -m flexaqa`` (and ``torchrun -m flexaqa train``): the command line."""

import sys

from flexaqa.api.cli import main

sys.exit(main())
