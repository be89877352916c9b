"""Where the package finds libpmdeflate.so: $PMDEFLATE_LIBRARY, then next to
the package, then the system loader. Each case imports a copy of the
package in a fresh interpreter."""

import os
import shutil
import subprocess
import sys

import pmdeflate

PKG_DIR = os.path.dirname(os.path.abspath(pmdeflate.__file__))
LIB = pmdeflate.library_path


def run(pkg_parent, env_extra, code="import pmdeflate; print(pmdeflate.library_path); print(pmdeflate.library_version)"):
    env = {k: v for k, v in os.environ.items() if k not in ("PMDEFLATE_LIBRARY", "LD_LIBRARY_PATH", "PYTHONPATH")}
    env.update(env_extra)
    env["PYTHONPATH"] = str(pkg_parent)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=pkg_parent)


def copy_package(tmp_path, with_library):
    dest = tmp_path / "site" / "pmdeflate"
    shutil.copytree(PKG_DIR, dest, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    if with_library:
        shutil.copy(LIB, dest / "libpmdeflate.so")
    return dest.parent


def test_environment_variable_wins_and_a_wrong_one_is_an_error(tmp_path):
    site = copy_package(tmp_path, with_library=True)
    r = run(site, {"PMDEFLATE_LIBRARY": os.path.realpath(LIB)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [os.path.realpath(LIB), "0.1.0"]
    r = run(site, {"PMDEFLATE_LIBRARY": str(tmp_path / "missing.so")})
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "missing.so" in r.stderr and "PMDEFLATE_LIBRARY" in r.stderr


def test_next_to_the_package(tmp_path):
    site = copy_package(tmp_path, with_library=True)
    r = run(site, {})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == str(site / "pmdeflate" / "libpmdeflate.so")


def test_system_loader_through_ld_library_path(tmp_path):
    site = copy_package(tmp_path, with_library=False)
    r = run(site, {"LD_LIBRARY_PATH": os.path.dirname(os.path.realpath(LIB))})
    assert r.returncode == 0, r.stderr
    assert os.path.basename(r.stdout.split()[0]).startswith("libpmdeflate.so")


def test_nowhere_is_an_import_error_that_says_where_it_looked(tmp_path):
    site = copy_package(tmp_path, with_library=False)
    r = run(site, {})
    assert r.returncode != 0
    assert "cannot load libpmdeflate.so" in r.stderr
    assert "next to the package" in r.stderr and "the system loader" in r.stderr


def test_the_binding_declares_every_function_it_calls():
    """Each name in the signature table is exported by the library and
    declared in include/pmdeflate.h (when the header is at hand)."""
    from pmdeflate._library import SIGNATURES

    header = os.path.join(os.path.dirname(__file__), "..", "..", "..", "include", "pmdeflate.h")
    with open(header, encoding="utf-8") as f:
        text = f.read()
    for name in SIGNATURES:
        assert f"{name}(" in text, name
