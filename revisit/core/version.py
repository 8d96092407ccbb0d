"""The package's version (exported as ``revisit_build_info`` and shown by ``--version``): the one
place it is written; ``pyproject.toml`` reads it from here. A constant rather than the installed
metadata, which ``importlib.metadata`` took 30-45 ms to import at every start."""

__version__ = "0.1.0"
