"""The chainrule command line: `python -m chainrule demo|train|graph`."""
