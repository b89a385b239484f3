"""A Python function for Zeno, on the standard library only.

Zeno runs `python3 app.py` with PORT set (Knative's runtime contract) and
sends SIGTERM when it scales the function down.
"""
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        name = parse_qs(urlparse(self.path).query).get("name", ["world"])[0]
        greeting = os.environ.get("GREETING", "Hello")
        self.reply(200, "text/plain; charset=utf-8", f"{greeting}, {name}! ({{name}})\n".encode())

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            received = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            self.reply(400, "application/json", b'{"error": "send a JSON body"}')
            return
        body = json.dumps({"greeting": os.environ.get("GREETING", "Hello"), "received": received})
        self.reply(200, "application/json", body.encode())

    def reply(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        # One line per request on stdout, where `zeno logs {{name}}` shows it.
        print("%s %s" % (self.address_string(), fmt % args), flush=True)


def make_server(port):
    return ThreadingHTTPServer(("", port), Handler)


def main():
    server = make_server(int(os.environ.get("PORT", "8080")))
    # SIGTERM ends serve_forever() through SystemExit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("{{name}}: listening on %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
