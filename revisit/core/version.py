"""The installed package's version (exported as ``revisit_build_info`` and shown by ``--version``)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("revisit")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"
