import sys

from intrain.cli import main

sys.exit(main())
