#!/usr/bin/env python3
"""UDL's desktop app: `python app.py [DATASET] [--screenshot FILE.png]` (the bundled sample by default)."""

import sys

from udl_gui.main import main

if __name__ == "__main__":
    sys.exit(main())
