#!/usr/bin/env python3
"""A loopback stand-in for Elasticsearch's bulk API, for deploy/rsyslog/check.

It answers what omelasticsearch asks: the health probe (GET /_cat/health, GET /)
and POST /_bulk (also /<index>/_bulk) with Elasticsearch's reply shape
({"took", "errors": false, "items": [...]}). Each document received is appended
to --out as one JSON line: {"action": <the bulk action line>, "doc": <the document>}.
With --user/--password, requests without that Basic authorization get 401, as
Elasticsearch with security enabled does.

  es-standin.py --port-file PORT_FILE --out DOCS.jsonl [--port N] [--user U --password P]
"""

import argparse
import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = None
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):  # quiet: the check prints what matters
        pass

    def reply(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        if not args.user:
            return True
        expected = "Basic " + base64.b64encode(f"{args.user}:{args.password}".encode()).decode()
        if self.headers.get("Authorization") == expected:
            return True
        self.reply(401, {"error": {"type": "security_exception", "reason": "missing authentication credentials"}, "status": 401})
        return False

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.body()
        if not self.authorized():
            return
        path = self.path.split("?", 1)[0]
        if path == "/":
            self.reply(200, {"name": "es-standin", "cluster_name": "volant-check",
                             "version": {"number": "8.11.0"}, "tagline": "You Know, for Search"})
        elif path.startswith("/_cat/health"):
            self.reply(200, b"1700000000 00:00:00 volant-check green 1 1 0 0 0 0 0 0 - 100.0%\n", "text/plain")
        elif path.startswith("/_cluster/health"):
            self.reply(200, {"cluster_name": "volant-check", "status": "green"})
        else:
            self.not_found()

    def do_PUT(self):
        self.do_POST()

    def do_POST(self):
        raw = self.body()
        if not self.authorized():
            return
        path = self.path.split("?", 1)[0]
        if not (path == "/_bulk" or path.endswith("/_bulk")):
            self.not_found()
            return
        lines = [line for line in raw.decode("utf-8", "replace").split("\n") if line.strip()]
        items, records, errors = [], [], False
        i = 0
        while i < len(lines):
            try:
                action = json.loads(lines[i])
                (op, meta), = action.items()
            except (ValueError, AttributeError):
                self.reply(400, {"error": {"type": "parse_exception", "reason": f"bad action line: {lines[i][:200]}"}, "status": 400})
                return
            doc = None
            if op != "delete":
                i += 1
                try:
                    doc = json.loads(lines[i]) if i < len(lines) else None
                except ValueError:
                    doc = None
            i += 1
            index = meta.get("_index") or path.strip("/").split("/")[0] or "?"
            if doc is None and op != "delete":
                errors = True
                items.append({op: {"_index": index, "status": 400,
                                   "error": {"type": "mapper_parsing_exception", "reason": "failed to parse"}}})
                continue
            records.append({"action": action, "doc": doc})
            items.append({op: {"_index": index, "_id": meta.get("_id") or f"standin-{id(doc)}",
                               "_version": 1, "result": "created", "status": 201,
                               "_shards": {"total": 1, "successful": 1, "failed": 0}}})
        with lock, open(args.out, "a", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record) + "\n")
        self.reply(200, {"took": 1, "errors": errors, "items": items})

    def not_found(self):
        self.reply(404, {"error": {"type": "resource_not_found_exception", "reason": f"no handler for {self.path}"}, "status": 404})


def main():
    global args
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    with open(args.port_file, "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
