"""A wheel (what a non-editable ``pip install`` builds) carries resources/ and the package data, and the
app finds them there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("hatchling", reason="the test extra installs hatchling to build the wheel offline")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                    "--no-index", "-w", str(out), "-q"], check=True, timeout=300)
    (built,) = out.glob("cxrviewer-*.whl")
    return built


def test_the_wheel_carries_every_resource_and_every_module(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    resources = {f"cxrviewer/_resources/{p.relative_to(REPO / 'resources').as_posix()}"
                 for p in (REPO / "resources").rglob("*") if p.is_file()}
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "cxrviewer").rglob("*.py")}
    package_data = {p.relative_to(REPO).as_posix() for p in (REPO / "cxrviewer").rglob("*")
                    if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
    assert "cxrviewer/_resources/models/demo-clip/config.json" in resources
    assert "cxrviewer/demo/report_templates.json" in package_data
    assert resources <= names
    assert modules <= names
    assert package_data <= names


def test_an_unpacked_wheel_finds_the_demo_model_without_the_checkout(wheel: Path, tmp_path: Path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import json, cxrviewer, cxrviewer.paths as p; from cxrviewer.models import registry; "
            "spec = registry.get_spec('demo-clip'); "
            "print(json.dumps([cxrviewer.__file__, str(p.resources_dir()), str(spec.local_path()), "
            "spec.local_path().joinpath('config.json').is_file()])); "
            "from cxrviewer.demo.phantom import KINDS; from cxrviewer.demo.reports import templates; "
            "print(sorted(templates().kinds) == sorted(KINDS))")
    env = dict(os.environ, PYTHONPATH=str(site))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    *_, paths, templates_load = out.stdout.strip().splitlines()
    module, resources, model, has_config = json.loads(paths)
    assert templates_load == "True"  # the demo generator's report templates (package data) load from the wheel
    assert Path(module).is_relative_to(site)
    assert Path(resources) == site / "cxrviewer" / "_resources"
    assert Path(model).is_relative_to(site) and has_config
