"""Real servers on loopback for the resolver tests and the slow-resolver benchmark: a DNS server
(dnslib, UDP), UDP servers that never answer or answer garbage, and an RDAP / JPNIC-whois HTTP
server serving the registries' recorded answers. Each runs on a thread of its own and stops in
``close()``; none is a stand-in for library code: dnspython and ipwhois talk to them over sockets.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from dnslib import AAAA, PTR, QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class ZoneResolver(BaseResolver):
    """Answers from a dict: (name, type) → record values; other names get NXDOMAIN."""

    def __init__(self, records: dict[tuple[str, str], list[str]], ttl: int = 300, delay_seconds: float = 0.0) -> None:
        self.records = {(name.rstrip(".").lower() + ".", rtype): values for (name, rtype), values in records.items()}
        self.ttl = ttl
        self.delay_seconds = delay_seconds  # every answer this late (the slow-resolver benchmark)
        self.questions: list[str] = []

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        if self.delay_seconds:
            time.sleep(self.delay_seconds)  # each query has a thread of its own (ThreadingMixIn)
        reply = request.reply()
        qname, qtype = str(request.q.qname).lower(), QTYPE[request.q.qtype]
        self.questions.append(f"{qname} {qtype}")
        values = self.records.get((qname, qtype))
        if values is None:
            if not any(name == qname for name, _type in self.records):
                reply.header.rcode = RCODE.NXDOMAIN
            return reply
        make = {"PTR": PTR, "A": A, "AAAA": AAAA}[qtype]
        for value in values:
            reply.add_answer(RR(request.q.qname, getattr(QTYPE, qtype), rdata=make(value), ttl=self.ttl))
        return reply


def ptr_name(address: str) -> str:
    import ipaddress

    return ipaddress.ip_address(address).reverse_pointer


class LoopbackDns:
    """A real UDP DNS server on 127.0.0.1 and a free port."""

    def __init__(self, records: dict[tuple[str, str], list[str]], delay_seconds: float = 0.0) -> None:
        self.resolver = ZoneResolver(records, delay_seconds=delay_seconds)
        self.port = _free_port(socket.SOCK_DGRAM)
        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
        self._server = DNSServer(self.resolver, port=self.port, address="127.0.0.1", logger=quiet)
        self._server.start_thread()

    def close(self) -> None:
        self._server.stop()
        # answers still sleeping in their threads would be sent on a closed socket (a traceback each)
        time.sleep(self.resolver.delay_seconds)
        self._server.server.server_close()


class LoopbackUdp:
    """A UDP port that reads queries and either never answers or answers garbage bytes."""

    def __init__(self, garbage: bool) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.garbage = garbage
        self.queries = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.socket.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            self.queries += 1
            if self.garbage:
                # the query's id, so the client takes it for the answer, then bytes that are no DNS message
                self.socket.sendto(data[:2] + os.urandom(9), peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.socket.close()


class LoopbackRdap:
    """RDAP (``/ip/<address>``) and the JPNIC whois gateway (``/jpnic?key=<address>``) over HTTP.

    ``answers`` maps an address to (status, body, content type); ``delay_seconds`` slows every
    answer (the slow-resolver benchmark); ``requests`` records the paths asked for.
    """

    def __init__(
        self,
        answers: dict[str, tuple[int, str, str]] | None = None,
        jpnic: dict[str, str] | None = None,
        delay_seconds: float = 0.0,
    ) -> None:
        self.answers = answers or {}
        self.jpnic = jpnic or {}
        self.delay_seconds = delay_seconds
        self.requests: list[str] = []
        self.request_times: list[float] = []  # time.monotonic() of each request, in order
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                server.request_times.append(time.monotonic())
                if server.delay_seconds:
                    time.sleep(server.delay_seconds)
                url = urlparse(self.path)
                if url.path.startswith("/ip/"):
                    status, body, content_type = server.answers.get(
                        url.path[len("/ip/") :],
                        (404, json.dumps({"errorCode": 404, "title": "Not Found"}), "application/rdap+json"),
                    )
                elif url.path == "/jpnic":
                    key = parse_qs(url.query).get("key", [""])[0]
                    found = server.jpnic.get(key)
                    status, body, content_type = (200, found, "text/html") if found else (404, "no match", "text/plain")
                else:
                    status, body, content_type = 404, "not here", "text/plain"
                payload = body.encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.rdap_url = f"http://127.0.0.1:{self.port}/ip/{{address}}"
        self.jpnic_url = f"http://127.0.0.1:{self.port}/jpnic?key={{address}}&submit=query"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def recorded_rdap_answers(shared_data: Path) -> tuple[dict[str, tuple[int, str, str]], dict[str, str]]:
    """The registries' recorded answers (ipwhois' and 20c/rdap's test data), by address, plus
    JPNIC's whois gateway page for 133.1.2.5 and an APNIC answer that delegates 133/8 to JPNIC."""
    rdap = shared_data / "rdap"
    answers = {}
    for address, entry in json.loads((rdap / "ipwhois" / "rdap.json").read_text()).items():
        answers[address] = (200, json.dumps(entry["response"]), "application/rdap+json")
    chix = (rdap / "20c-rdap" / "ip" / "206.41.110.0.input").read_text()
    for host in ("206.41.110.1", "206.41.110.77"):
        answers[host] = (200, chix, "application/rdap+json")
    answers["133.1.2.5"] = (200, json.dumps(APNIC_JPNIC_DELEGATION), "application/rdap+json")
    jpnic = {
        address: entry["response"]
        for address, entry in json.loads((rdap / "ipwhois" / "jpnic.json").read_text()).items()
    }
    return answers, jpnic


# What APNIC answers for addresses in 133/8 (shape as served by rdap.apnic.net): the block is JPNIC's
# to hand out, so the holder of 133.1.0.0/16 is only in JPNIC's own whois.
APNIC_JPNIC_DELEGATION = {
    "rdapConformance": ["rdap_level_0"],
    "objectClassName": "ip network",
    "handle": "133.0.0.0 - 133.255.255.255",
    "startAddress": "133.0.0.0",
    "endAddress": "133.255.255.255",
    "ipVersion": "v4",
    "name": "JPNIC-NET-JP-ERX",
    "type": "ALLOCATED PORTABLE",
    "country": "JP",
    "cidr0_cidrs": [{"v4prefix": "133.0.0.0", "length": 8}],
    "entities": [
        {
            "objectClassName": "entity",
            "handle": "JNIC1-AP",
            "roles": ["administrative", "technical"],
            "vcardArray": [
                "vcard",
                [
                    ["version", {}, "text", "4.0"],
                    ["fn", {}, "text", "Japan Network Information Center"],
                    ["kind", {}, "text", "group"],
                ],
            ],
        }
    ],
    "events": [],
    "links": [],
    "remarks": [],
}


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
