"""``python -m build`` makes an sdist and a wheel that twine accepts; the wheel carries the contract files and
templates and runs installed, away from the source tree (as ``pipx run`` would use it).

Kept cheap (one test): both archives are built from a copy of the sources without build isolation, and the
wheel goes with ``--no-deps`` into a venv whose path reaches this environment's packages (for the
dependencies) behind its own."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DATA = [
    "conformance/py.typed",
    "conformance/spec/requirements.yaml",
    "conformance/spec/openapi.yaml",
    "conformance/spec/report.schema.json",
    "conformance/spec/targets.schema.json",
    "conformance/report/templates/report.html.j2",
    "conformance/report/templates/merge.html.j2",
]


def run(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, f"{argv}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.packaging
def test_the_wheel_and_sdist_build_pass_twine_and_run_installed(tmp_path: Path) -> None:
    for module in ("build", "twine", "setuptools"):
        if not _importable(module):
            pytest.skip(f"{module} is not installed (pip install '.[test]')")
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("conformance", "spec"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", dist, source, cwd=tmp_path)
    wheel = next(dist.glob("*.whl"))
    sdist = next(dist.glob("*.tar.gz"))
    run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist, cwd=tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [name for name in PACKAGE_DATA if name not in names] == []
    assert any(name.startswith("conformance/sdk/") and name.endswith(".mjs") for name in names)
    with tarfile.open(sdist) as archive:
        members = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"spec/targets.schema.json", "spec/requirements.yaml", "LICENSE", "README.md"} <= members
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: MIT" in metadata

    # Installed into a fresh venv, run from elsewhere: no source tree anywhere on its path.
    home = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).strip())
    # Behind the venv's own packages: this environment's (the dependencies; a .pth's paths are searched last
    # and their own .pth files, such as an editable install's, are not read).
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    pip = [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check", "--no-input", "install"]
    # --ignore-installed: the .pth makes this environment's own copy (a plain `pip install .`) look installed.
    run(*pip, "--quiet", "--no-deps", "--no-index", "--ignore-installed", wheel, cwd=tmp_path)
    where = run(python, "-c", "import conformance; print(conformance.__file__)", cwd=tmp_path)
    assert Path(where.strip()).is_relative_to(home), where
    command = home / "bin" / "oai-conformance"
    out = tmp_path / "report"
    env = {"PATH": str(home / "bin"), "HOME": str(tmp_path)}
    run(command, "run", "--requirements", "MODELS-001", "--quiet", "--out", out, cwd=tmp_path, env=env)
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["summary"]["score"] == 100


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
