"""autograd.allocator: glibc keeps the heap a step frees, so the next step does not page-fault it back."""
import os
import subprocess
import sys
import textwrap

import pytest

import autograd

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")

# Eight arrays (2 MiB each unless said) made and freed per step, as a training step's
# temporaries are; minor page faults counted over 20 steps in a fresh interpreter.
PROGRAM = textwrap.dedent("""
    import os, resource, numpy as np
    import autograd
    size = int(os.environ.get("ARRAY_FLOATS", 1 << 18))
    def step():
        arrays = [np.ones(size) for _ in range(8)]
        del arrays
    for _ in range(3):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        step()
    print(autograd.allocator.applied, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
""")


def _run(**env):
    out = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                         check=True, env={**os.environ, **env}, cwd=os.path.dirname(
                             os.path.dirname(os.path.abspath(autograd.__file__))))
    applied, faults = out.stdout.split()
    return applied == "True", float(faults)


def test_applied_at_import_where_glibc_is():
    if not autograd.allocator.applied:
        pytest.skip("not glibc (no mallopt): the module does nothing")
    applied, faults = _run(CHAINRULE_MALLOC="")
    assert applied
    # 16 MiB of arrays per step is 4,096 pages: with the heap kept, (almost) none fault again.
    assert faults < 100, f"{faults} page faults per step with the freed heap kept"


def test_large_arrays_come_from_the_kept_heap_too():
    # 8 MiB arrays (a 1024 x 2048 float32 gradient): M_TOP_PAD alone froze glibc's adaptive
    # mmap threshold, so each such array was mapped and faulted afresh (516 faults per step)
    if not autograd.allocator.applied:
        pytest.skip("not glibc (no mallopt): the module does nothing")
    applied, faults = _run(CHAINRULE_MALLOC="", ARRAY_FLOATS=str(1 << 20))
    assert applied
    assert faults < 100, f"{faults} page faults per step of 64 MiB in 8 MiB arrays"


def test_the_environment_variable_turns_it_off():
    applied, faults = _run(CHAINRULE_MALLOC="default")
    assert not applied
    if autograd.allocator.applied:  # glibc here: the default behaviour really does fault
        assert faults > 1000, f"only {faults} page faults per step with glibc's defaults"
