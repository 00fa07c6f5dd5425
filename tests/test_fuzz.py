"""Runs each libFuzzer target briefly on its committed seed corpus
(fuzz/corpus/<name>/); new inputs go to a scratch directory so the
committed corpus only changes by hand. A crash, leak or failed property
check fails the test and leaves the reproducer in the scratch directory,
named in the failure message."""
import glob
import os
import subprocess

import pytest
from conftest import BUILD, ROOT

SECONDS = int(os.environ.get("PARLEY_FUZZ_SECONDS", "10"))
FUZZERS = sorted(glob.glob(os.path.join(BUILD, "fuzz", "fuzz_*")))


@pytest.mark.parametrize("fuzzer", FUZZERS, ids=[os.path.basename(f) for f in FUZZERS])
def test_fuzz(fuzzer, tmp_path):
    name = os.path.basename(fuzzer)[len("fuzz_"):]
    corpus = os.path.join(ROOT, "fuzz", "corpus", name)
    assert os.path.isdir(corpus) and os.listdir(corpus), "no seed corpus for " + name
    scratch = tmp_path / "corpus"
    scratch.mkdir()
    r = subprocess.run([fuzzer, "-max_total_time=%d" % SECONDS, "-timeout=10",
                        "-rss_limit_mb=2048", "-artifact_prefix=%s/" % tmp_path,
                        "-print_final_stats=1", str(scratch), corpus],
                       capture_output=True, text=True, timeout=SECONDS * 4 + 120)
    assert r.returncode == 0, r.stderr[-6000:]
