#!/usr/bin/env python3
"""Test EC2 Instance Metadata Service (IMDSv2 only) for the ckpt S3 credential tests.

Python 3.11 standard library only. Binds to 127.0.0.1.

    python3 imds.py --port 0 --access-key AK --secret-key SK --expires-in 60 \
        [--role ROLE] [--region REGION] [--port-file FILE]

Prints ``IMDS READY <port>`` on stdout once it accepts connections (and writes the
port to --port-file). Point the AWS SDK at it with
``AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:<port>``.

Endpoints (IMDSv2 semantics; every GET under /latest/ needs a valid session token):
  PUT /latest/api/token                 header x-aws-ec2-metadata-token-ttl-seconds: 1..21600
                                        -> 200, token as body, TTL header echoed
                                           (400 without/with a bad TTL, 403 with X-Forwarded-For)
  GET /latest/meta-data/                -> a short listing
  GET /latest/meta-data/iam/security-credentials/         -> ROLE (no trailing newline)
  GET /latest/meta-data/iam/security-credentials/ROLE     -> credentials JSON
  GET /latest/meta-data/iam/security-credentials-extended/[ROLE]  same, JSON adds AccountId
  GET /latest/meta-data/iam/info, /latest/meta-data/placement/region
  GET /_test/stats                      -> {"issued": N, "tokens": M, "unauthorized": U}
                                           (no token needed)
GET without a token, or with an unknown/expired one -> 401.

Each credentials response hands out a fresh session Token (``<prefix>-<n>``), keeps the
given AccessKeyId/SecretAccessKey, and sets Expiration = now + --expires-in.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN_HEADER = "x-aws-ec2-metadata-token"
TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds"
MAX_TTL = 21600
ACCOUNT_ID = "000000000000"


def rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class State:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.lock = threading.Lock()
        self.tokens: dict[str, float] = {}  # token -> monotonic expiry
        self.issued = 0
        self.tokens_issued = 0
        self.unauthorized = 0

    def new_token(self, ttl: int) -> str:
        token = "ckpt-imds-" + secrets.token_urlsafe(24)
        with self.lock:
            now = time.monotonic()
            # drop expired tokens so the table stays small
            for k in [k for k, exp in self.tokens.items() if exp <= now]:
                del self.tokens[k]
            self.tokens[token] = now + ttl
            self.tokens_issued += 1
        return token

    def token_valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self.lock:
            exp = self.tokens.get(token)
            return exp is not None and exp > time.monotonic()

    def issue_credentials(self, extended: bool) -> bytes:
        now = dt.datetime.now(dt.timezone.utc)
        with self.lock:
            self.issued += 1
            n = self.issued
        body = {
            "Code": "Success",
            "LastUpdated": rfc3339(now),
            "Type": "AWS-HMAC",
            "AccessKeyId": self.args.access_key,
            "SecretAccessKey": self.args.secret_key,
            "Token": f"{self.args.token_prefix}-{n}",
            "Expiration": rfc3339(now + dt.timedelta(seconds=self.args.expires_in)),
        }
        if extended:
            body["AccountId"] = ACCOUNT_ID
        return json.dumps(body, indent=2).encode()

    def stats(self) -> bytes:
        with self.lock:
            return json.dumps(
                {
                    "issued": self.issued,
                    "tokens": self.tokens_issued,
                    "unauthorized": self.unauthorized,
                }
            ).encode()


def make_handler(state: State):
    args = state.args
    role = args.role

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "ckpt-test-imds"
        sys_version = ""

        def log_message(self, fmt: str, *a) -> None:  # noqa: D401
            if args.verbose:
                sys.stderr.write("imds: " + (fmt % a) + "\n")

        def _send(self, status: int, body: bytes | str = b"", ctype: str = "text/plain",
                  headers: dict[str, str] | None = None) -> None:
            if isinstance(body, str):
                body = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _drain(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            if n > 0:
                self.rfile.read(n)

        def do_PUT(self) -> None:  # noqa: N802
            self._drain()
            path = self.path.split("?", 1)[0]
            if path != "/latest/api/token":
                return self._send(405 if path.startswith("/latest/") else 404)
            if self.headers.get("X-Forwarded-For") is not None:
                return self._send(403)
            raw = self.headers.get(TTL_HEADER)
            try:
                ttl = int(raw) if raw is not None else -1
            except ValueError:
                ttl = -1
            if not 1 <= ttl <= MAX_TTL:
                return self._send(400)
            token = state.new_token(ttl)
            self._send(200, token, headers={TTL_HEADER: str(ttl)})

        def do_GET(self) -> None:  # noqa: N802
            self._drain()
            path = self.path.split("?", 1)[0]
            if path == "/_test/stats":
                return self._send(200, state.stats(), "application/json")
            if not path.startswith("/latest/"):
                return self._send(404)
            if not state.token_valid(self.headers.get(TOKEN_HEADER)):
                with state.lock:
                    state.unauthorized += 1
                return self._send(401)
            for base, extended in (
                ("/latest/meta-data/iam/security-credentials/", False),
                ("/latest/meta-data/iam/security-credentials-extended/", True),
            ):
                if path in (base, base.rstrip("/")):
                    return self._send(200, role)
                if path.startswith(base):
                    if path[len(base):] == role:
                        return self._send(200, state.issue_credentials(extended), "text/plain")
                    return self._send(404)
            if path in ("/latest/meta-data/", "/latest/meta-data"):
                return self._send(200, "ami-id\nhostname\niam/\ninstance-id\nplacement/")
            if path == "/latest/meta-data/iam/":
                return self._send(200, "info\nsecurity-credentials/")
            if path == "/latest/meta-data/iam/info":
                info = {
                    "Code": "Success",
                    "LastUpdated": rfc3339(dt.datetime.now(dt.timezone.utc)),
                    "InstanceProfileArn": f"arn:aws:iam::{ACCOUNT_ID}:instance-profile/{role}",
                    "InstanceProfileId": "AIPACKPTTESTPROFILE",
                }
                return self._send(200, json.dumps(info, indent=2))
            simple = {
                "/latest/meta-data/ami-id": "ami-00000000000000000",
                "/latest/meta-data/hostname": "ckpt-test-host",
                "/latest/meta-data/instance-id": "i-00000000000000000",
                "/latest/meta-data/placement/": "region",
                "/latest/meta-data/placement/region": args.region,
            }
            if path in simple:
                return self._send(200, simple[path])
            return self._send(404)

        do_HEAD = do_GET

        def _not_allowed(self) -> None:
            self._drain()
            self._send(405)

        do_POST = do_DELETE = do_PATCH = _not_allowed

    return Handler


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = ephemeral")
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret-key", required=True)
    p.add_argument("--expires-in", type=int, default=60,
                   help="seconds until each issued credential expires")
    p.add_argument("--role", default="ckpt-test-role")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--token-prefix", default="ckpt-imds-session",
                   help="session Token is '<prefix>-<issue counter>'")
    p.add_argument("--port-file")
    p.add_argument("-v", "--verbose", action="store_true", help="log requests to stderr")
    args = p.parse_args(argv)

    state = State(args)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(state))
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)

    def _stop(*_a) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"IMDS READY {port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
