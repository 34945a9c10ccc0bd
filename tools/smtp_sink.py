#!/usr/bin/env python3
"""A loopback SMTP server for suiji's tests and benchmarks (PyPI aiosmtpd).

Usage: smtp_sink.py DIR PORT

Every message it accepts is written to DIR as NNNNNN.eml (the bytes as received) with
NNNNNN.json beside it (the envelope: mail from and recipients). Numbering continues after the
files already there, so the sink can be stopped and started again. Prints "ready" once it
listens on 127.0.0.1:PORT; runs until killed.
"""
import asyncio
import json
import os
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder):
        self.folder = folder
        taken = [int(n[:6]) for n in os.listdir(folder) if n.endswith(".eml")]
        self.next = max(taken, default=0) + 1

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


def main():
    folder, port = sys.argv[1], int(sys.argv[2])
    os.makedirs(folder, exist_ok=True)
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
