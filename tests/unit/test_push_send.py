"""Web Push end to end without the internet: a push service on 127.0.0.1 checks the VAPID
signature against the app's public key, the TTL and Urgency, and decrypts the payload with
http_ece using the subscription key pair this test made."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02, b64urlencode
from py_vapid.jwt import decode

from app.domain import push as rules
from app.services import push


def _service(status: int):
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def _subscription(endpoint: str):
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    auth = b"0123456789abcdef"
    keys = {"p256dh": b64urlencode(public), "auth": b64urlencode(auth)}
    return {"endpoint": endpoint, "keys": keys}, private, auth


def test_push_arrives_signed_and_decryptable():
    server, seen = _service(201)
    key = Vapid02()
    key.generate_keys()
    endpoint = f"http://127.0.0.1:{server.server_port}/push/abc"
    sub, private, auth = _subscription(endpoint)
    try:
        status = push.send_one(
            sub, rules.payload("紧急警情", "两户邻居要打起来了", "/alerts/7"), True, key, "mailto:ops@qianmo.example.cn"
        )
    finally:
        server.shutdown()
    assert status == 201
    headers = seen[0]["headers"]
    assert headers["ttl"] == "3600" and headers["urgency"] == "high"
    token = headers["authorization"].split("t=", 1)[1].split(",")[0]
    app_public = b64urlencode(
        key.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    claims = decode(token, app_public)
    assert claims["aud"] == f"http://127.0.0.1:{server.server_port}"
    assert claims["sub"] == "mailto:ops@qianmo.example.cn"
    plain = http_ece.decrypt(seen[0]["body"], private_key=private, auth_secret=auth, version="aes128gcm")
    assert json.loads(plain) == {"title": "紧急警情", "body": "两户邻居要打起来了", "url": "/alerts/7"}


def test_gone_subscription_is_reported():
    server, _ = _service(410)
    key = Vapid02()
    key.generate_keys()
    sub, _, _ = _subscription(f"http://127.0.0.1:{server.server_port}/push/old")
    try:
        status = push.send_one(sub, rules.payload("t", "b", "/"), False, key, "mailto:ops@qianmo.example.cn")
    finally:
        server.shutdown()
    assert rules.gone(status)


def test_unreachable_service_is_not_raised():
    key = Vapid02()
    key.generate_keys()
    sub, _, _ = _subscription("http://127.0.0.1:9/push/x")
    assert push.send_one(sub, b"{}", False, key, "mailto:ops@qianmo.example.cn") == 0
