"""``/metrics``, ``/healthz`` and ``/readyz`` for every long-running process.

Liveness and readiness answer different questions: ``/healthz`` says the process is alive (restart it
if not), ``/readyz`` says it can do its work now (its database answers, its broker connection is up),
so an orchestrator sends no traffic and an SRE sees which dependency is missing. The worker serves
these on Faust's web server; the sender and the shipper, which have none, use ``ServiceEndpoints``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger("revisit.endpoints")

# A readiness check returns None when its dependency is usable, else why it is not, in words.
ReadinessCheck = Callable[[], "str | None"]


def readiness(checks: Mapping[str, ReadinessCheck]) -> tuple[bool, dict[str, str]]:
    """Runs every check (a failing one does not hide the others): (ready, name → "ok" or why not)."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            problem = check()
        except Exception as error:
            problem = f"{type(error).__name__}: {error}"
        results[name] = "ok" if problem is None else problem
    return all(result == "ok" for result in results.values()), results


def readiness_body(checks: Mapping[str, ReadinessCheck]) -> tuple[int, bytes]:
    ready, results = readiness(checks)
    body = json.dumps({"status": "ready" if ready else "not ready", "checks": results}, ensure_ascii=False)
    return (200 if ready else 503), body.encode("utf-8")


class ServiceEndpoints:
    """A small HTTP server on its own daemon thread; port 0 picks a free port (see ``port``)."""

    def __init__(self, host: str, port: int, registry: CollectorRegistry, checks: Mapping[str, ReadinessCheck]) -> None:
        self.registry = registry
        self.checks = checks
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="revisit-endpoints", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> ServiceEndpoints:
        self._thread.start()
        log.info("metrics and health endpoints on port %d", self.port)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        endpoints = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._answer(200, generate_latest(endpoints.registry), CONTENT_TYPE_LATEST)
                elif path == "/healthz":
                    self._answer(200, b'{"status": "ok"}', "application/json")
                elif path == "/readyz":
                    status, body = readiness_body(endpoints.checks)
                    self._answer(status, body, "application/json")
                else:
                    self._answer(404, b'{"error": "not found"}', "application/json")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return None

        return Handler
