import sys

from udl_core.cli import main

sys.exit(main())
