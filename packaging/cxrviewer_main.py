"""The bundle's entry script (PyInstaller needs a script; the console script is not one)."""

import sys

from cxrviewer.app import main

if __name__ == "__main__":
    sys.exit(main())
