#!/usr/bin/env python3
"""A loopback OpenID Connect provider for suiji's tests (standard library only).

    oidc_provider.py PORT CLIENT_ID CLIENT_SECRET

Serves the discovery document, an authorization endpoint that signs in at once (the user is
the request's `login_hint`, default `alice`) and redirects back with a code, and a token
endpoint that checks the client's credentials (HTTP Basic), the code (once), the redirect URI
and the PKCE verifier before it returns an ID token. A `login_hint` of `wrong-aud`,
`wrong-nonce` or `expired` makes that claim wrong, so that the console's checks can be seen to
refuse it. The token is not signed (its signature part is a placeholder): suiji takes it from
the token endpoint directly and checks its claims, as OIDC Core 3.1.3.7 allows.
"""

import base64
import hashlib
import json
import secrets
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, CLIENT, SECRET = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ISSUER = f"http://127.0.0.1:{PORT}"
CODES = {}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Provider(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def json(self, status, value):
        self.send(status, json.dumps(value).encode(), [("Content-Type", "application/json")])

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/.well-known/openid-configuration":
            return self.json(200, {
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token",
            })
        if url.path == "/authorize":
            if q.get("client_id") != CLIENT or q.get("code_challenge_method") != "S256":
                return self.send(400, b"bad request")
            code = secrets.token_urlsafe(16)
            CODES[code] = dict(q, user=q.get("login_hint", "alice"))
            back = q["redirect_uri"] + "?" + urllib.parse.urlencode(
                {"code": code, "state": q.get("state", "")})
            return self.send(302, b"", [("Location", back)])
        return self.send(404)

    def do_POST(self):
        if self.path != "/token":
            return self.send(404)
        length = int(self.headers.get("Content-Length", "0"))
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        basic = self.headers.get("Authorization", "")
        given = base64.b64decode(basic[6:]).decode() if basic.startswith("Basic ") else ""
        client, _, secret = given.partition(":")
        if urllib.parse.unquote(client) != CLIENT or urllib.parse.unquote(secret) != SECRET:
            return self.json(401, {"error": "invalid_client"})
        grant = CODES.pop(form.get("code", ""), None)
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return self.json(400, {"error": "invalid_grant"})
        verifier = form.get("code_verifier", "")
        if b64(hashlib.sha256(verifier.encode()).digest()) != grant["code_challenge"]:
            return self.json(400, {"error": "invalid_grant", "error_description": "PKCE"})
        user = grant["user"]
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": "someone-else" if user == "wrong-aud" else CLIENT,
            "sub": user,
            "iat": now,
            "exp": now - 3600 if user == "expired" else now + 300,
            "nonce": "not-the-nonce" if user == "wrong-nonce" else grant.get("nonce"),
        }
        header = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
        token = f"{header}.{b64(json.dumps(claims).encode())}.unsigned"
        return self.json(200, {"id_token": token, "access_token": "x", "token_type": "Bearer"})


ThreadingHTTPServer(("127.0.0.1", PORT), Provider).serve_forever()
