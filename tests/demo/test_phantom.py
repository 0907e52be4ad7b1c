"""The phantom: plausible values, findings drawn where their masks say, CTR as asked."""

from __future__ import annotations

import numpy as np
import pytest

from cxrviewer.demo import phantom as P

SIZE = 128
FINDINGS = {
    "cardiomegaly": P.Finding("cardiomegaly", 0, "moderate"),
    "effusion": P.Finding("effusion", -1, "moderate"),
    "consolidation": P.Finding("consolidation", -1, "moderate", "right lower lobe"),
    "nodule": P.Finding("nodule", 1, "severe", "left upper lobe"),
    "mass": P.Finding("mass", -1, "moderate", "right upper lobe"),
    "pneumothorax": P.Finding("pneumothorax", 1, "moderate"),
    "atelectasis": P.Finding("atelectasis", -1, "moderate"),
    "edema": P.Finding("edema", 0, "moderate"),
    "devices": P.Finding("devices", 0, "moderate", "ett+cvc+pacemaker"),
    "fracture": P.Finding("fracture", 1, "moderate"),
}


@pytest.fixture(scope="module")
def anatomy() -> P.Anatomy:
    return P.sample_anatomy(np.random.default_rng(7))


@pytest.fixture(scope="module")
def normal(anatomy: P.Anatomy) -> P.Phantom:
    return P.render(anatomy, (), SIZE)


def test_normal_image_is_12_bit_with_dark_lungs(normal: P.Phantom) -> None:
    assert normal.pixels.shape == (SIZE, SIZE) and normal.pixels.dtype == np.uint16
    assert normal.pixels.max() <= 4095 and normal.pixels.max() - normal.pixels.min() > 2000
    assert normal.masks == {} and normal.lungs is not None and normal.heart is not None
    lungs, heart = normal.pixels[normal.lungs].mean(), normal.pixels[normal.heart].mean()
    assert lungs < heart - 500  # MONOCHROME2: air dark, soft tissue bright


def test_render_is_deterministic(anatomy: P.Anatomy, normal: P.Phantom) -> None:
    assert np.array_equal(P.render(anatomy, (), SIZE).pixels, normal.pixels)


@pytest.mark.parametrize("kind", sorted(FINDINGS))
def test_finding_changes_image_inside_its_mask_only(kind: str, anatomy: P.Anatomy,
                                                    normal: P.Phantom) -> None:
    ph = P.render(anatomy, (FINDINGS[kind],), SIZE)
    mask = ph.masks[kind]
    assert mask.dtype == bool and mask.shape == (SIZE, SIZE) and mask.any()
    x0, y0, x1, y1 = ph.boxes[kind]
    assert mask[y0:y1, x0:x1].sum() == mask.sum()
    diff = np.abs(ph.pixels.astype(np.int32) - normal.pixels.astype(np.int32))
    assert diff[mask].mean() > 60, "the finding is not visible inside its mask"
    pad = SIZE // 10
    far = np.ones_like(mask)
    far[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad] = False
    if kind != "cardiomegaly":  # a bigger heart is the finding; only its box changes
        assert diff[far].mean() < 2, "the finding changed the image far from its mask"


def test_ctr_of_cardiomegaly_is_above_half_and_normal_below() -> None:
    for seed in range(4):
        a = P.sample_anatomy(np.random.default_rng(seed))
        normal = P.render(a, (), SIZE)
        big = P.render(a, (P.Finding("cardiomegaly", 0, "mild"),), SIZE)
        assert P.measure_ctr(normal.heart, normal.lungs) < 0.5
        assert P.measure_ctr(big.heart, big.lungs) > 0.5


def test_smooth_noise_is_roughly_unit_variance() -> None:
    field = P.smooth_noise(np.random.default_rng(0), 64, 8)
    assert field.shape == (64, 64) and 0.4 < field.std() < 2.0
