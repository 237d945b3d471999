"""Training checkpoints: nested state (dicts, lists, numbers, arrays) in one .npz, no pickle.

A state tree is split into its arrays (stored as .npz members "a0", "a1", ...) and its
shape (JSON, stored as a uint8 member "tree.json", with each array replaced by its member
name). Dict keys keep their type (optimizers key their state by int), so a tree comes back
exactly as it went in, tuples as lists. Files are written through nn.save, which writes a
temporary file and renames it, so an interrupted save never damages the last checkpoint.
"""
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import CheckpointError

FORMAT = "chainrule-checkpoint"
VERSION = 1


def pack(tree):
    """(JSON-able skeleton, {member: array}) for a tree of dicts/lists/numbers/arrays."""
    arrays = {}

    def walk(node):
        if hasattr(node, "data") and isinstance(getattr(node, "data"), np.ndarray):
            node = node.data  # a Tensor or Parameter
        if isinstance(node, np.ndarray):
            if node.dtype == object:
                raise TypeError("checkpoint: object arrays cannot be saved without pickle")
            member = f"a{len(arrays)}"
            arrays[member] = node
            return {"array": member}
        if isinstance(node, np.generic):
            return node.item()
        if isinstance(node, dict):
            return {"dict": [[key, walk(value)] for key, value in node.items()]}
        if isinstance(node, (list, tuple)):
            return [walk(item) for item in node]
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        raise TypeError(f"checkpoint: cannot save a {type(node).__name__}")

    return walk(tree), arrays


def unpack(skeleton, arrays):
    """The tree that pack() split; raises KeyError for a member that is missing."""

    def walk(node):
        if isinstance(node, dict):
            if "array" in node:
                return arrays[node["array"]]
            return {key if not isinstance(key, list) else tuple(key): walk(value)
                    for key, value in node["dict"]}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(skeleton)


def save(tree, path):
    """Write `tree` to `path` atomically (a temporary file, then a rename)."""
    skeleton, arrays = pack(tree)
    header = json.dumps({"format": FORMAT, "version": VERSION, "tree": skeleton})
    arrays["tree.json"] = np.frombuffer(header.encode("utf-8"), np.uint8)
    path = Path(path)
    try:
        import nn
        nn_save = getattr(nn, "save", None)
    except ImportError:
        nn_save = None
    if nn_save is not None:
        nn_save(arrays, path)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a checkpoint need not be
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(path):
    """The tree saved at `path`; CheckpointError (one line, says what is wrong) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except Exception as exc:  # zip, npy-header and I/O errors all mean "not a checkpoint"
        detail = str(exc).split(". ")[0].replace("\n", " ")
        raise CheckpointError(f"checkpoint {path} is corrupt or not a .npz file "
                              f"({type(exc).__name__}: {detail})") from None
    if "tree.json" not in arrays:
        raise CheckpointError(f"checkpoint {path} holds arrays but no training state (a weights "
                              "file such as model.npz?); resume from a run's checkpoint.npz")
    try:
        header = json.loads(arrays.pop("tree.json").tobytes().decode("utf-8"))
        if header.get("format") != FORMAT:
            raise ValueError(f"format is {header.get('format')!r}, not {FORMAT!r}")
        if header.get("version") != VERSION:
            raise ValueError(f"version {header.get('version')}, this chainrule reads {VERSION}")
        return unpack(header["tree"], arrays)
    except (KeyError, ValueError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"checkpoint {path} is not a chainrule training checkpoint "
                              f"({type(exc).__name__}: {exc})") from None
