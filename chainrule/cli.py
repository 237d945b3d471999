"""The chainrule command line: `chainrule demo | train | graph | export` (also `python -m chainrule`).

Problems the user can fix (bad arguments, missing data, corrupt checkpoints) print one
line on stderr and exit 2; Ctrl-C during training exits 130 and names the last checkpoint.
"""
import argparse
import sys
from pathlib import Path

from .errors import CLIError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (no usage block), raised as CLIError."""

    def error(self, message):
        raise CLIError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def build_parser():
    from .datasets import NAMES
    from .models import MODELS
    from .train import OPTIMIZERS, SCHEDULES

    parser = _Parser(prog="chainrule",
                     description="Train, evaluate and look at neural networks built on "
                                 "chainrule's autograd engine.")
    sub = parser.add_subparsers(dest="command", metavar="{demo,train,graph,export}",
                                parser_class=_Parser)

    demo = sub.add_parser("demo", help="train an MLP on generated spirals in seconds; "
                                       "write its graph, curves and decision boundary")
    demo.add_argument("--out", default="chainrule-demo", metavar="DIR",
                      help="output folder (default: %(default)s)")
    demo.add_argument("--dataset", choices=("spirals", "moons"), default="spirals")
    demo.add_argument("--seed", type=int, default=0)

    train = sub.add_parser("train", help="train a model on a dataset, with checkpoints")
    train.add_argument("--model", choices=MODELS, default="mlp",
                       help="lstm and gpt go with --dataset text (default: %(default)s)")
    train.add_argument("--dataset", choices=NAMES, default="spirals",
                       help="(default: %(default)s)")
    train.add_argument("--epochs", type=_positive_int, default=10, metavar="N",
                       help="total epochs; a resumed run continues up to N (default: %(default)s)")
    train.add_argument("--batch-size", type=_positive_int, default=64, metavar="B",
                       help="(default: %(default)s)")
    train.add_argument("--lr", type=_positive_float, default=None, metavar="LR",
                       help="learning rate (default: 0.05 for sgd, 1e-3 otherwise)")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="adam",
                       help="sgd has momentum 0.9 (default: %(default)s)")
    train.add_argument("--lr-schedule", choices=SCHEDULES, default="constant",
                       help="cosine: anneal the lr to 0 over --epochs (resume with the same "
                            "--epochs to continue the same schedule)")
    train.add_argument("--seed", type=int, default=0, metavar="S",
                       help="seeds the weights, the split and the shuffling (default: %(default)s)")
    train.add_argument("--out", default="chainrule-run", metavar="DIR",
                       help="output folder (default: %(default)s)")
    train.add_argument("--data-dir", default=None, metavar="DIR",
                       help="folder with the Fashion-MNIST IDX files "
                            "(default: /usr/share/datasets/fashion-mnist)")
    train.add_argument("--resume", metavar="CKPT", default=None,
                       help="continue from a checkpoint.npz written by an earlier run")
    train.add_argument("--patience", type=_positive_int, default=None, metavar="P",
                       help="stop after this many epochs without a better validation loss")
    train.add_argument("--val-fraction", type=_fraction, default=0.1, metavar="F",
                       help="share of the training data held out for validation "
                            "(default: %(default)s)")
    train.add_argument("--limit", type=_positive_int, default=None, metavar="N",
                       help="use only N training examples (and at most N test examples; "
                            "N characters for text): for quick runs and tests")
    train.add_argument("--seq-len", type=_positive_int, default=64, metavar="T",
                       help="characters per training window, lstm and gpt (the gpt attends to at "
                            "most T characters) (default: %(default)s)")
    train.add_argument("--temperature", type=_positive_float, default=0.8, metavar="T",
                       help="sampling temperature of the generated text, lstm and gpt; lower is "
                            "more conservative (default: %(default)s)")
    train.add_argument("--no-progress", action="store_true", help="no progress bars")

    graph = sub.add_parser("graph", help="draw the graph of an expression with values and "
                                         'gradients, e.g. chainrule graph "(x+y)*z" x=-2 y=5 z=-4')
    graph.add_argument("expression", help="numbers, names, + - * / **, unary -, and "
                                          "exp/log/tanh/sigmoid/relu/sin/cos(...); write one "
                                          "that starts with '-' as '(-x)*y'")
    graph.add_argument("values", nargs="*", metavar="NAME=VALUE")
    graph.add_argument("--out", default="graph.svg", metavar="FILE",
                       help="output SVG (default: %(default)s)")
    graph.add_argument("--html", default=None, metavar="FILE",
                       help="also write an interactive page: zoom, hover for numbers, step "
                            "through the forward and backward passes")

    export = sub.add_parser("export", help="write a trained model.npz as ONNX, e.g. chainrule "
                                           "export runs/cnn/model.npz --model cnn --onnx cnn.onnx")
    export.add_argument("weights", metavar="WEIGHTS", help="the model.npz a run wrote")
    export.add_argument("--model", choices=MODELS, required=True,
                        help="the --model the run was trained with")
    export.add_argument("--onnx", required=True, metavar="FILE", help="the ONNX file to write")
    export.add_argument("--opset", type=_positive_int, default=None, metavar="N",
                        help="ONNX opset version (default: 18)")
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    from .train import Interrupted

    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return EXIT_USAGE
        return {"demo": cmd_demo, "train": cmd_train, "graph": cmd_graph,
                "export": cmd_export}[args.command](args)
    except CLIError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Interrupted as exc:
        if exc.checkpoint_path is None:
            where = "no checkpoint was written yet"
        else:
            where = (f"last checkpoint (epoch {exc.epoch}): {exc.checkpoint_path}; "
                     f"continue with --resume {exc.checkpoint_path}")
        print(f"\ninterrupted: {where}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:  # a full disk, an unwritable --out: the OS says which file
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1


def cmd_train(args):
    from .train import Config, run

    config = Config(model=args.model, dataset=args.dataset, epochs=args.epochs,
                    batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
                    seed=args.seed, out=args.out, data_dir=args.data_dir, resume=args.resume,
                    patience=args.patience, val_fraction=args.val_fraction, limit=args.limit,
                    seq_len=args.seq_len, temperature=args.temperature,
                    lr_schedule=args.lr_schedule,
                    progress="none" if args.no_progress else "batches")
    summary = run(config)
    _print_files(summary["files"])
    return 0


def cmd_demo(args):
    from .train import Config, run

    config = Config(model="mlp", dataset=args.dataset, epochs=60, batch_size=32, lr=0.01,
                    optimizer="adam", seed=args.seed, out=args.out, val_fraction=0.1,
                    progress="epochs")
    print(f"chainrule demo: a 2-64-64-3 MLP learns to separate {args.dataset} "
          f"({config.epochs} epochs of Adam)")
    summary = run(config, log=_quiet_log)
    history = summary["history"]
    print(f"train accuracy {history['train_acc'][-1]:.4f}, "
          f"test accuracy {summary['test_accuracy']:.4f}")
    _print_files(summary["files"])
    return 0


def _quiet_log(message):
    """The demo prints only its headline figures; the full report is in report.txt."""
    if message.startswith(("data:", "model:", "note:")):
        print(message)


def cmd_graph(args):
    import numpy as np

    from autograd import Tensor

    from . import explorer, expr, render

    tree = expr.parse(args.expression)
    values = expr.parse_assignments(args.values)
    names = expr.variables(tree)
    unused = [name for name in values if name not in names]
    if unused:
        raise CLIError(f"{', '.join(unused)} given but not used in {args.expression!r}")
    leaves = {name: Tensor(value, dtype="float64", requires_grad=True, name=name)
              for name, value in values.items()}
    with np.errstate(all="ignore"):  # a log(-1) or x/0 is reported below, once
        out = expr.evaluate(tree, leaves, retain_grads=True)
        out.name = "out"
        out.backward()  # every value is a number: the released graph keeps them all
    print(f"{args.expression} = {out.item():.6g}")
    if not np.isfinite(out.item()):
        print("note: the value is not finite (a log of a negative number, a division by "
              "zero?), so the gradients are not meaningful")
    for name, leaf in leaves.items():
        grad = leaf.grad.item() if leaf.grad is not None else 0.0
        print(f"  d/d{name} = {grad:.6g}")
    path = Path(args.out)
    html_path = None if args.html is None else Path(args.html)
    for p in (path, html_path):
        if p is not None and p.parent and not p.parent.exists():
            raise CLIError(f"output folder {p.parent} does not exist")
    label, written, note = render.expression_graph(out, path, args.expression)
    print(f"{label}: {written}")
    if note:
        print(note)
    if html_path is not None:
        print(f"graph explorer: {explorer.expression_page(out, html_path, args.expression)}")
    return 0


def cmd_export(args):
    from .export import export_onnx

    path, shape, kwargs = export_onnx(args.weights, args.model, args.onnx, args.opset)
    (name,) = kwargs["input_names"]
    free = ", ".join(f"{axis} ({sym})" for axis, sym in kwargs["dynamic_axes"][name].items())
    print(f"wrote {path}: input {name!r} of shape {shape} (free axes: {free}), outputs "
          f"{', '.join(kwargs['output_names'])}; view it at https://netron.app")
    return 0


def _print_files(files):
    print("wrote:")
    width = max(len(k) for k in files)
    for kind, path in files.items():
        print(f"  {kind:<{width}}  {path}")
