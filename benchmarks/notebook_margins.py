"""Measure the quantities behind the notebooks' learning assertions over seeds, BLAS thread
counts and BLAS kernels, so that each assertion's threshold can carry a measured margin.

A training run is chaotic: another CPU's kernels (OpenBLAS's AVX-512 or AVX2 ones), another
OpenBLAS or NumPy version or another thread count round a product's last bits differently,
and a long run amplifies that into another trajectory. A threshold judged on one run on one
machine can therefore fail on the next machine. This script reruns a notebook with every
seed in it shifted (`manual_seed(N)`, `default_rng(N)` and `seed=N` become N + 1000 * s;
s = 0 is the notebook as written) under each requested setting, and prints the asserted
quantities of every run and their range per quantity.

    python benchmarks/notebook_margins.py 08_optimization --seeds 0-5
    python benchmarks/notebook_margins.py 07_rnn_lstm --seeds 0-3 --threads 1 2 \\
        --coretypes default Haswell
    python benchmarks/notebook_margins.py demo --seeds 0-7     # `chainrule demo`'s accuracy

`--coretypes Haswell` sets OPENBLAS_CORETYPE=Haswell, which makes OpenBLAS use its AVX2
kernels on an AVX-512 machine; `default` lets OpenBLAS choose. Runs go one at a time (the
notebooks are CPU-bound). A failing assertion does not stop a run: the remaining cells still
execute, and the failures are listed by cell.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# For each notebook: {cell index: {label: expression}}, evaluated in the kernel right after
# that cell (the names of a later cell may reuse the names of an earlier one). Indices count
# every cell of the .ipynb, markdown included: move a cell and its index here moves too.
QUANTITIES = {
    "05_fashion_mnist": {
        3: {"dataset": "dataset.split(' ')[0]"},
        9: {"softmax accuracy": "softmax_history[-1]"},
        13: {"MLP accuracy": "mlp_history[-1]",
             "MLP - softmax": "mlp_history[-1] - softmax_history[-1]"},
        17: {"lowest-F1 class": "class_names[int(F1.argmin())]"},
        19: {"most frequent mistake": "f'{class_names[true_k]} as {class_names[pred_k]}'"},
    },
    "06_cnn": {19: {"CNN accuracy": "history[-1]"}},
    "07_rnn_lstm": {
        9: {"RNN guess": "rnn_guess",
            "memoryless letters right": "sum(a == b for a, b in zip(memoryless_guess, 'ello'))"},
        11: {"generated": "text"},
        14: {"|loss0 - ln V|": "abs(losses[0] - np.log(len(vocab)))",
             "unigram - last 10": "unigram_entropy - np.mean(losses[-10:])"},
        16: {"entropy gaps": "min(entropies[1] - entropies[0], entropies[2] - entropies[1])"},
        19: {"RNN ratio": "ratios['RNN']", "LSTM f0 ratio": "ratios['LSTM, forget bias 0']",
             "LSTM f3 ratio": "ratios['LSTM, forget bias 3']"},
    },
    "08_optimization": {
        3: {"momentum / SGD (valley)": "final['SGD + momentum 0.6'] / final['SGD lr 0.038']"},
        9: {"momentum / SGD (Rosenbrock)": "distance['SGD + momentum 0.9'] / distance['SGD']",
            "Adam / SGD (Rosenbrock)": "distance['Adam'] / distance['SGD']"},
        13: {"cosine / constant": "spread['cosine from 0.1'] / spread['constant lr 0.1']"},
        15: {"momentum / SGD (spirals)": "last['SGD 0.05 + momentum 0.9'] / last['SGD 0.05']",
             "Adam / SGD (spirals)": "last['Adam 0.01'] / last['SGD 0.05']"},
        20: {"no-reg val end / best": "turned",
             "L2 / no-reg val end": "val_end['L2, weight_decay=0.01'] / val_end['no regularization']",
             "dropout / no-reg val end": "val_end['dropout 0.5'] / val_end['no regularization']",
             "no-reg / L2 train end": "train_end['no regularization'] / train_end['L2, weight_decay=0.01']"},
        26: {"loss without BN": "last['without BN']", "accuracy without BN": "without_bn[2]",
             "loss with BN": "last['with BN']", "accuracy with BN": "with_bn[2]",
             "gradient ratio": "ratio"},
    },
    "09_higher_order": {
        11: {"Newton |grad|": "float(np.linalg.norm(AF.vjp(logistic_loss, w)[1].numpy()))"},
        13: {"meta val loss end / start": "history[-1][1] / history[0][1]"},
        15: {"meta-gradient error": "abs(analytic.item() - (up - down) / (2 * eps))"},
    },
    "10_attention": {11: {"last 10 / first 10": "np.mean(losses[-10:]) / np.mean(losses[:10])",
                          "test bits per char": "test_loss / math.log(2)"}},
}

SEED = re.compile(r"(manual_seed\(|default_rng\(|seed=)(\d+)")


def shift_seeds(source, s):
    return SEED.sub(lambda m: m.group(1) + str(int(m.group(2)) + 1000 * s), source)


def capture_cell(quantities):
    lines = ["_margins = globals().setdefault('_margins', {})"]
    for label, expression in quantities.items():
        lines.append("try:\n"
                     f"    _v = ({expression})\n"
                     f"    _margins[{label!r}] = _v.item() if hasattr(_v, 'item') else _v\n"
                     "except Exception as _e:\n"
                     f"    _margins[{label!r}] = 'unavailable: ' + type(_e).__name__")
    return "\n".join(lines)


REPORT = """
import json as _json
try:
    import threadpoolctl as _tp
    _margins['BLAS'] = ', '.join(f"{i['internal_api']} {i.get('version')} "
                                 f"{i.get('architecture', '')} {i['num_threads']}t"
                                 for i in _tp.threadpool_info() if i['user_api'] == 'blas')
