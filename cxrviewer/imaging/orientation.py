"""How the user turned the image: rotation and flips, and the way back to source pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Orientation:
    """Rotation (clockwise, degrees) applied after the flips.

    The displayed image is ``rot90(flip(source), -rotation/90)``; keeping flips first makes
    ``to_source`` a short, testable inverse instead of a composition of matrices.
    """

    rotation: int = 0
    flip_h: bool = False
    flip_v: bool = False

    def __post_init__(self) -> None:
        if self.rotation not in (0, 90, 180, 270):
            raise ValueError(f"rotation must be 0, 90, 180 or 270, not {self.rotation}")

    def apply(self, array: np.ndarray) -> np.ndarray:
        """The view the user sees of a (rows, cols[, channels]) array, C-contiguous."""
        out = array
        if self.flip_h:
            out = out[:, ::-1]
        if self.flip_v:
            out = out[::-1]
        if self.rotation:
            out = np.rot90(out, k=-self.rotation // 90, axes=(0, 1))
        return np.ascontiguousarray(out)

    def displayed_shape(self, shape: tuple[int, ...]) -> tuple[int, int]:
        rows, cols = shape[0], shape[1]
        return (cols, rows) if self.rotation in (90, 270) else (rows, cols)

    def to_source(self, row: int, col: int, shape: tuple[int, ...]) -> tuple[int, int]:
        """Map a displayed pixel back to the source pixel; ``shape`` is the source's shape."""
        rows, cols = shape[0], shape[1]
        # undo the rotation: (row, col) in the rotated view -> (r, c) in the flipped image
        if self.rotation == 0:
            r, c = row, col
        elif self.rotation == 90:
            r, c = rows - 1 - col, row
        elif self.rotation == 180:
            r, c = rows - 1 - row, cols - 1 - col
        else:
            r, c = col, cols - 1 - row
        if self.flip_v:
            r = rows - 1 - r
        if self.flip_h:
            c = cols - 1 - c
        return r, c

    def rotated(self, degrees: int) -> Orientation:
        """Turn the displayed image by +90 (clockwise) or -90 degrees."""
        return Orientation((self.rotation + degrees) % 360, self.flip_h, self.flip_v)

    def flipped_h(self) -> Orientation:
        """Mirror the displayed image left-right."""
        if self.rotation in (90, 270):  # a quarter turn swaps the axes a mirror acts on
            return Orientation(self.rotation, self.flip_h, not self.flip_v)
        return Orientation(self.rotation, not self.flip_h, self.flip_v)

    def flipped_v(self) -> Orientation:
        """Mirror the displayed image top-bottom."""
        if self.rotation in (90, 270):
            return Orientation(self.rotation, not self.flip_h, self.flip_v)
        return Orientation(self.rotation, self.flip_h, not self.flip_v)
