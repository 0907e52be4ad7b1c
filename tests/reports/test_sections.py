"""Sections from free text, IU XML, IU CSV rows and DICOM SR text."""

from __future__ import annotations

import csv
from pathlib import Path

from cxrviewer.reports.sections import (
    ReportSections,
    from_iu_row,
    from_iu_xml,
    from_pairs,
    section_spans,
    split_sections,
)


def test_headings_in_any_case_with_preamble_and_numbering() -> None:
    text = (
        "EXAMINATION: CHEST PA AND LAT\n"
        "indication: Cough. History: smoker\n"
        "Comparison: None.\n"
        "FINDINGS: No effusion. Heart normal.\n"
        "1. IMPRESSION: No acute disease."
    )
    s = split_sections(text)
    assert s.other == "CHEST PA AND LAT"
    assert s.indication == "Cough.\nsmoker"
    assert s.comparison == "None."
    assert s.findings == "No effusion. Heart normal."
    assert s.impression == "No acute disease."
    assert [h for h, _ in s.as_pairs()] == ["Other", "Indication", "Comparison", "Findings", "Impression"]


def test_text_without_headings_is_findings() -> None:
    s = split_sections("Heart size normal. Lungs are clear.")
    assert s == ReportSections(findings="Heart size normal. Lungs are clear.")
    assert s.as_pairs() == [("Findings", "Heart size normal. Lungs are clear.")]


def test_headings_alone_on_a_line_and_numbered_impression_list() -> None:
    text = "Findings\nClear lungs.\n\nImpression\n1. No acute disease.\n2. Stable cardiomegaly."
    s = split_sections(text)
    assert s.findings == "Clear lungs."
    assert s.impression == "1. No acute disease.\n2. Stable cardiomegaly."


def test_heading_words_inside_sentences_are_not_headings() -> None:
    s = split_sections("The findings are unchanged. Impression of a mass is not confirmed.")
    assert s.impression == "" and s.findings.startswith("The findings")


def test_inline_headings_after_sentence_end() -> None:
    s = split_sections("Indication: fever. Findings: small left effusion. Impression: effusion.")
    assert (s.indication, s.findings, s.impression) == ("fever.", "small left effusion.", "effusion.")


def test_section_spans_index_the_original_text() -> None:
    text = "FINDINGS: No effusion.\nIMPRESSION: Normal."
    spans = section_spans(text)
    assert [(sp.section, text[sp.start:sp.end]) for sp in spans] == [
        ("findings", "No effusion."), ("impression", "Normal.")]


def test_iu_xml() -> None:
    xml = """<eCitation><MedlineCitation><Article><Abstract>
      <AbstractText Label="COMPARISON">None.</AbstractText>
      <AbstractText Label="INDICATION">Positive TB test</AbstractText>
      <AbstractText Label="FINDINGS">Heart &amp; lungs normal.</AbstractText>
      <AbstractText Label="IMPRESSION"/>
    </Abstract></Article></MedlineCitation></eCitation>"""
    s = from_iu_xml(xml)
    assert s.comparison == "None." and s.indication == "Positive TB test"
    assert s.findings == "Heart & lungs normal." and s.impression == ""
    assert ReportSections.from_iu_xml(xml) == s


def test_iu_xml_truncated_or_garbage_gives_what_parsed() -> None:
    assert from_iu_xml('<AbstractText Label="FINDINGS">No effusion') == ReportSections(findings="No effusion")
    assert from_iu_xml("<<<>>>") == ReportSections()
    assert from_iu_xml(None) == ReportSections()  # type: ignore[arg-type]


def test_iu_csv_rows(shared_data: Path) -> None:
    with open(shared_data / "reports" / "iu" / "indiana_reports.csv", newline="", encoding="utf-8") as fh:
        rows = {r["uid"]: r for r in csv.DictReader(fh)}
    s = from_iu_row(rows["1"])
    assert s.indication == "Positive TB test" and s.comparison == "None."
    assert s.findings.startswith("The cardiac silhouette") and s.impression == "Normal chest x-XXXX."
    assert ReportSections.from_iu_row(rows["3"]).findings == ""
    assert from_iu_row({"uid": "9", "findings": float("nan"), "IMPRESSION": "Normal."}).impression == "Normal."


def test_dicom_sr_text_and_items() -> None:
    sr = "Clinical History:\nChest pain\nFindings:\nNo pneumothorax.\nImpression:\nNormal chest."
    s = split_sections(sr)
    assert (s.indication, s.findings, s.impression) == ("Chest pain", "No pneumothorax.", "Normal chest.")
    items = from_pairs([("History", "cough"), ("Finding", "clear lungs"), ("Impression", "normal")])
    assert (items.indication, items.findings, items.impression) == ("cough", "clear lungs", "normal")


def test_bad_input_never_raises() -> None:
    for text in ("", "   \n\t", "\x00\xff" * 1000, "a:" * 50_000, "1. " * 30_000, "Findings" * 20_000):
        split_sections(text)
    assert split_sections("") == ReportSections()
