"""Find, in any image tower, the layer Grad-CAM reads: the last spatial conv feature map, or
for a vision transformer the patch tokens entering its last block. For LayerCAM a conv tower's
layer also names the last map at twice its resolution (the previous stage's output).

Found by running the tower once with a hook on every module and looking at output shapes, so
timm CNNs and ViTs, transformers CLIP / SigLIP / Dinov2 towers and plain torch classifiers need
no per-architecture table. The result is remembered per (tower, input shape).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_PREFIX_TOKENS = 8  # CLS + register tokens in front of the patch tokens

_found: weakref.WeakKeyDictionary[Any, dict[tuple[int, ...], CamLayer]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class CamLayer:
    """The hooked module. ``grid`` is (rows, cols) of patch tokens for a token layer (after
    ``prefix`` leading CLS/register tokens), None for a conv feature map."""

    name: str
    module: Any
    grid: tuple[int, int] | None = None
    prefix: int = 0
    finer: CamLayer | None = None  # conv towers: the last map at twice this one's resolution


    @property
    def is_tokens(self) -> bool:
        return self.grid is not None


@dataclass(frozen=True)
class _Record:
    name: str
    module: Any
    shape: tuple[int, ...]


def _trace(root: Any, run: Callable[[], Any]) -> list[_Record]:
    """Every module call's tensor output shape, in the order the calls finished."""
    import torch

    records: list[_Record] = []
    handles = []
    for name, module in root.named_modules():
        def hook(mod: Any, args: Any, out: Any, name: str = name) -> None:
            if isinstance(out, torch.Tensor):
                records.append(_Record(name, mod, tuple(out.shape)))
        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            run()
    finally:
        for handle in handles:
            handle.remove()
    return records


def _spatial(records: list[_Record]) -> list[tuple[int, _Record]]:
    return [(i, r) for i, r in enumerate(records) if len(r.shape) == 4 and r.shape[2] > 1 and r.shape[3] > 1]


def _token_layer(records: list[_Record], after: int, grid: tuple[int, int]) -> CamLayer | None:
    """The first LayerNorm of the last transformer block (the tokens its attention mixes)."""
    import torch

    cells = grid[0] * grid[1]
    tokens = [r for r in records[after + 1:]
              if len(r.shape) == 3 and 0 <= r.shape[1] - cells <= MAX_PREFIX_TOKENS]
    if not tokens:
        return None
    in_blocks = [(m.group(0), r) for r in tokens if isinstance(r.module, torch.nn.LayerNorm)
                 for m in [re.match(r"(.*\.)?\d+\.", r.name)] if m]
    if in_blocks:
        last_block = in_blocks[-1][0]
        chosen = next(r for block, r in in_blocks if block == last_block)
    else:
        chosen = tokens[-2] if len(tokens) > 1 else tokens[-1]
    return CamLayer(chosen.name, chosen.module, grid, int(chosen.shape[1] - cells))


def find_cam_layer(root: Any, run: Callable[[], Any], shape: tuple[int, ...]) -> CamLayer:
    """The layer to hook in ``root`` (``run()`` does one forward pass of an input of ``shape``).

    Raises
    ------
    ValueError
        The tower has no spatial feature map (nothing for Grad-CAM to localise on).
    """
    cached = _found.get(root, {}).get(tuple(shape))
    if cached is not None:
        return cached
    import torch

    records = _trace(root, run)
    spatial = _spatial(records)
    if not spatial:
        raise ValueError("this model has no layer with a spatial output: use integrated gradients (ig)")
    convs = [(i, r) for i, r in spatial if isinstance(r.module, torch.nn.Conv2d)]
    layer = None
    if convs:  # a ViT: patch tokens after its (last) patch-embedding conv
        conv_index, conv = convs[-1]
        layer = _token_layer(records, conv_index, (conv.shape[2], conv.shape[3]))
    if layer is None:
        last = spatial[-1][1]
        rows, cols = last.shape[2], last.shape[3]
        finer = [r for _, r in spatial if (r.shape[2], r.shape[3]) == (2 * rows, 2 * cols)]
        layer = CamLayer(last.name, last.module, finer=CamLayer(finer[-1].name, finer[-1].module) if finer else None)
    _found.setdefault(root, {})[tuple(shape)] = layer
    return layer
