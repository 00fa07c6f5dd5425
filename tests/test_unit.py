"""Runs every C unit test (tests/unit/**/test_*.c, built with ASan+UBSan)
as one pytest item per TEST() case, so a failure names the case and a
leak report fails the case that leaked."""
import glob
import os
import subprocess

import pytest
from conftest import BUILD, PG_URL, SAN_ENV


def _cases():
    out = []
    for binary in sorted(glob.glob(os.path.join(BUILD, "asan", "tests", "*", "test_*"))):
        if not os.access(binary, os.X_OK):
            continue
        names = subprocess.run([binary, "--list"], capture_output=True, text=True,
                               timeout=60).stdout.split()
        rel = os.path.relpath(binary, os.path.join(BUILD, "asan", "tests"))
        out += [pytest.param(binary, n, id="%s::%s" % (rel, n)) for n in names]
    return out


@pytest.mark.parametrize("binary,case", _cases())
def test_unit(binary, case, tmp_path):
    env = dict(os.environ, **SAN_ENV)
    if PG_URL:
        env["PARLEY_TEST_PG_URL"] = PG_URL
    r = subprocess.run([binary, case], capture_output=True, text=True, env=env,
                       cwd=str(tmp_path), timeout=300)
    assert r.returncode == 0 and ("PASS %s" % case) in r.stdout, r.stdout + r.stderr
