#!/usr/bin/env python3
"""Probe the running S3 test servers and print what they support.

Run with the LocalStack venv's interpreter (it has botocore):
    ~/.cache/ckpt-testenv/localstack-venv/bin/python testenv/s3/check.py [localstack] [s3s] [minio] [imds]

Reads the same env vars as up.sh (LOCALSTACK_PORT, S3S_PORT, S3S_ACCESS_KEY, ...). Exits 1 if a
basic operation (create bucket, put, get, signed access) fails; feature findings are only printed.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zlib

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
FAILED = False


def say(name: str, msg: str) -> None:
    print(f"{name:10s} {msg}", flush=True)


def fail(name: str, msg: str) -> None:
    global FAILED
    FAILED = True
    say(name, "FAIL " + msg)


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def client(endpoint: str, ak: str, sk: str, token: str | None = None, unsigned: bool = False):
    sess = botocore.session.get_session()
    cfg = Config(
        s3={"addressing_style": "path"},
        region_name="us-east-1",
        retries={"max_attempts": 1},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    if unsigned:
        from botocore import UNSIGNED

        cfg = cfg.merge(Config(signature_version=UNSIGNED))
    return sess.create_client(
        "s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk,
        aws_session_token=token, config=cfg,
    )


def err_code(e: ClientError) -> str:
    return f"{e.response['ResponseMetadata'].get('HTTPStatusCode')} {e.response['Error'].get('Code')}"


def multipart(name: str, s3, bucket: str, key: str, *, declare: bool, part_sums: str,
              complete_sums: bool) -> str:
    """part_sums: 'match' | 'mismatch' | 'none'. Returns a one-line outcome."""
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(1024)]
    kw = {"ChecksumAlgorithm": "CRC32"} if declare else {}
    up = s3.create_multipart_upload(Bucket=bucket, Key=key, **kw)["UploadId"]
    done = []
    try:
        for i, data in enumerate(parts, 1):
            pk = {}
            if part_sums == "match":
                pk["ChecksumCRC32"] = crc32_b64(data)
            elif part_sums == "mismatch":
                pk["ChecksumCRC32"] = crc32_b64(data + b"x")
            try:
                r = s3.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=i, Body=data, **pk)
            except ClientError as e:
                return f"upload_part refused: {err_code(e)}"
            p = {"ETag": r["ETag"], "PartNumber": i}
            if complete_sums:
                p["ChecksumCRC32"] = r.get("ChecksumCRC32") or crc32_b64(data)
            done.append(p)
        try:
            r = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up,
                                             MultipartUpload={"Parts": done})
        except ClientError as e:
            return f"complete refused: {err_code(e)}"
        got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        ok = got == b"".join(parts)
        return (f"completed, content {'ok' if ok else 'WRONG'}, ChecksumCRC32={r.get('ChecksumCRC32')}"
                f" ChecksumType={r.get('ChecksumType')}")
    finally:
        try:
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=up)
        except ClientError:
            pass


def probe_s3(name: str, endpoint: str, ak: str, sk: str, *, sigv4: bool, token: str | None = None) -> None:
    s3 = client(endpoint, ak, sk, token)
    bucket = f"ckpt-check-{uuid.uuid4().hex[:8]}"
    try:
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="a/b.txt", Body=b"hello")
        body = s3.get_object(Bucket=bucket, Key="a/b.txt")["Body"].read()
        if body != b"hello":
            return fail(name, f"get returned {body!r}")
        say(name, "create bucket / put / get: ok")
    except Exception as e:  # noqa: BLE001
        return fail(name, f"basic operations: {e}")

    # SigV4 enforcement
    try:
        with urllib.request.urlopen(f"{endpoint}/{bucket}/a/b.txt", timeout=5) as r:
            say(name, f"unsigned GET: {r.status} (no SigV4 enforcement)")
            if sigv4:
                fail(name, "unsigned request was accepted")
    except urllib.error.HTTPError as e:
        say(name, f"unsigned GET: {e.code}")
    try:
        client(endpoint, ak, sk + "x").get_object(Bucket=bucket, Key="a/b.txt")
        say(name, "wrong secret key: accepted")
        if sigv4:
            fail(name, "wrong secret accepted")
    except ClientError as e:
        say(name, f"wrong secret key: {err_code(e)}")

    # If-None-Match: * conditional create
    try:
        s3.put_object(Bucket=bucket, Key="cond", Body=b"1", IfNoneMatch="*")
        try:
            s3.put_object(Bucket=bucket, Key="cond", Body=b"2", IfNoneMatch="*")
            body = s3.get_object(Bucket=bucket, Key="cond")["Body"].read()
            say(name, f"If-None-Match: * second PUT accepted (NOT honoured; object now {body!r})")
        except ClientError as e:
            say(name, f"If-None-Match: * second PUT -> {err_code(e)} (honoured)")
    except ClientError as e:
        say(name, f"If-None-Match: * first PUT refused: {err_code(e)}")

    # Single PUT with a wrong x-amz-checksum-crc32
    try:
        s3.put_object(Bucket=bucket, Key="badsum", Body=b"data", ChecksumCRC32=crc32_b64(b"other"))
        say(name, "PUT with wrong ChecksumCRC32: accepted (checksums not verified)")
    except ClientError as e:
        say(name, f"PUT with wrong ChecksumCRC32: {err_code(e)}")

    # Multipart with CRC32 checksums
    cases = [
        ("declare CRC32, matching part sums", dict(declare=True, part_sums="match", complete_sums=True)),
        ("declare CRC32, mismatching part sums", dict(declare=True, part_sums="mismatch", complete_sums=True)),
        ("declare CRC32, no part sums", dict(declare=True, part_sums="none", complete_sums=False)),
        ("declare CRC32, part sums, none at complete", dict(declare=True, part_sums="match", complete_sums=False)),
        ("no algorithm, part sums sent", dict(declare=False, part_sums="match", complete_sums=True)),
        ("no checksums at all", dict(declare=False, part_sums="none", complete_sums=False)),
    ]
    for label, kw in cases:
        try:
            out = multipart(name, s3, bucket, f"mpu-{uuid.uuid4().hex[:6]}", **kw)
        except ClientError as e:
            out = f"error {err_code(e)}"
        say(name, f"multipart [{label}]: {out}")

    # cleanup
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for o in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=o["Key"])
        s3.delete_bucket(Bucket=bucket)
    except ClientError:
        pass


def probe_imds(s3s_endpoint: str | None, ak: str, sk: str) -> None:
    name = "imds"
    from botocore.utils import InstanceMetadataFetcher

    pf = f"/tmp/ckpt-imds-check-{os.getpid()}.port"
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "imds.py"), "--port", "0", "--access-key", ak,
         "--secret-key", sk, "--expires-in", "60", "--port-file", pf],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        if not line.startswith("IMDS READY "):
            return fail(name, f"no ready line: {line!r}")
        port = int(open(pf).read())
        base = f"http://127.0.0.1:{port}/"
        creds = InstanceMetadataFetcher(timeout=2, num_attempts=1, base_url=base).retrieve_iam_role_credentials()
        if creds.get("access_key") != ak or not creds.get("token"):
            return fail(name, f"botocore got {creds!r}")
        creds2 = InstanceMetadataFetcher(timeout=2, num_attempts=1, base_url=base).retrieve_iam_role_credentials()
        say(name, f"botocore IMDSv2 fetch ok: token {creds['token']} then {creds2['token']},"
                  f" expiry {creds['expiry_time']}")
        stats = urllib.request.urlopen(base + "_test/stats", timeout=2).read().decode()
        say(name, f"stats {stats}")
        if s3s_endpoint:
            s3 = client(s3s_endpoint, creds["access_key"], creds["secret_key"], creds["token"])
            try:
                s3.list_buckets()
                say(name, "s3s-fs accepts the IMDS credentials (with session token)")
            except ClientError as e:
                fail(name, f"s3s-fs refused IMDS credentials: {err_code(e)}")
    finally:
        proc.terminate()
        proc.wait(5)
        try:
            os.unlink(pf)
        except OSError:
            pass


def main() -> int:
    which = set(sys.argv[1:]) or {"localstack", "s3s", "minio", "imds"}
    s3s_ep = f"http://127.0.0.1:{os.environ.get('S3S_PORT', '9011')}"
    s3s_ak = os.environ.get("S3S_ACCESS_KEY", "ckpt-test-ak")
    s3s_sk = os.environ.get("S3S_SECRET_KEY", "ckpt-test-sk")
    if "localstack" in which:
        probe_s3("localstack", f"http://127.0.0.1:{os.environ.get('LOCALSTACK_PORT', '4566')}",
                 "test", "test", sigv4=False)
    if "s3s" in which:
        probe_s3("s3s-fs", s3s_ep, s3s_ak, s3s_sk, sigv4=True)
    if "minio" in which:
        ep = f"http://127.0.0.1:{os.environ.get('MINIO_PORT', '9012')}"
        try:
            urllib.request.urlopen(ep + "/minio/health/live", timeout=2)
            probe_s3("minio", ep, os.environ.get("MINIO_ROOT_USER", "ckpt-minio-ak"),
                     os.environ.get("MINIO_ROOT_PASSWORD", "ckpt-minio-sk"), sigv4=True)
        except OSError:
            say("minio", "not running, skipped")
    if "imds" in which:
        probe_imds(s3s_ep if "s3s" in which else None, s3s_ak, s3s_sk)
    return 1 if FAILED else 0


if __name__ == "__main__":
    t = time.monotonic()
    rc = main()
    print(f"check finished in {time.monotonic() - t:.1f}s rc={rc}")
    sys.exit(rc)
