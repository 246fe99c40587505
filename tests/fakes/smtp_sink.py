#!/usr/bin/python3
"""An SMTP sink on 127.0.0.1 built on aiosmtpd: every message lands in a directory.

Each message is saved as DIR/NNNN.eml (the raw bytes received after DATA) and then
DIR/NNNN.json {"mail_from", "rcpt_tos", "size"}; the .json appears last, so a reader that
sees it knows the .eml is complete. With --auth USER:PASSWORD_FILE the sink requires
AUTH PLAIN or LOGIN (TLS is not required: loopback only).
Run: /usr/bin/python3 smtp_sink.py --port-file P --maildir DIR [--port 0] [--auth U:FILE]
"""

import argparse
import json
import os
import signal
import socket
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class MaildirHandler:
    """aiosmtpd handler writing numbered .eml/.json pairs."""

    def __init__(self, directory):
        self.directory = directory
        self.lock = threading.Lock()
        existing = [n for n in os.listdir(directory) if n.endswith(".json")]
        self.count = len(existing)

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        with self.lock:
            self.count += 1
            base = os.path.join(self.directory, "%04d" % self.count)
        write_file(base + ".eml", raw)
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                "size": len(raw)}
        write_file(base + ".json", json.dumps(meta).encode("utf-8"))
        return "250 Message accepted for delivery"


def write_file(path, data):
    """Write bytes atomically (temporary name, then rename)."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


class Authenticator:
    """Accepts exactly one user name and password."""

    def __init__(self, user, password):
        self.user = user.encode("utf-8")
        self.password = password.encode("utf-8")

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == self.user
              and auth_data.password == self.password)
        return AuthResult(success=ok, handled=False)


class LoopbackController(Controller):
    """A Controller that listens on an already bound 127.0.0.1 socket (so port 0 works)."""

    def __init__(self, handler, port, **kwargs):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        super().__init__(handler, hostname="127.0.0.1",
                         port=self.listener.getsockname()[1], **kwargs)

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self.listener)


def main():
    parser = argparse.ArgumentParser(description="SMTP sink on 127.0.0.1")
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--auth", help="USER:PASSWORD_FILE; require AUTH PLAIN/LOGIN")
    args = parser.parse_args()
    os.makedirs(args.maildir, exist_ok=True)
    options = {}
    if args.auth:
        user, sep, password_file = args.auth.partition(":")
        if not sep or not user or not password_file:
            parser.error("--auth needs USER:PASSWORD_FILE")
        with open(password_file, "r", encoding="utf-8") as handle:
            password = handle.read().strip()
        options = {"authenticator": Authenticator(user, password), "auth_required": True,
                   "auth_require_tls": False}
    controller = LoopbackController(MaildirHandler(args.maildir), args.port,
                                    server_hostname="sink.localhost", **options)
    controller.start()
    tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
    with open(tmp, "w") as handle:
        handle.write("%d\n" % controller.port)
    os.replace(tmp, args.port_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass
    controller.stop()


if __name__ == "__main__":
    main()
