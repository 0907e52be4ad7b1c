"""The PySide6 + pyqtgraph user interface: the only Qt code in cxrviewer. Never imports torch,
faiss, transformers or timm; slow work goes to :mod:`cxrviewer.services` executors."""
