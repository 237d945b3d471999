"""Run benchmarks/run.py against the autograd/nn of another checkout: run_at.py <dir> [run.py args].

For before/after figures: `git worktree add /tmp/before <commit>`, then
`python benchmarks/run_at.py /tmp/before --only op_overhead`. The editable install of this
checkout is taken off the import path so that the other checkout's packages are used.
"""
import os
import runpy
import sys

tree = sys.argv.pop(1)
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__name__.lower()
                    and "editable" not in getattr(f, "__module__", "")]
sys.path.insert(0, tree)
sys.argv[0] = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run.py")
runpy.run_path(sys.argv[0], run_name="__main__")
