"""revisit: the application shell (command line, configuration, storage, demo) around the three stages."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("revisit")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"