except ImportError:
    _margins['BLAS'] = 'threadpoolctl not installed'
print('MARGINS' + _json.dumps(globals().get('_margins', {}), default=str))
"""


def run_notebook(name, s, env, fashion_mnist=None):
    import nbclient
    import nbformat
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    cells, origin = [], []
    if fashion_mnist:  # where notebooks 5 and 6 look for Fashion-MNIST
        cells.append(nbformat.v4.new_code_cell(
            f"import nn.data, pathlib\nnn.data.FASHION_MNIST_DIR = pathlib.Path({fashion_mnist!r})"))
        origin.append(None)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cells.append(nbformat.v4.new_code_cell(shift_seeds(cell.source, s)))
        origin.append(index)
        if index in QUANTITIES.get(name, {}):
            cells.append(nbformat.v4.new_code_cell(capture_cell(QUANTITIES[name][index])))
            origin.append(None)
    cells.append(nbformat.v4.new_code_cell(REPORT))
    origin.append(None)
    nb.cells = cells
    with tempfile.TemporaryDirectory() as tmp:
        client = nbclient.NotebookClient(nb, timeout=1200, kernel_name="python3",
                                         allow_errors=True,
                                         resources={"metadata": {"path": tmp}})
        client.execute(env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    values, failures = {}, []
    for cell, index in zip(nb.cells, origin):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                failures.append(f"cell {index}: {out['ename']} {out['evalue']}".strip())
            elif out.get("output_type") == "stream" and "MARGINS{" in out.get("text", ""):
                values = json.loads(out["text"].split("MARGINS", 1)[1])
    return values, failures


def run_demo(s, env):
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run([sys.executable, "-m", "chainrule", "demo", "--seed", str(s),
                                 "--out", tmp], capture_output=True, text=True, cwd=tmp,
                                env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    if result.returncode != 0:
        return {}, [result.stderr.strip().splitlines()[-1]]
    accuracy = float(result.stdout.split("test accuracy ")[1].split()[0])
    return {"demo test accuracy": accuracy}, []


def seeds(text):
    if "-" in text:
        lo, hi = map(int, text.split("-"))
        return list(range(lo, hi + 1))
    return [int(t) for t in text.split(",")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=sorted(QUANTITIES) + ["demo"])
    parser.add_argument("--seeds", type=seeds, default=seeds("0-5"), help="e.g. 0-5 or 0,3,7")
    parser.add_argument("--threads", nargs="+", default=["1", "2"])
    parser.add_argument("--coretypes", nargs="+", default=["default", "Haswell"])
    parser.add_argument("--fashion-mnist", metavar="DIR",
                        help="Fashion-MNIST's folder, if not the default one (notebooks 5, 6)")
    args = parser.parse_args()
    ranges, failed = {}, []
    for coretype in args.coretypes:
        for threads in args.threads:
            env = {"OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
            if coretype != "default":
                env["OPENBLAS_CORETYPE"] = coretype
            for s in args.seeds:
                start = time.perf_counter()
                if args.target == "demo":
                    values, failures = run_demo(s, env)
                else:
                    values, failures = run_notebook(args.target, s, env, args.fashion_mnist)
                setting = f"seed {s}, {threads} thread(s), kernels {coretype}"
                shown = {k: (float(f"{v:.4g}") if isinstance(v, float) else v) for k, v in values.items()
                         if k != "BLAS"}
                print(f"{setting} ({time.perf_counter() - start:.0f} s; {values.get('BLAS', '')})"
                      f"\n    {shown}", flush=True)
                for failure in failures:
                    print(f"    FAILED {failure}", flush=True)
                    failed.append(f"{setting}: {failure}")
                for key, value in shown.items():
                    ranges.setdefault(key, []).append(value)
    print("\nrange over every run:")
    for key, vals in ranges.items():
        numbers = [v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numbers and len(numbers) == len(vals):
            print(f"    {key}: {min(numbers):.4g} to {max(numbers):.4g}")
        else:
            print(f"    {key}: {sorted(set(map(str, vals)))}")
    print(f"{len(failed)} failed assertion(s)" + "".join(f"\n    {f}" for f in failed))


if __name__ == "__main__":
    main()
