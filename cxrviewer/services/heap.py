"""Keeping Python's garbage collector from stalling the window.

With torch, transformers and faiss loaded the heap holds ~500k objects, and one full collection
takes ~340 ms on these machines while holding the GIL, so the GUI thread freezes whenever the
collector decides to run. Freezing the objects that exist once the models are loaded (they
live as long as the app) leaves later collections only the new objects to look at.
"""

from __future__ import annotations

import gc


def freeze_long_lived() -> None:
    """Move every object alive now to the permanent generation (no collection: that would be
    the very pause this avoids)."""
    gc.freeze()
