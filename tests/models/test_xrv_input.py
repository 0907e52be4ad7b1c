"""The input a torchxrayvision model gets from cxrviewer is the input torchxrayvision's own recipe
makes from the same 8-bit film (the default-windowed film as displayed): real DICOMs (one not
square, so the centre crop matters) and a PNG export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cxrviewer.library.prepare import film_input, load, model_input, windowed

pytestmark = pytest.mark.needs_shared


def xrv_recipe(film: np.ndarray, size: int) -> np.ndarray:
    """torchxrayvision's README: normalize(img, 255), one channel, XRayCenterCrop, XRayResizer."""
    import torchvision
    from replicas import xrv_models

    xrv_models()  # imported with its warnings switch contained
    import torchxrayvision as xrv

    image = xrv.datasets.normalize(film, 255)
    image = image.mean(2)[None, ...] if image.ndim == 3 else image[None, ...]
    return torchvision.transforms.Compose([xrv.datasets.XRayCenterCrop(), xrv.datasets.XRayResizer(size)])(image)


def _films(dicom_dir: Path, tmp_path: Path) -> dict[str, np.ndarray]:
    from PIL import Image

    films = {name: windowed(load(str(dicom_dir / "chest" / name)), 2048)
             for name in ("RG1_J2KI.dcm", "nih_dx_mono2.dcm")}
    png = tmp_path / "export.png"  # a PNG export of a film, landscape this time
    Image.fromarray(films["nih_dx_mono2.dcm"][100:900, :]).save(png)
    films["export.png"] = windowed(load(str(png)), 2048)
    return films


@pytest.mark.parametrize("size", [224, 512])
def test_xrv_input_equals_torchxrayvisions_recipe(dicom_dir: Path, tmp_path: Path, size: int) -> None:
    from cxrviewer.models.xrv import xrv_input

    films = _films(dicom_dir, tmp_path)
    assert films["RG1_J2KI.dcm"].shape == (1955, 1841) and films["export.png"].shape == (800, 1024)
    for name, film in films.items():
        ours = xrv_input([film], size)[0].numpy()
        expected = xrv_recipe(film, size)
        assert ours.shape == expected.shape == (1, size, size)
        assert float(np.abs(ours - expected).max()) <= 1e-4, name
        assert ours.min() >= -1024 and ours.max() <= 1024 and ours.max() - ours.min() > 1000  # its range
    # what the library builds, searches and explains with: the film fitted the torchxrayvision way
    # (from full resolution, its central square), exactly the recipe's tensor - not a squashed film
    spec = _spec(size)
    for name in ("RG1_J2KI.dcm", "nih_dx_mono2.dcm"):
        fitted = film_input(load(str(dicom_dir / "chest" / name)), spec)
        assert fitted.dtype == np.float32 and fitted.shape == (1, size, size)
        assert float(np.abs(fitted - xrv_recipe(films[name], size)).max()) <= 1e-4, name
        assert float(np.abs(xrv_input([fitted], size)[0].numpy() - fitted).max()) == 0.0  # passes unchanged
    squashed = model_input(load(str(dicom_dir / "chest" / "RG1_J2KI.dcm")), size)
    assert float(np.abs(xrv_input([squashed], size)[0].numpy() - xrv_recipe(films["RG1_J2KI.dcm"], size)).max()) > 1


def _spec(size: int):
    from cxrviewer.models.registry import EncoderSpec

    return EncoderSpec(name="x", kind="image", format="torchxrayvision", architecture="densenet121",
                       input_size=size, mean=(0.5,), std=(1.0,), embed_dim=1024, licence="-",
                       film_fit="torchxrayvision")


def test_colour_films_are_averaged_as_its_readme_does() -> None:
    from cxrviewer.models.xrv import xrv_input

    rgb = (np.random.default_rng(0).random((90, 120, 3)) * 255).astype(np.uint8)
    np.testing.assert_allclose(xrv_input([rgb], 64)[0].numpy(), xrv_recipe(rgb, 64), atol=1e-3)


def test_saliency_reads_the_same_input(dicom_dir: Path, tmp_path: Path) -> None:
    """explain() prepares a film with the encoder's own prepare_images, not the generic scaling."""
    import torch

    from cxrviewer.explain import explainable
    from cxrviewer.models.xrv import TorchXrayVisionEncoder

    class Light(TorchXrayVisionEncoder):  # no weights needed to check the input path
        def __init__(self) -> None:
            from cxrviewer.models.registry import EncoderSpec

            self.spec = EncoderSpec(name="x", kind="image", format="torchxrayvision", architecture="densenet121",
                                    input_size=224, mean=(0.5,), std=(1 / 2048,), embed_dim=1024, licence="-")
            self.image_tower = torch.nn.Conv2d(1, 1, 1)
            self._label_head = None

        def _image_features(self, pixels: torch.Tensor) -> torch.Tensor:
            return self.image_tower(pixels).flatten(1)

    film = _films(dicom_dir, tmp_path)["RG1_J2KI.dcm"]
    prepared = explainable(Light()).prepare(film)
    np.testing.assert_array_equal(prepared.numpy()[0], xrv_recipe(film, 224))
