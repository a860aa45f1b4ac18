"""The package as users install it: a wheel built from a copy of the checkout, installed
into a fresh virtualenv, runs the real-data feature build and a tiny nightly run from a
folder outside the repository, importing the installed package (not the checkout).

The wheel is built with pip (`pip wheel --no-deps`, build isolation: pip fetches the
`[build-system]` requirements from the package index). The virtualenv gets the wheel
alone; the dependencies come from this test's environment through a `.pth` file added
after the install, so nothing but the wheel is downloaded or installed. The installed copy
starts from the checkout's Numba cache (`seed_numba_cache`), so its runs do not compile
again the kernels this session has already compiled.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import importlib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, write_tiny_config

pytestmark = pytest.mark.slow

PACKAGES = ("riskmodel", "features", "kernels")
# Left out of the source copy: the checkout's environments, caches and outputs (a stale
# build/ folder would put files into the wheel that the package configuration does not).
NOT_SOURCE = {".git", ".venv", ".cache", "build", "dist", "runs", "models", "data",
              ".hypothesis", ".pytest_cache"}


def _not_source(folder: str, names: list[str]) -> set[str]:
    top = Path(folder) == ROOT  # `models`, `data`... are packages further down
    return {n for n in names if (top and n in NOT_SOURCE) or n == "__pycache__"
            or n.endswith((".egg-info", ".pyc"))}


def package_data(src: Path) -> set[str]:
    """Every file of the importable packages that is not Python source: what the installed
    package reads at run time (datasets, code lists, schemas, marker files)."""
    return {p.relative_to(src).as_posix()
            for pkg in PACKAGES for p in (src / pkg).rglob("*")
            if p.is_file() and p.suffix != ".py"}


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without anything that would import the checkout instead."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(MPLBACKEND="Agg", **extra)
    return env


def numba_cache_subdir(folder: str) -> str:
    """The folder of Numba's cache (under NUMBA_CACHE_DIR) for the sources in `folder`, an
    absolute path as the modules were imported from: numba.core.caching's
    `_UserProvidedCacheLocator.get_suitable_cache_subpath`."""
    return f"{os.path.basename(folder)}_{hashlib.sha1(folder.encode()).hexdigest()}"


def seed_numba_cache(installed_site: str, cache: Path) -> int:
    """Copy this session's Numba cache of the checkout's packages into `cache`, keyed for
    the installed copies under `installed_site`, and give each installed source the
    modification time of its checkout twin (Numba reuses a cache entry only for a source of
    the same path, size and mtime, and only when the function's bytecode matches). Returns
    the number of folders seeded. Compiling is the slow part of a fresh install's first
    run; what runs is the same. Should Numba change its cache layout, nothing matches and
    the installed copy compiles, as a user's does."""
    ours = Path(os.environ.get("NUMBA_CACHE_DIR", ROOT / ".cache" / "numba"))
    seeded = 0
    for pkg in PACKAGES:
        checkout = Path(os.path.abspath(importlib.import_module(pkg).__file__)).parent
        for folder in [checkout, *(p for p in checkout.rglob("*") if p.is_dir())]:
            cached = ours / numba_cache_subdir(str(folder))
            twin = Path(installed_site) / pkg / folder.relative_to(checkout)
            if not cached.is_dir() or not twin.is_dir():
                continue
            # another test process may be writing the cache: skip Numba's temporary files
            shutil.copytree(cached, cache / numba_cache_subdir(str(twin)), dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.tmp.*"))
            for source in folder.glob("*.py"):
                if (twin / source.name).is_file():
                    st = source.stat()
                    os.utime(twin / source.name, ns=(st.st_atime_ns, st.st_mtime_ns))
            seeded += 1
    return seeded


def check(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int) -> str:
    """Run `cmd`; its stdout, or a failure showing its stderr."""
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd)} -> {done.returncode}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A virtualenv with the wheel installed: its python, its `riskmodel` script, and the
    wheel."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=_not_source)
    env = clean_env()
    check([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
           "--disable-pip-version-check", "-w", str(tmp / "dist"), str(src)],
          cwd=tmp, env=env, timeout=600)
    wheel = next((tmp / "dist").glob("riskmodel-*.whl"))
    venv = tmp / "venv"
    # No pip in the venv (bootstrapping it costs seconds): this environment's pip installs
    # into it with `--python`, as a user's pip would.
    check([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp, env=env,
          timeout=300)
    python = venv / "bin" / "python"
    check([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
           "--no-index", "--quiet", "--disable-pip-version-check", str(wheel)],
          cwd=tmp, env=env, timeout=300)
    # Dependencies from this environment, searched after the venv's own site-packages
    # (which hold the wheel). Paths added by a .pth are not site dirs, so an editable
    # install of the checkout in this environment (its own .pth finder) stays invisible.
    site = Path(check([str(python), "-c", "import sysconfig; "
                       "print(sysconfig.get_paths()['purelib'])"],
                      cwd=tmp, env=env, timeout=60).strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz_test_dependencies.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    return {"python": python, "riskmodel": venv / "bin" / "riskmodel", "wheel": wheel,
            "venv": venv, "src": src}


def test_wheel_holds_every_package_data_file(installed: dict[str, Path]) -> None:
    with zipfile.ZipFile(installed["wheel"]) as whl:
        names = set(whl.namelist())
    expected = package_data(installed["src"])
    assert "riskmodel/sources/iso3166_alpha3.txt" in expected
    assert sorted(expected - names) == []


def test_installed_package_runs_outside_the_checkout(installed: dict[str, Path],
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = clean_env(NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    where = check([str(installed["python"]), "-c",
                   "import features, kernels, riskmodel; "
                   "print(riskmodel.__file__, features.__file__, kernels.__file__)"],
                  cwd=elsewhere, env=env, timeout=120).split()
    venv = installed["venv"].resolve()
    for path in where:
        assert Path(path).resolve().is_relative_to(venv), path
    seed_numba_cache(os.path.dirname(os.path.dirname(where[0])), tmp_path / "numba")
    # the script runs the venv's interpreter (pip may wrap a long path in a sh exec line)
    assert str(installed["python"]) in installed["riskmodel"].read_text()[:500]

    # The real-data cube reads the shipped datasets and the ISO 3166 code list.
    out = check([str(installed["riskmodel"]), "features", "build", "--config",
                 str(ROOT / "configs" / "real-countries.toml"), "--quiet"],
                cwd=elsewhere, env=env, timeout=600)
    assert (elsewhere / "runs" / "real-countries" / "features.nc").is_file(), out

    # configs/tiny.toml with its cwd-relative rules file made absolute, outputs in tmp_path.
    monkeypatch.chdir(ROOT)
    (tmp_path / "tiny").mkdir()
    config = write_tiny_config(tmp_path / "tiny")
    out = check([str(installed["riskmodel"]), "run", "--config", str(config), "--quiet"],
                cwd=elsewhere, env=env, timeout=1200)
    run_dirs = [p for p in (tmp_path / "tiny" / "runs" / "tiny").iterdir() if p.is_dir()]
    assert any((p / "risk.nc").is_file() and (p / "report.html").is_file()
               for p in run_dirs), out
