"""The worker's Faust app with none of Faust's own web pages.

Faust serves ``/table/<table>/<key>/`` (a table's records: here each account's open visits, pages
seen, owner names and e-mail addresses) and ``/router/`` (every worker's address) to anyone who can
reach the port, without authentication, plus statistics and graph pages in debug mode. The worker
needs none of them (it answers no ``@app.table_route``), so its web server serves only the pages
the app adds itself: ``/metrics``, ``/healthz`` and ``/readyz``.
"""

from __future__ import annotations

from typing import ClassVar

import faust
from faust.web import Web
from faust.web.drivers.aiohttp import Web as AiohttpWeb


class OwnPagesOnlyWeb(AiohttpWeb):
    """aiohttp's Faust web server without Faust's built-in blueprints (tables, router, index,
    statistics, graph, performance), whatever Faust's ``web_*_enabled`` settings or
    ``APP_WEB_*`` environment variables say."""

    default_blueprints: ClassVar[tuple[tuple[str, str], ...]] = ()
    production_blueprints: ClassVar[tuple[tuple[str, str], ...]] = ()
    debug_blueprints: ClassVar[tuple[tuple[str, str], ...]] = ()
    optional_blueprints: ClassVar[tuple[tuple[str, str], ...]] = ()


class WorkerApp(faust.App):
    """``faust.App`` serving only the pages registered with ``@app.page``."""

    def _new_web(self) -> Web:
        return OwnPagesOnlyWeb(self)
