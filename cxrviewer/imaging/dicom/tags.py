"""Damaged elements found before anything relies on them, and the tag browser's tree.

pydicom converts an element's bytes when it is first used, so one damaged element (a VR that is
not a DICOM VR, a length that is no whole number of values, a sequence cut short) used to raise
wherever it happened to be touched: in the tag tree, the presets, the pixel decoder, and a film
whose pixels were fine was lost. :func:`sanitise` converts every element once, right after the
read. An element whose VR is garbage is read with its dictionary VR (its bytes are usually
intact); one that still cannot be read is kept as raw bytes (VR UN). Both are remembered: the
film's warnings name them, and the tag tree marks them as damaged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydicom.datadict import dictionary_has_tag, dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from cxrviewer.imaging.anonymise import is_identifying
from cxrviewer.imaging.dicom.errors import DamagedValue, element_name, element_reason
from cxrviewer.imaging.records import TagNode

_TEXT_LIMIT = 200
_WARNING_NAMES = 3  # damaged elements named in the film's warning; the tag tree has them all


@dataclass(frozen=True)
class DamagedElement:
    tag: int
    name: str  # "(0020,000D) StudyInstanceUID"
    reason: str  # "VR 'XG' is not a DICOM VR; read as UI"
    rescued: bool  # the value was read another way (its dictionary VR)
    where: str = ""  # "" at the top level, else the sequence item it is in
    written_vr: str = ""  # the VR as the file has it


@dataclass
class Damage:
    """What :func:`sanitise` found in one dataset."""

    elements: list[DamagedElement] = field(default_factory=list)
    by_element: dict[int, DamagedElement] = field(default_factory=dict)  # by id(DataElement)

    def lost(self, tag: int, rescued_too: bool = False) -> DamagedElement | None:
        """The top-level element ``tag`` when it is damaged beyond reading (kept as bytes), or
        damaged at all with ``rescued_too``."""
        return next((d for d in self.elements if d.tag == tag and not d.where and (rescued_too or not d.rescued)), None)

    def warning(self) -> str | None:
        if not self.elements:
            return None
        named = "; ".join(f"{d.where}{d.name}: {d.reason}" for d in self.elements[:_WARNING_NAMES])
        more = f"; and {len(self.elements) - _WARNING_NAMES} more" if len(self.elements) > _WARNING_NAMES else ""
        return f"{len(self.elements)} damaged element(s), marked in the tags: {named}{more}"


def sanitise(ds: Dataset) -> Damage:
    """Convert every element of ``ds`` (file meta and sequences included) so that later use
    cannot raise; damaged elements are repaired or kept as bytes, and listed."""
    damage = Damage()
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        _walk(meta, damage, "")
    _walk(ds, damage, "")
    return damage


def value_of(ds: Dataset, keyword: str) -> Any:
    """``ds.get(keyword)``, reading an element whose VR is garbage by its dictionary VR (the scan
    reads a few attributes and cannot afford :func:`sanitise`).

    Raises
    ------
    DamagedValue
        When the element cannot be read at all; ``str()`` is the reason.
    """
    try:
        return ds.get(keyword)
    except Exception as exc:  # any conversion failure
        damage = Damage()
        elem = _repair(ds, Tag(keyword), exc, damage, "")
        if not damage.elements[0].rescued:
            raise DamagedValue(damage.elements[0].reason) from exc
        return elem.value


def _walk(dataset: Dataset, damage: Damage, where: str) -> None:
    # In tag order (a damaged file may list them otherwise): a private block's creator, which
    # pydicom looks up whenever one of the block's elements is read or set, comes first.
    for tag in sorted(dataset.keys()):
        try:
            elem = dataset[tag]
        except Exception as exc:  # noqa: BLE001 - any conversion failure is damage to record
            elem = _repair(dataset, tag, exc, damage, where)
        if elem.VR == "SQ" and elem.value is not None:
            name = elem.keyword or element_name(elem.tag.group, elem.tag.element)
            for index, item in enumerate(elem.value):
                if isinstance(item, Dataset):
                    _walk(item, damage, f"{where}{name} item {index + 1} > ")


def _dictionary_vr(tag: int) -> str:
    if not dictionary_has_tag(tag):
        return "UN"
    vr = dictionary_VR(tag)
    return vr.split(" or ")[0] if " or " in vr else vr  # "US or SS": the unsigned reading


def _repair(dataset: Dataset, tag: Any, exc: Exception, damage: Damage, where: str) -> DataElement:
    raw = dataset.get_item(tag, keep_deferred=True)
    reason = element_reason(exc)
    name = element_name(tag.group, tag.element)
    vr = _dictionary_vr(int(tag))
    written = _printable(getattr(raw, "VR", None))
    if isinstance(raw, RawDataElement) and vr != raw.VR and vr not in ("UN", "SQ"):
        try:
            dataset[tag] = raw._replace(VR=vr)
            elem = dataset[tag]
        except Exception:  # noqa: BLE001 - not readable that way either: kept as bytes below
            pass
        else:
            _note(damage, elem, DamagedElement(int(tag), name, f"{reason}; read as {vr}", True, where, written))
            return elem
    value = getattr(raw, "value", None)
    # Kept as OB: plain bytes whatever the tag (pydicom turns a UN element of a known tag back
    # into its dictionary VR, which is what failed).
    elem = DataElement(tag, "OB", value if isinstance(value, bytes) else b"")
    try:
        dataset[tag] = elem
    except Exception:  # noqa: BLE001 - pydicom could not even take it back as bytes: left out
        del dataset[tag]
        reason += "; left out"
    _note(damage, elem, DamagedElement(int(tag), name, reason, False, where, written))
    return elem


def _printable(vr: Any) -> str:
    text = str(vr or "")
    return text if text.isascii() and text.isprintable() else "?"


def _note(damage: Damage, elem: DataElement, found: DamagedElement) -> None:
    damage.elements.append(found)
    damage.by_element[id(elem)] = found


# Short-text VRs and their longest value (PS3.5 6.2); a value 16 times longer is damage.
_TEXT_MAX = {"AE": 16, "AS": 4, "CS": 16, "DA": 8, "DS": 16, "DT": 26, "IS": 12, "LO": 64,
             "PN": 324, "SH": 16, "TM": 14, "UI": 64}
_HUGE = 1 << 28  # bytes: no header element is this long


def where_damaged(ds: Dataset) -> str | None:
    """Where a header whose image attributes are missing went astray, read from the elements in
    file order: the first whose length cannot be right for its VR, or whose tag is garbage (a
    length that swallowed the rest of the header, or a misaligned read). None when nothing
    looks wrong (the attributes are simply absent)."""
    found = []
    for tag in ds.keys():  # noqa: SIM118 - iterating a Dataset gives its elements, not their tags
        elem = ds.get_item(tag, keep_deferred=True)
        tell = getattr(elem, "value_tell" if isinstance(elem, RawDataElement) else "file_tell", None)
        if tell is not None:
            found.append((tell, elem))
    for tell, elem in sorted(found, key=lambda item: item[0]):
        tag, vr = elem.tag, str(elem.VR or "")
        if isinstance(elem, RawDataElement):
            length = elem.length
        else:
            length = len(elem.value or b"") if isinstance(elem.value, (bytes, str)) else 0
        name = element_name(tag.group, tag.element)
        explicit = isinstance(elem, RawDataElement) and not elem.is_implicit_VR
        if (vr in _TEXT_MAX and length > 16 * _TEXT_MAX[vr]) or (_HUGE < length != 0xFFFFFFFF and tag != 0x7FE00010):
            return f"the header goes astray at byte {tell:,}: {name} ({vr or 'no VR'}) claims {length:,} bytes"
        if (explicit and not vr) or (tag.group > 0x7FE0 and tag.group != 0xFFFE):
            return f"the header goes astray before byte {tell:,}: {name} is not a valid element"
    return None


# --------------------------------------------------------------------------- the tag tree


def _value_text(elem: Any) -> str:
    value = elem.value
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value):,} bytes>"
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        items = list(value[:16])
        text = "\\".join(str(v) for v in items)
        if len(value) > 16:
            text += f" ... ({len(value):,} values)"
    else:
        text = str(value)
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 3] + "..."


def tag_tree(ds: Dataset, pixel_bytes: int | None = None, damage: Damage | None = None) -> tuple[TagNode, ...]:
    """The tag browser's tree (file meta first), sequences as children, values truncated.

    Call :func:`sanitise` first (``load_image`` does): an element it could not read is shown with
    its reason rather than raising here; without it such an element reads "<unreadable value>".
    """
    marks = damage.by_element if damage is not None else {}

    def node(elem: Any) -> TagNode:
        keyword = elem.keyword or elem.name
        tag = f"({elem.tag.group:04X},{elem.tag.element:04X})"
        found = marks.get(id(elem))
        damaged = found.reason if found is not None else ""
        vr = found.written_vr if found is not None and not found.rescued else str(elem.VR)
        if elem.VR == "SQ" and elem.value is not None:
            items = tuple(
                TagNode("", f"Item {i + 1}", "", "", children=tuple(nodes(item)))
                for i, item in enumerate(elem.value)
            )
            return TagNode(tag, keyword, vr, f"{len(elem.value)} item(s)", is_identifying(keyword, vr), items,
                           damaged=damaged)
        if elem.tag == 0x7FE00010:
            value = f"<pixel data: {len(elem.value):,} bytes>" if elem.value is not None else ""
        else:
            try:
                value = _value_text(elem)
            except Exception:  # noqa: BLE001 - a value that cannot be printed is still listed
                value = "<unreadable value>"
        if found is not None and not found.rescued:
            value = f"<damaged: {damaged}> {value}"
        identifying = is_identifying(keyword, vr) or bool(
            damaged and is_identifying(keyword, _dictionary_vr(int(elem.tag))))
        return TagNode(tag, keyword, vr, value, identifying, damaged=damaged)

    def nodes(dataset: Dataset) -> list[TagNode]:
        out = []
        for tag in list(dataset.keys()):
            try:
                elem = dataset[tag]
            except Exception as exc:  # noqa: BLE001 - only without sanitise: listed, not fatal
                out.append(TagNode(f"({tag.group:04X},{tag.element:04X})", element_name(tag.group, tag.element)
                                   .split(" ", 1)[-1], "", "<unreadable value>", damaged=element_reason(exc)))
                continue
            out.append(node(elem))
        return out

    meta = getattr(ds, "file_meta", None)
    tree = (nodes(meta) if meta is not None else []) + nodes(ds)
    if pixel_bytes is not None and "PixelData" not in ds:
        tree.append(TagNode("(7FE0,0010)", "PixelData", "OB/OW", f"<pixel data: {pixel_bytes:,} bytes>"))
    return tuple(tree)
