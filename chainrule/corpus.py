"""The text corpus shipped with chainrule for character-level language models."""
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


def load_text(name="dhammapada"):
    """The text of a shipped corpus (see chainrule/data/SOURCES.md for its source)."""
    path = DATA_DIR / f"{name}.txt"
    if not path.exists():
        raise FileNotFoundError(f"load_text: no shipped corpus named {name!r} in {DATA_DIR}")
    return path.read_text(encoding="ascii")
