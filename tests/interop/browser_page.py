"""Runs tests/interop/browser/page.html in headless Chromium and returns
what the page reports: one harness for every interop script that puts a
browser in front of WebSocket servers.

The page is served from an HTTP server on loopback; it opens a WebSocket
to each cell's port, runs its exchange, and POSTs a JSON object (cell name
-> result) back, which run_page returns (None when nothing came within the
timeout). The browser, the HTTP server and the browser profile are gone
when it returns.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import urllib.parse

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "browser", "page.html")


def run_page(chromium: str, cells: list[dict], over: int, profile_prefix: str, timeout: float = 180):
    box = {}
    done = threading.Event()
    with open(PAGE, "rb") as f:
        page = f.read()

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            box["result"] = json.loads(self.rfile.read(n))
            self.send_response(204)
            self.end_headers()
            done.set()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/?" + urllib.parse.urlencode(
        {"cells": json.dumps(cells), "over": over})
    profile = tempfile.mkdtemp(prefix=profile_prefix)
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={profile}", url]
    br = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    finished = done.wait(timeout)
    br.terminate()
    try:
        br.wait(10)
    except subprocess.TimeoutExpired:
        br.kill()
    httpd.shutdown()
    shutil.rmtree(profile, ignore_errors=True)
    return box["result"] if finished else None
