"""The PySide6 + pyqtgraph user interface: the only Qt code in cxrviewer. Never imports torch,
faiss, transformers or timm; slow work goes to :mod:`cxrviewer.services` executors."""

from cxrviewer.gui.pyside_imports import read_source_bytes_for_feature_check

# first thing, so every later import (ours, pyqtgraph, torch in the worker) pays the cheap check
read_source_bytes_for_feature_check()
