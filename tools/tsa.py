#!/usr/bin/env python3
"""A local RFC 3161 timestamp authority over HTTP, for tests and rehearsals only.

    python3 tools/tsa.py DIR [PORT]

creates in DIR (once) a test CA (ca.pem) and a time-stamping certificate signed by it
(extended key usage timeStamping, critical), prints the port it listens on (0: any free one)
on its first line, and answers every POSTed TimeStampReq with `openssl ts -reply`. It is
OpenSSL's own TSA code behind a socket: suiji's client and verifiers are tested against a peer
they share nothing with. Never use its keys for anything real.
"""

import http.server
import os
import subprocess
import sys
import tempfile

CONFIG = """
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def setup(d):
    if os.path.exists(os.path.join(d, "tsa.pem")):
        return
    p = lambda name: os.path.join(d, name)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p("ca.key"),
            "-out", p("ca.pem"), "-days", "3650", "-subj", "/CN=suiji test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", p("tsa.key"), "-out", p("tsa.csr"),
            "-subj", "/CN=suiji test TSA")
    with open(p("tsa.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=critical,timeStamping\n")
    openssl("x509", "-req", "-in", p("tsa.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
            "-CAcreateserial", "-out", p("tsa.pem"), "-days", "3650", "-extfile", p("tsa.ext"))
    with open(p("serial"), "w") as f:
        f.write("01\n")
    with open(p("tsa.cnf"), "w") as f:
        f.write(CONFIG.format(dir=d))


def main():
    d = os.path.abspath(sys.argv[1])
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    os.makedirs(d, exist_ok=True)
    setup(d)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with tempfile.TemporaryDirectory() as t:
                q, r = os.path.join(t, "q.tsq"), os.path.join(t, "r.tsr")
                with open(q, "wb") as f:
                    f.write(body)
                done = subprocess.run(["openssl", "ts", "-reply", "-config",
                                       os.path.join(d, "tsa.cnf"), "-queryfile", q, "-out", r],
                                      capture_output=True)
                if done.returncode != 0:
                    self.send_response(400)
                    self.end_headers()
                    self.wfile.write(done.stderr)
                    return
                with open(r, "rb") as f:
                    reply = f.read()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
