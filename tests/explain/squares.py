"""Helpers: a tiny CNN (one logit, like a multi-label head) trained to tell whether a bright square
is present: its maps have a right answer."""

from __future__ import annotations

import numpy as np

SIZE = 32
SQUARE = 7


def square_images(n: int, seed: int, present: bool | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images uint8 (n, 32, 32), labels (n,), masks bool (n, 32, 32)): mid-grey noise, and in
    labelled images a bright 7 px square at a random place."""
    rng = np.random.default_rng(seed)
    images = rng.normal(100, 25, (n, SIZE, SIZE)).clip(0, 255)
    labels = rng.random(n) < 0.5 if present is None else np.full(n, present)
    masks = np.zeros((n, SIZE, SIZE), bool)
    for i in np.flatnonzero(labels):
        r, c = rng.integers(1, SIZE - SQUARE - 1, 2)
        images[i, r:r + SQUARE, c:c + SQUARE] = rng.normal(220, 10, (SQUARE, SQUARE)).clip(0, 255)
        masks[i, r:r + SQUARE, c:c + SQUARE] = True
    return images.astype(np.uint8), labels.astype(np.int64), masks


def make_cnn(seed: int):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding=1, stride=2), nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(16, 1))


def train_square_model():
    """(trained classifier wrapped for explain, its untrained twin) after 120 Adam steps."""
    import torch

    from cxrviewer.explain import explainable
    from cxrviewer.models.preprocess import prepare_batch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny layers: threads only contend on a shared 2-core machine
    model = make_cnn(0)
    images, labels, _ = square_images(256, seed=1)
    x = prepare_batch(list(images), SIZE, (0.5,), (0.25,), in_chans=1)
    y = torch.from_numpy(labels).float()[:, None]
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    try:
        for _ in range(120):
            pick = torch.randint(0, len(x), (32,), generator=gen)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x[pick]), y[pick])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    with torch.no_grad():
        test, test_labels, _ = square_images(200, seed=2)
        accuracy = ((model(prepare_batch(list(test), SIZE, (0.5,), (0.25,), 1))[:, 0] > 0).numpy()
                    == test_labels).mean()
    assert accuracy > 0.95, f"the square classifier did not learn (accuracy {accuracy:.2f})"
    kwargs = dict(input_size=SIZE, mean=(0.5,), std=(0.25,), label_names=("square",))
    random = make_cnn(123)
    return explainable(model, name="square", **kwargs), explainable(random, name="random", **kwargs)
