"""The HTML handout in a real browser: headless Chromium loads every inline image and draws the
page (a screenshot that is not blank). Skipped where no Chromium is installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cxrviewer.teaching import films
from cxrviewer.teaching.exports import export_collection
from cxrviewer.teaching.model import Annotation

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--hide-scrollbars")
# Run after load: record each image's decoded size in the DOM, for --dump-dom to show.
CHECK = ("<script>window.addEventListener('load', () => { const p = document.createElement('pre');"
         "p.id = 'image-check'; p.textContent = JSON.stringify([...document.images].map("
         "i => [i.complete, i.naturalWidth, i.naturalHeight, i.src.slice(0, 22)]));"
         "document.body.appendChild(p); });</script>")


def _browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium here (Debian: apt-get install chromium)")


def _run(browser: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([browser, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_the_handout_renders_in_headless_chromium(store, library, tmp_path):
    browser = _browser()
    c = store.create_collection("Browser check")
    cases = films.add_library_cases(store, c.collection_id, library, ["DEMO0005_S1", "DEMO0007_S1"])
    store.update_teaching(cases[0].case_id, title="Tension pneumothorax", teaching_points="Deep sulcus")
    store.update_teaching(cases[1].case_id, title="Left effusion with cardiomegaly")
    store.add_annotation(cases[0].case_id, Annotation("arrow", ((20, 20), (60, 60)), "edge"))
    page = export_collection(store, c.name, "html", tmp_path / "handout.html").path

    checked = tmp_path / "checked.html"
    checked.write_text(page.read_text(encoding="utf-8").replace("</body>", CHECK + "</body>"), encoding="utf-8")
    dom = _run(browser, tmp_path, "--dump-dom", checked.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Case 1: Tension pneumothorax" in dom.stdout and "Case 2: Left effusion with cardiomegaly" in dom.stdout
    found = re.search(r'<pre id="image-check">(.*?)</pre>', dom.stdout, re.S)
    assert found, "the page's load handler did not run"
    images = json.loads(found.group(1).replace("&quot;", '"'))
    assert len(images) == 2
    for complete, width, height, src in images:
        assert complete and width >= 256 and height >= 256 and src == "data:image/png;base64,"

    shot = tmp_path / "handout.png"
    run = _run(browser, tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri())
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    grey = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert grey.shape == (1600, 1200)
    assert (grey < 200).mean() > 0.05  # the films and the text are drawn on the white page
    assert grey.std() > 30
