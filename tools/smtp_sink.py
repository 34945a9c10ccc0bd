#!/usr/bin/env python3
"""A loopback SMTP server for suiji's tests and benchmarks (PyPI aiosmtpd).

Usage: smtp_sink.py DIR PORT [--tls none|starttls|implicit --cert PEM --key PEM]
                             [--auth USER:PASS] [--reject-rcpt SUBSTRING]

Every message it accepts is written to DIR as NNNNNN.eml (the bytes as received) with
NNNNNN.json beside it (the envelope: mail from and recipients). Numbering continues after the
files already there, so the sink can be stopped and started again. Prints "ready" once it
listens on 127.0.0.1:PORT (and nothing else on stdout); runs until killed.

Options:
  --tls starttls     STARTTLS is offered and required before MAIL (530 otherwise).
  --tls implicit     TLS from the first byte (SMTPS).
  --cert, --key      the server's certificate chain and key (PEM), for --tls.
  --auth USER:PASS   AUTH (PLAIN and LOGIN) is required before MAIL; wrong credentials get
                     "535 5.7.8 Authentication credentials invalid". With --tls starttls AUTH is
                     offered only after STARTTLS; without TLS it is offered in the clear.
  --reject-rcpt S    RCPT TO an address containing S gets "550 5.1.1 mailbox unavailable".

DIR/sessions.log gets one line appended per event, whatever the options: "connect" (a client
connected), "starttls" (a STARTTLS handshake completed), "auth ok USER MECH", "auth fail USER
MECH" (MECH is PLAIN or LOGIN), "quit" (the client sent QUIT). Each line is written with one
O_APPEND write before the reply to the client, so it is there once the client has the reply.
"""
import argparse
import asyncio
import json
import logging
import os
import re
import ssl
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult


class Sink:
    def __init__(self, folder, reject_rcpt=None, credentials=None):
        self.folder = folder
        taken = [int(n[:6]) for n in os.listdir(folder) if n.endswith(".eml")]
        self.next = max(taken, default=0) + 1
        self.reject_rcpt = reject_rcpt
        self.credentials = credentials
        # The controller's own probe connection at start-up is not logged.
        self.live = False

    def log(self, line):
        if not self.live:
            return
        fd = os.open(
            os.path.join(self.folder, "sessions.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644
        )
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
        finally:
            os.close(fd)

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        user, password = auth_data.login, auth_data.password
        shown = re.sub(r"[\s\x00-\x1f\x7f]", "?", user.decode("utf-8", "replace")) or "-"
        if (user, password) == self.credentials:
            self.log("auth ok %s %s" % (shown, mechanism))
            return AuthResult(success=True, auth_data=auth_data)
        self.log("auth fail %s %s" % (shown, mechanism))
        # handled=False without a message: aiosmtpd answers 535 5.7.8.
        return AuthResult(success=False, handled=False)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject_rcpt is not None and self.reject_rcpt in address:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = self.next
        self.next += 1
        base = os.path.join(self.folder, "%06d" % n)
        with open(base + ".json.tmp", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos}, f)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(base + ".json.tmp", base + ".json")
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 OK"


class LoggingSMTP(SMTP):
    def connection_made(self, transport):
        # Called again (with the TLS transport) when STARTTLS completes; only the first is a
        # connection.
        if self._original_transport is None:
            self.event_handler.log("connect")
        super().connection_made(transport)

    async def smtp_STARTTLS(self, arg):
        await super().smtp_STARTTLS(arg)
        if self._tls_protocol is not None and self._tls_handshake_okay:
            self.event_handler.log("starttls")

    async def smtp_QUIT(self, arg):
        if not arg:
            self.event_handler.log("quit")
        await super().smtp_QUIT(arg)


class SinkController(Controller):
    def factory(self):
        return LoggingSMTP(self.handler, **self.SMTP_kwargs)


def main():
    p = argparse.ArgumentParser(description="Loopback SMTP sink writing messages to DIR.")
    p.add_argument("dir")
    p.add_argument("port", type=int)
    p.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--auth", metavar="USER:PASS")
    p.add_argument("--reject-rcpt", metavar="SUBSTRING")
    a = p.parse_args()
    if a.tls != "none" and not (a.cert and a.key):
        p.error("--tls %s needs --cert and --key" % a.tls)
    credentials = None
    if a.auth is not None:
        if ":" not in a.auth:
            p.error("--auth takes USER:PASS")
        user, password = a.auth.split(":", 1)
        credentials = (user.encode("utf-8"), password.encode("utf-8"))

    os.makedirs(a.dir, exist_ok=True)
    sink = Sink(a.dir, reject_rcpt=a.reject_rcpt, credentials=credentials)
    kwargs = {}
    context = None
    if a.tls != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(a.cert, a.key)
    if a.tls == "starttls":
        kwargs.update(tls_context=context, require_starttls=True)
    if credentials is not None:
        kwargs.update(authenticator=sink.authenticate, auth_required=True)
        # aiosmtpd refuses AUTH (538) unless STARTTLS was done on this connection: it does not
        # count implicit TLS, so only --tls starttls keeps its default.
        if a.tls != "starttls":
            kwargs.update(auth_require_tls=False)
            warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    # aiosmtpd warns on stderr for every connection (auth_require_tls off) and every AUTH
    # (its own use of the deprecated Session.login_data): noise here.
    logging.getLogger("mail.log").addFilter(
        lambda r: not any(
            m in r.getMessage() for m in ("auth_require_tls == False", "login_data is deprecated")
        )
    )
    controller = SinkController(
        sink,
        hostname="127.0.0.1",
        port=a.port,
        ssl_context=context if a.tls == "implicit" else None,
        **kwargs,
    )
    # Returns once a probe connection got the greeting (over TLS for --tls implicit).
    controller.start()
    sink.live = True
    print("ready", flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
