"""Runs each libFuzzer target briefly on its committed seed corpus
(fuzz/corpus/<name>/); new inputs go to a scratch directory so the
committed corpus only changes by hand. A crash, leak or failed property
check fails the test and leaves the reproducer in the scratch directory,
named in the failure message.

The fuzzers run two at a time (the machines have two cores): the first
test starts them all, each test then waits for its own."""
import concurrent.futures
import glob
import os
import subprocess
import tempfile

import pytest
from conftest import BUILD, ROOT

SECONDS = int(os.environ.get("PARLEY_FUZZ_SECONDS", "10"))
PARALLEL = int(os.environ.get("PARLEY_FUZZ_JOBS", "2"))
FUZZERS = sorted(glob.glob(os.path.join(BUILD, "fuzz", "fuzz_*")))


def run_one(fuzzer, workdir):
    name = os.path.basename(fuzzer)[len("fuzz_"):]
    corpus = os.path.join(ROOT, "fuzz", "corpus", name)
    if not (os.path.isdir(corpus) and os.listdir(corpus)):
        return None, "no seed corpus for " + name
    scratch = os.path.join(workdir, name, "corpus")
    os.makedirs(scratch)
    r = subprocess.run([fuzzer, "-max_total_time=%d" % SECONDS, "-timeout=10",
                        "-rss_limit_mb=2048",
                        "-artifact_prefix=%s/" % os.path.dirname(scratch),
                        "-print_final_stats=1", scratch, corpus],
                       capture_output=True, text=True, timeout=SECONDS * 4 + 120)
    return r.returncode, r.stderr[-6000:]


@pytest.fixture(scope="module")
def fuzz_runs():
    workdir = tempfile.mkdtemp(prefix="parley-fuzz-")
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=PARALLEL)
    runs = {f: pool.submit(run_one, f, workdir) for f in FUZZERS}
    yield runs
    pool.shutdown(wait=True)


@pytest.mark.parametrize("fuzzer", FUZZERS, ids=[os.path.basename(f) for f in FUZZERS])
def test_fuzz(fuzzer, fuzz_runs):
    rc, err = fuzz_runs[fuzzer].result()
    assert rc == 0, err
