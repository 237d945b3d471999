"""Training checkpoints: one .npz written by nn.save (atomic, no pickle), checked on load.

A checkpoint is a nested dict (weights, optimizer and schedule state, random generator
state, history) tagged with KIND, so `--resume model.npz` (weights only) or any other .npz
is refused with a message saying what to pass instead.
"""
from pathlib import Path

import nn

from .errors import CheckpointError

KIND = "chainrule-training-checkpoint"
VERSION = 1


def save(tree, path):
    """Write the dict `tree` to `path` atomically (nn.save: a temporary file, then a rename)."""
    nn.save({"kind": KIND, "version": VERSION, **tree}, path)
    return Path(path)


def load(path):
    """The dict saved at `path`; CheckpointError (one line, says what is wrong) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        tree = nn.load(path)
    except (ValueError, OSError) as exc:  # nn.load's documented errors
        detail = str(exc).replace("\n", " ")
        raise CheckpointError(f"checkpoint {path} is corrupt or unreadable ({detail})") from None
    if not isinstance(tree, dict) or tree.get("kind") != KIND:
        raise CheckpointError(f"{path} is not a training checkpoint (a weights file such as "
                              "model.npz?); resume from the checkpoint.npz a run writes")
    if tree.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {path} has format version {tree.get('version')}; "
                              f"this chainrule reads version {VERSION}")
    return tree
