"""revisit: tells B2B sales the moment a dormant customer (休眠顧客) comes back to the website.

The data's journey is ``revisit.stream`` (parse, filter) → ``revisit.enrichment`` (resolve, match)
→ ``revisit.alerts`` (visits, decisions, channels), over the ground layer ``revisit.core``; the
edges (``revisit.storage``, ``revisit.kafka``) and the application (``revisit.app``, ``revisit.cli``,
``revisit.web``, ``revisit.demo``) sit on top. README, "Architecture", draws the layers.
"""

from revisit.core.version import __version__

__all__ = ["__version__"]
