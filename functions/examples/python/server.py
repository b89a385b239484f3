"""A Python function on the standard library only: answers every GET on $PORT."""
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b"Hello from Python!\n"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, fmt, *args):
        # One line per request on stdout, where `zeno logs` finds it.
        print("%s %s" % (self.address_string(), fmt % args), flush=True)


def main():
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("", port), Handler)
    # SIGTERM ends serve_forever() through SystemExit; in-flight threads are daemon threads.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("python-hello: listening on %d" % port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
