"""Damaged copies of real DICOM files, made the same way every time from (seed, index).

What a hostile world does to a file: bits flipped, the end cut off, a chunk duplicated or
deleted, and element headers damaged on purpose (a VR, a length, a value such as
SamplesPerPixel or the Transfer Syntax UID, the file-meta group length). Every mutant is a
pure function of its seed file's bytes, the run's seed and its index, so a failing mutant can be
written again with :func:`mutant` and attached to a bug.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_VRS = {
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB",
    b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM",
    b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
}
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV", b"UV"}
_HEADER_SPAN = 8192  # where element headers are looked for (the pixel data comes after)
# Values a damaged header likes to hold: zero, one, odd, a byte's and a word's ends, the 235
# SamplesPerPixel the issue met, and undefined length.
_NUMBERS = (0, 1, 2, 3, 7, 8, 12, 16, 17, 235, 255, 256, 4096, 32767, 32768, 65535)
_TEXTS = (b"", b"\x00", b"1.2.3.4", b"1.2.840.10008.1.2.4.50", b"1.2.840.10008.5.1.4.1.1.1",
          b"PALETTE COLOR", b"YBR_FULL_422", b"RGB", b"MONOCHROME1", b"1A", b"-1", b"1e400", b"nan",
          b"\xff\xfe", b"ISO_IR 192", b"\\\\\\", b"ISO 2022 IR 87")


@dataclass(frozen=True)
class Seed:
    """One real file to mutate, with where its element headers are."""

    name: str
    data: bytes
    elements: tuple[int, ...]  # offsets of explicit-VR element headers in the first 8 KB


@dataclass(frozen=True)
class Mutant:
    index: int
    source: str  # the seed file's name
    operations: tuple[str, ...]  # what was done, in order ("flip 3 bits at 140", ...)
    data: bytes


def seed_files(shared_dicom: Path | None = None, pydicom_files: bool = True,
               max_bytes: int | None = None) -> list[Path]:
    """The real files under ``shared_dicom`` (the project's ../shared/data/dicom) and pydicom's
    own test files (from its installed package, never downloaded), smallest first."""
    paths: list[Path] = []
    if shared_dicom is not None and shared_dicom.is_dir():
        paths += sorted(shared_dicom.rglob("*.dcm"))
    if pydicom_files:
        import pydicom.data

        folder = Path(pydicom.data.__file__).parent / "test_files"
        paths += sorted(folder.glob("*.dcm"))
    sized = [(p.stat().st_size, str(p), p) for p in paths if p.is_file()]
    return [p for size, _, p in sorted(sized) if size >= 132 and (max_bytes is None or size <= max_bytes)]


def load_seeds(paths: list[Path]) -> list[Seed]:
    seeds = []
    for path in paths:
        data = path.read_bytes()
        seeds.append(Seed(f"{path.parent.name}/{path.name}", data, _element_offsets(data)))
    return seeds


def _element_offsets(data: bytes) -> tuple[int, ...]:
    """Offsets that look like an explicit-VR element header (even group below 0x7FE1, a VR)."""
    found = []
    limit = min(len(data), _HEADER_SPAN) - 8
    for p in range(max(0, limit)):
        if data[p + 4 : p + 6] in _VRS:
            group = struct.unpack_from("<H", data, p)[0]
            if group % 2 == 0 and 2 <= group <= 0x7FE0:
                found.append(p)
    return tuple(found)


# --------------------------------------------------------------------------- operations


def _flip(data: bytearray, rng: random.Random, seed: Seed) -> str:
    count = rng.choice((1, 1, 2, 4, 8, 16))
    span = len(data) if rng.random() < 0.5 else min(len(data), _HEADER_SPAN)
    where = sorted(rng.randrange(span) for _ in range(count))
    for p in where:
        data[p] ^= 1 << rng.randrange(8)
    return f"flip {count} bit(s) from {where[0]}"


def _truncate(data: bytearray, rng: random.Random, seed: Seed) -> str:
    cut = rng.randrange(len(data)) if rng.random() < 0.5 else rng.randrange(max(1, len(data) - 4096), len(data))
    del data[cut:]
    return f"truncate at {cut}"


def _duplicate(data: bytearray, rng: random.Random, seed: Seed) -> str:
    size = rng.choice((2, 4, 8, 16, 64, 512, 4096))
    start = rng.randrange(max(1, len(data) - size))
    at = rng.randrange(len(data))
    data[at:at] = data[start : start + size]
    return f"duplicate {size} bytes from {start} at {at}"


def _delete(data: bytearray, rng: random.Random, seed: Seed) -> str:
    size = rng.choice((1, 2, 4, 8, 64, 1024))
    start = rng.randrange(len(data))
    del data[start : start + size]
    return f"delete {size} bytes at {start}"


def _scribble(data: bytearray, rng: random.Random, seed: Seed) -> str:
    size = rng.choice((4, 16, 128, 1024))
    start = rng.randrange(len(data))
    fill = rng.choice((b"\x00", b"\xff", None))
    chunk = (fill * size) if fill else bytes(rng.randrange(256) for _ in range(size))
    data[start : start + size] = chunk[: max(0, min(size, len(data) - start))]
    return f"overwrite {size} bytes at {start} with {'random' if fill is None else fill.hex()}"


def _element(data: bytearray, rng: random.Random, seed: Seed) -> str:
    """Damage one element header: its VR, its length, its value or its tag."""
    offsets = [p for p in seed.elements if p + 8 <= len(data)]
    if not offsets:
        return _flip(data, rng, seed)
    p = rng.choice(offsets)
    group, elem = struct.unpack_from("<HH", data, p)
    vr = bytes(data[p + 4 : p + 6])
    long_form = vr in _LONG_VRS
    value_at = p + (12 if long_form else 8)
    length = struct.unpack_from("<I" if long_form else "<H", data, p + (8 if long_form else 6))[0]
    name = f"({group:04X},{elem:04X}) {vr.decode('latin-1')}"
    what = rng.choice(("vr", "length", "value", "value", "tag"))
    if what == "vr":
        new = bytes(rng.choice(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ\x00 ") for _ in range(2))
        data[p + 4 : p + 6] = new
        return f"{name}: VR -> {new!r}"
    if what == "length":
        choices = [0, 1, length + 1, max(0, length - 1), length * 2 + 1, 0xFFFF]
        if long_form:
            choices += [0xFFFFFFFF, 0x7FFFFFFF, len(data)]
        new_length = rng.choice(choices)
        struct.pack_into("<I" if long_form else "<H", data, p + (8 if long_form else 6),
                         new_length & (0xFFFFFFFF if long_form else 0xFFFF))
        return f"{name}: length {length} -> {new_length}"
    if what == "value":
        if vr in (b"US", b"SS", b"UL", b"SL") and length in (2, 4) and value_at + length <= len(data):
            number = rng.choice(_NUMBERS)
            struct.pack_into("<H" if length == 2 else "<I", data, value_at, number)
            return f"{name}: value -> {number}"
        text = rng.choice(_TEXTS)
        text = text + b" " * (len(text) % 2)
        data[value_at : value_at + length] = text
        struct.pack_into("<I" if long_form else "<H", data, p + (8 if long_form else 6), len(text))
        return f"{name}: value -> {text!r}"
    new_elem = rng.choice((elem ^ 1, elem + 2, 0x0000, 0xFFFF, rng.randrange(0x10000)))
    struct.pack_into("<H", data, p + 2, new_elem & 0xFFFF)
    return f"{name}: tag element -> {new_elem & 0xFFFF:04X}"


_OPERATIONS: tuple[tuple[Callable[[bytearray, random.Random, Seed], str], float], ...] = (
    (_flip, 3.0), (_element, 3.0), (_truncate, 1.0), (_duplicate, 1.0), (_delete, 1.0), (_scribble, 1.0),
)


def mutant(seeds: list[Seed], seed: int, index: int) -> Mutant:
    """Mutant ``index`` of the run ``seed``: one seed file, one to three operations."""
    rng = random.Random(f"cxrviewer-fuzz:{seed}:{index}")
    source = seeds[rng.randrange(len(seeds))]
    data = bytearray(source.data)
    operations = []
    functions = [f for f, _ in _OPERATIONS]
    weights = [w for _, w in _OPERATIONS]
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if not data:
            break
        operation = rng.choices(functions, weights)[0]
        operations.append(operation(data, rng, source))
    return Mutant(index, source.name, tuple(operations), bytes(data))
