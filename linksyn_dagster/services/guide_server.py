"""A static HTTP server for the Neo4j Browser guide, run beside the local Neo4j server
(``python -m linksyn_dagster.services.guide_server``; ``LocalNeo4j`` starts and stops it).

Neo4j's own web server serves only Browser's files, so the guide page needs a server of its
own. This one answers ``GET``/``HEAD`` of the one page it is given and nothing else, on
127.0.0.1. Browser fetches the page from its own origin (Neo4j's HTTP port) with ``pragma``
and ``cache-control`` headers, so the page carries CORS headers and the preflight
(``OPTIONS``) that those headers cause is answered.

It binds first and then writes the port it got to ``--port-file`` (renamed into place, so a
reader sees the whole number or nothing): with ``--port 0`` the kernel picks a free port.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HOST = "127.0.0.1"


def _handler(page: Path) -> type[BaseHTTPRequestHandler]:
    path = "/" + page.name

    class GuideHandler(BaseHTTPRequestHandler):
        server_version = "LinkSynGuide"
        sys_version = ""

        def _cors(self) -> None:
            # a public page on loopback: any origin may read it (Browser may be opened as
            # localhost or 127.0.0.1), no credentials are involved
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Cache-Control", "no-cache")

        def do_OPTIONS(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(204)
            self._cors()
            self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", "pragma, cache-control")
            self.send_header("Access-Control-Max-Age", "600")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            self._reply(with_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._reply(with_body=False)

        def _reply(self, with_body: bool) -> None:
            if self.path.split("?", 1)[0].split("#", 1)[0] != path:
                self.send_error(404, "only the guide is served here")
                return
            body = page.read_bytes()  # read per request: a restart of Neo4j rewrites it
            self.send_response(200)
            self._cors()
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
            sys.stderr.write(f"{self.log_date_time_string()} {format % args}\n")

    return GuideHandler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", type=Path, required=True, help="the guide's HTML file, served at /<its name>")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--port-file", type=Path, required=True, help="where to write the port once listening")
    # ``--home`` only names the server this guide belongs to, so its pid can be told apart
    parser.add_argument("--home", type=Path, required=True)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer((HOST, args.port), _handler(args.page.resolve()))
    server.daemon_threads = True
    partial = args.port_file.with_name(args.port_file.name + ".tmp")
    partial.write_text(str(server.server_address[1]), encoding="ascii")
    os.replace(partial, args.port_file)
    # SIGTERM (LocalNeo4j.stop) ends serve_forever through the KeyboardInterrupt path
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
