"""Drawing films from a saved generator.

Each film is a function of (text, seed, index) alone: its noise comes from a generator seeded
with (seed, index), and the network runs in evaluation mode (batch norm with its stored
statistics), so the same text and seed give the same film whatever else is drawn with it.
The films returned here are the network's raw output; :mod:`cxrviewer.synthesis.marking` puts
the "SYNTHETIC" mark on everything that is written or shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cxrviewer.synthesis import store
from cxrviewer.synthesis.condition import Conditioner, Conditioning


class Generator:
    """A loaded generator with its conditioner (call from a worker: imports torch)."""

    def __init__(self, folder: Path, device: str | None = None, text_encoder: Any = None) -> None:
        import torch
        from safetensors.torch import load_file

        from cxrviewer.models.encoders import resolve_device
        from cxrviewer.synthesis import nets

        self.folder = Path(folder)
        self.config = store.read_config(self.folder)
        self.name = self.folder.name
        self.device = resolve_device(device)
        self.conditioning = Conditioning.from_dict(self.config["conditioning"])
        self.conditioner = Conditioner(self.conditioning, text_encoder, device)
        try:
            self.net = nets.build_generator(self.config["arch"], int(self.config["cond_dim"]),
                                            int(self.config["width"]))
            self.net.load_state_dict(load_file(str(self.folder / store.WEIGHTS)))
        except (OSError, KeyError, RuntimeError, ValueError) as exc:
            raise store.GeneratorError(f"generator {self.folder}: its weights cannot be loaded ({exc})") from None
        self.net = self.net.to(self.device).eval()
        self._torch = torch

    @property
    def description(self) -> str:
        """"demo-synth (projection GAN, 128 px)" for the derivation description."""
        return f"{self.name} ({self.config['arch']} GAN, {self.config.get('size', 128)} px)"

    @property
    def truncation(self) -> float:
        """Scale of the noise at sampling (1: as trained; below 1 trades variety for fidelity)."""
        return float(self.config.get("truncation", 1.0))

    def noise(self, seed: int, count: int, start: int = 0) -> Any:
        torch = self._torch
        rows = [torch.randn(1, self.net.z_dim, generator=torch.Generator().manual_seed(int(seed) * 100_003 + i))
                for i in range(start, start + count)]
        z = torch.cat(rows) if rows else torch.zeros(0, self.net.z_dim)
        return z * self.truncation

    def films(self, texts: Sequence[str], seed: int = 0, conditions: np.ndarray | None = None,
              batch_size: int = 64, indices: Sequence[int] | None = None) -> np.ndarray:
        """One film per text: (n, 128, 128) uint8. Film i uses noise (seed, indices[i] or i)."""
        torch = self._torch
        if conditions is None:
            conditions = self.conditioner(texts)
        idx = list(indices) if indices is not None else list(range(len(conditions)))
        out = np.zeros((len(conditions), 128, 128), np.uint8)
        with torch.inference_mode():
            for start in range(0, len(conditions), batch_size):
                stop = min(len(conditions), start + batch_size)
                z = torch.cat([self.noise(seed, 1, i) for i in idx[start:stop]]).to(self.device)
                c = torch.from_numpy(np.ascontiguousarray(conditions[start:stop])).to(self.device)
                x = self.net(z, c).float().clamp(-1, 1)
                out[start:stop] = ((x[:, 0] + 1) * 127.5).round().byte().cpu().numpy()
        return out

    def examples(self, text: str, n: int = 8, seed: int = 0) -> np.ndarray:
        """``n`` films for one text (film i with noise (seed, i))."""
        condition = self.conditioner([text])
        return self.films([text] * n, seed, np.repeat(condition, n, axis=0))


def load_generator(name_or_path: str | Path | None = None, device: str | None = None,
                   text_encoder: Any = None) -> Generator:
    return Generator(store.resolve(name_or_path), device, text_encoder)
