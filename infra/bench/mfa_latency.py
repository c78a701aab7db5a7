#!/usr/bin/env python3
"""Latency of a sign-in with two-step sign-in on, on the local server (embedded backend).

Starts the given marquee-local binary (as latency.py does), then for each of N accounts:
registers, activates, turns MFA on (setup + confirm with a code), and times the two steps
of a sign-in over one keep-alive connection: POST /auth/login (password: answers an
mfa_token) and POST /auth/mfa/verify (the code). Each account's code is accepted once per
30 s step, so every account signs in once, with the code of the next step (one step of
drift is allowed). Usage: mfa_latency.py path/to/marquee-local [--accounts 50]
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import struct
import tempfile
import time
import urllib.parse

from latency import PASSWORD, activation_token, call, pct, start


def totp(secret_base32, at):
    """RFC 6238 with the parameters the otpauth URI names (SHA-1, 6 digits, 30 s)."""
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def ok(status, payload, expect):
    if status != expect:
        raise SystemExit(f"expected {expect}, got {status}: {payload[:300]!r}")
    return json.loads(payload) if payload else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--accounts", type=int, default=50)
    args = parser.parse_args()
    logins, verifies, whole = [], [], []
    with tempfile.TemporaryDirectory() as data:
        proc, host, port = start(args.binary, data)
        try:
            conn = http.client.HTTPConnection(host, port)
            for n in range(args.accounts):
                email = f"mfa{n}@example.com"
                credentials = {"email": email, "password": PASSWORD}
                ok(*call(conn, "POST", "/auth/register", credentials), 201)
                token = activation_token(data, email)
                ok(*call(conn, "POST", "/auth/activate", {"token": token}), 200)
                access = ok(*call(conn, "POST", "/auth/login", credentials), 200)["access_token"]
                setup = ok(*call(conn, "POST", "/auth/mfa/totp", {}, access), 201)
                secret = urllib.parse.parse_qs(urllib.parse.urlparse(setup["otpauth_uri"]).query)["secret"][0]
                ok(*call(conn, "POST", "/auth/mfa/totp/confirm", {"code": totp(secret, time.time())}, access), 200)

                started = time.perf_counter()
                challenge = ok(*call(conn, "POST", "/auth/login", credentials), 200)
                after_password = time.perf_counter()
                assert challenge["mfa_required"], challenge
                second = {"mfa_token": challenge["mfa_token"], "code": totp(secret, time.time() + 30)}
                pair = ok(*call(conn, "POST", "/auth/mfa/verify", second), 200)
                done = time.perf_counter()
                assert pair["token_type"] == "Bearer"
                logins.append((after_password - started) * 1000)
                verifies.append((done - after_password) * 1000)
                whole.append((done - started) * 1000)
        finally:
            proc.terminate()
            proc.wait()
    print(f"{'request':<44}{'n':>5}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}")
    for name, samples in [
        ("POST /auth/login, MFA on (argon2id)", logins),
        ("POST /auth/mfa/verify (code)", verifies),
        ("sign-in with MFA, both steps", whole),
    ]:
        print(f"{name:<44}{len(samples):>5}{pct(samples, 50):>9.2f}{pct(samples, 90):>9.2f}{pct(samples, 99):>9.2f}")


if __name__ == "__main__":
    main()
