#!/usr/bin/env python3
"""A small Aliyun OSS test server that verifies request signatures.

Standard library only (Python 3.11). Intended for tests of this project's OSS
client: it implements the subset of the OSS XML API a Hadoop-style filesystem
needs and *verifies* V1 (header and presigned URL) and V4 (header and presigned
URL) signatures, including STS security tokens.

    python3 oss_server.py --port 0 --port-file F --data-dir D \
        --access-key-id AK --access-key-secret SK \
        [--sts-access-key-id AK2 --sts-access-key-secret SK2 --sts-token TOKEN] \
        [--region cn-hangzhou]

Prints ``OSS READY <port>`` on stdout once listening on 127.0.0.1.
The signing functions (``v1_*``/``v4_*``) are importable for unit tests.
"""
from __future__ import annotations

import argparse
import base64
import calendar
import email.utils
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape as _xml_escape

MAX_SKEW_SECONDS = 15 * 60
V4_ALGORITHM = "OSS4-HMAC-SHA256"
V4_TERMINATOR = "aliyun_v4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

# Query parameters that take part in the V1 CanonicalizedResource (the
# sub-resource list of the OSS V1 signature).
V1_SIGNED_SUBRESOURCES = frozenset("""
acl uploads location cors logging website referer lifecycle delete append tagging
objectMeta uploadId partNumber security-token position
response-cache-control response-content-disposition response-content-encoding
response-content-language response-content-type response-expires
img style styleName replication replicationProgress replicationLocation cname
bucketInfo comp qos live status vod startTime endTime x-oss-process
processConfiguration symlink stat udf udfName udfImage udfImageDesc
udfApplication udfApplicationLog restore versions versioning versionId
encryption policy requestPayment x-oss-traffic-limit qosInfo asyncFetch
sequential x-oss-request-payer vpcip vip inventory inventoryId
continuation-token worm wormId wormExtend callback callback-var x-oss-dir
x-oss-rename x-oss-delete transferAcceleration x-oss-ac-source-ip
x-oss-ac-subnet-mask x-oss-ac-vpc-id x-oss-ac-forward-allow metaQuery
resourceGroup regionList x-oss-async-process x-oss-write-get-object-response
bucketArchiveDirectRead httpsConfig publicAccessBlock policyStatus
redundancyTransition x-oss-target-redundancy-type
x-oss-redundancy-transition-taskid accessPoint accessPointPolicy seal
""".split())


# --------------------------------------------------------------------------
# Signing primitives (pure functions; unit-tested in test_oss_server.py)
# --------------------------------------------------------------------------

def _oss_quote(s: str, safe: str = "") -> str:
    """RFC 3986 percent-encoding: unreserved characters stay, the rest is %XX."""
    return urllib.parse.quote(s, safe=safe)


def v1_canonicalized_oss_headers(headers: dict[str, str]) -> str:
    """headers: lower-case name -> value. Returns the x-oss-* block (each line ends in \\n)."""
    out = []
    for name in sorted(h for h in headers if h.startswith("x-oss-")):
        out.append(f"{name}:{headers[name].strip()}\n")
    return "".join(out)


def v1_canonicalized_resource(bucket: str | None, key: str | None,
                              query: list[tuple[str, str | None]]) -> str:
    """`/bucket/key` (raw, not URL-encoded) plus the signed sub-resources, sorted."""
    if bucket:
        res = f"/{bucket}/{key or ''}"
    else:
        res = "/"
    subs = sorted((k, v) for k, v in query if k in V1_SIGNED_SUBRESOURCES)
    if subs:
        parts = [k if (v is None or v == "") else f"{k}={v}" for k, v in subs]
        res += "?" + "&".join(parts)
    return res


def v1_string_to_sign(method: str, headers: dict[str, str], resource: str,
                      date_or_expires: str | None = None) -> str:
    """VERB\\nContent-MD5\\nContent-Type\\nDate\\nCanonicalizedOSSHeaders+CanonicalizedResource.

    headers: lower-case names. For presigned URLs pass the Expires value as date_or_expires.
    """
    date = date_or_expires if date_or_expires is not None else headers.get("date", "")
    return (f"{method}\n{headers.get('content-md5', '').strip()}\n"
            f"{headers.get('content-type', '').strip()}\n{date}\n"
            f"{v1_canonicalized_oss_headers(headers)}{resource}")


def v1_signature(secret: str, string_to_sign: str) -> str:
    mac = hmac.new(secret.encode(), string_to_sign.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def v4_canonical_uri(bucket: str | None, key: str | None) -> str:
    if bucket:
        path = f"/{bucket}/{key or ''}"
    else:
        path = "/"
    return _oss_quote(path, safe="/")


def v4_canonical_query(query: list[tuple[str, str | None]],
                       exclude: tuple[str, ...] = ()) -> str:
    items = []
    for k, v in query:
        if k in exclude:
            continue
        items.append((_oss_quote(k.strip()), _oss_quote((v or "").strip())))
    items.sort()
    return "&".join(k if v == "" else f"{k}={v}" for k, v in items)


def v4_signed_header_names(headers: dict[str, str], additional: list[str]) -> list[str]:
    names = set()
    for h in headers:
        if h in ("content-type", "content-md5") or h.startswith("x-oss-") or h in additional:
            names.add(h)
    return sorted(names)


def v4_canonical_request(method: str, bucket: str | None, key: str | None,
                         query: list[tuple[str, str | None]], headers: dict[str, str],
                         additional: list[str], payload_hash: str,
                         query_exclude: tuple[str, ...] = ()) -> str:
    """headers: lower-case name -> value; additional: lower-case AdditionalHeaders names."""
    canon_headers = "".join(f"{h}:{headers[h].strip()}\n"
                            for h in v4_signed_header_names(headers, additional))
    return "\n".join([
        method,
        v4_canonical_uri(bucket, key),
        v4_canonical_query(query, query_exclude),
        canon_headers,
        ";".join(sorted(additional)),
        payload_hash,
    ])


def v4_scope(date: str, region: str, product: str = "oss") -> str:
    return f"{date}/{region}/{product}/{V4_TERMINATOR}"


def v4_string_to_sign(datetime_iso: str, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{V4_ALGORITHM}\n{datetime_iso}\n{scope}\n{digest}"


def v4_signing_key(secret: str, date: str, region: str, product: str = "oss") -> bytes:
    k = hmac.new(("aliyun_v4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    k = hmac.new(k, region.encode(), hashlib.sha256).digest()
    k = hmac.new(k, product.encode(), hashlib.sha256).digest()
    return hmac.new(k, V4_TERMINATOR.encode(), hashlib.sha256).digest()


def v4_signature(signing_key: bytes, string_to_sign: str) -> str:
    return hmac.new(signing_key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def parse_query(raw: str) -> list[tuple[str, str | None]]:
    """Split a raw query string; a parameter without '=' gets value None."""
    out: list[tuple[str, str | None]] = []
    if not raw:
        return out
    for part in raw.split("&"):
        if part == "":
            continue
        if "=" in part:
            k, v = part.split("=", 1)
            out.append((urllib.parse.unquote(k), urllib.parse.unquote(v)))
        else:
            out.append((urllib.parse.unquote(part), None))
    return out


# --------------------------------------------------------------------------
# Errors and XML helpers
# --------------------------------------------------------------------------

class OssError(Exception):
    def __init__(self, status: int, code: str, message: str, extra: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}


def _x(s) -> str:
    return _xml_escape(str(s))


def _iso8601(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


def _http_date(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


def _new_request_id() -> str:
    return secrets.token_hex(12).upper()


VALID_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


# --------------------------------------------------------------------------
# Storage
# --------------------------------------------------------------------------

class Store:
    """Buckets are directories; each object is <sha256(key)>.data + .json metadata."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.lock = threading.RLock()
        os.makedirs(os.path.join(self.root, "buckets"), exist_ok=True)
        os.makedirs(os.path.join(self.root, "uploads"), exist_ok=True)
        os.makedirs(os.path.join(self.root, "tmp"), exist_ok=True)
        self.index: dict[str, dict[str, dict]] = {}
        for b in sorted(os.listdir(os.path.join(self.root, "buckets"))):
            bdir = self._bdir(b)
            with open(os.path.join(bdir, "bucket.json")) as f:
                binfo = json.load(f)
            objs = {}
            odir = os.path.join(bdir, "objects")
            for name in os.listdir(odir):
                if name.endswith(".json"):
                    with open(os.path.join(odir, name)) as f:
                        meta = json.load(f)
                    objs[meta["key"]] = meta
            self.index[b] = objs
            self.index[b]["\0info"] = binfo  # type: ignore[assignment]

    def _bdir(self, bucket: str) -> str:
        return os.path.join(self.root, "buckets", bucket)

    def _opath(self, bucket: str, key: str) -> str:
        h = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return os.path.join(self._bdir(bucket), "objects", h)

    def bucket_exists(self, bucket: str) -> bool:
        return bucket in self.index

    def bucket_info(self, bucket: str) -> dict:
        return self.index[bucket]["\0info"]

    def create_bucket(self, bucket: str, region: str) -> None:
        with self.lock:
            if bucket in self.index:
                return
            os.makedirs(os.path.join(self._bdir(bucket), "objects"), exist_ok=True)
            info = {"name": bucket, "created": time.time(), "region": region}
            with open(os.path.join(self._bdir(bucket), "bucket.json"), "w") as f:
                json.dump(info, f)
            self.index[bucket] = {"\0info": info}  # type: ignore[dict-item]

    def delete_bucket(self, bucket: str) -> None:
        with self.lock:
            if len(self.keys(bucket)) > 0:
                raise OssError(409, "BucketNotEmpty", "The bucket you tried to delete is not empty.")
            shutil.rmtree(self._bdir(bucket), ignore_errors=True)
            del self.index[bucket]

    def keys(self, bucket: str) -> list[str]:
        return sorted(k for k in self.index[bucket] if k != "\0info")

    def get_meta(self, bucket: str, key: str) -> dict | None:
        return self.index[bucket].get(key) if key != "\0info" else None

    def data_path(self, bucket: str, key: str) -> str:
        return self._opath(bucket, key) + ".data"

    def tmp_file(self) -> str:
        return os.path.join(self.root, "tmp", uuid.uuid4().hex)

    def commit(self, bucket: str, key: str, tmp_data: str, meta: dict,
               forbid_overwrite: bool) -> None:
        """Atomically install tmp_data as the object's content (create-if-absent when asked)."""
        with self.lock:
            if bucket not in self.index:
                os.unlink(tmp_data)
                raise OssError(404, "NoSuchBucket", "The specified bucket does not exist.",
                               {"BucketName": bucket})
            if forbid_overwrite and key in self.index[bucket]:
                os.unlink(tmp_data)
                raise OssError(409, "FileAlreadyExists", "The object you specified already exists and can not be overwritten.")
            base = self._opath(bucket, key)
            os.replace(tmp_data, base + ".data")
            meta = dict(meta, key=key)
            with open(base + ".json.tmp", "w") as f:
                json.dump(meta, f)
            os.replace(base + ".json.tmp", base + ".json")
            self.index[bucket][key] = meta

    def delete(self, bucket: str, key: str) -> None:
        with self.lock:
            if key in self.index[bucket] and key != "\0info":
                base = self._opath(bucket, key)
                for suffix in (".data", ".json"):
                    try:
                        os.unlink(base + suffix)
                    except FileNotFoundError:
                        pass
                del self.index[bucket][key]

    # multipart
    def upload_dir(self, upload_id: str) -> str:
        if not re.fullmatch(r"[0-9A-F]{32}", upload_id or ""):
            raise OssError(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
        return os.path.join(self.root, "uploads", upload_id)

    def load_upload(self, bucket: str, key: str, upload_id: str) -> dict:
        d = self.upload_dir(upload_id)
        try:
            with open(os.path.join(d, "upload.json")) as f:
                info = json.load(f)
        except FileNotFoundError:
            raise OssError(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.", {"UploadId": upload_id})
        if info["bucket"] != bucket or info["key"] != key:
            raise OssError(404, "NoSuchUpload", "The specified upload does not exist.", {"UploadId": upload_id})
        return info


# --------------------------------------------------------------------------
# HTTP handler
# --------------------------------------------------------------------------

class Config:
    def __init__(self, args):
        self.credentials = {args.access_key_id: (args.access_key_secret, None)}
        if args.sts_access_key_id:
            self.credentials[args.sts_access_key_id] = (args.sts_access_key_secret, args.sts_token or "")
        self.region = args.region
        self.base_domain = args.base_domain
        self.store = Store(args.data_dir)
        self.verbose = args.verbose


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AliyunOSS"
    sys_version = ""
    cfg: Config

    # ---- plumbing ------------------------------------------------------
    def log_message(self, fmt, *args):
        if self.cfg.verbose:
            sys.stderr.write("oss_server: " + (fmt % args) + "\n")

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline().strip()
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _lower_headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in self.headers.keys():
            ln = name.lower()
            if ln in out:
                continue
            vals = self.headers.get_all(name) or []
            out[ln] = ",".join(v.strip() for v in vals)
        return out

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None,
              content_type: str | None = "application/xml"):
        self.send_response(status)
        self.send_header("x-oss-request-id", self.request_id)
        self.send_header("Date", _http_date(time.time()))
        if content_type and (body or status not in (200, 204, 206)):
            self.send_header("Content-Type", content_type)
        hdrs = headers or {}
        for k, v in hdrs.items():
            self.send_header(k, v)
        if "Content-Length" not in hdrs:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _send_xml(self, status: int, xml: str, headers: dict | None = None):
        self._send(status, ('<?xml version="1.0" encoding="UTF-8"?>\n' + xml).encode("utf-8"), headers)

    def _send_error(self, err: OssError):
        parts = [f"<Error>\n  <Code>{_x(err.code)}</Code>\n  <Message>{_x(err.message)}</Message>\n"
                 f"  <RequestId>{self.request_id}</RequestId>\n  <HostId>{_x(self.headers.get('Host', ''))}</HostId>\n"]
        for k, v in err.extra.items():
            parts.append(f"  <{k}>{_x(v)}</{k}>\n")
        parts.append("</Error>\n")
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n' + "".join(parts)).encode("utf-8")
        self._send(err.status, body, {"x-oss-ec": "0000-00000000"})

    # ---- request parsing -------------------------------------------------
    def _dispatch(self, method: str):
        self.request_id = _new_request_id()
        try:
            body = self._read_body()
        except Exception:
            self.close_connection = True
            return
        try:
            split = urllib.parse.urlsplit(self.path)
            raw_path = split.path or "/"
            self.query = parse_query(split.query)
            self.qd = {}
            for k, v in self.query:
                self.qd.setdefault(k, v)
            self.hdrs = self._lower_headers()
            self.bucket, self.key = self._resolve_bucket_key(raw_path)
            self._authenticate(method, body)
            self._route(method, body)
        except OssError as e:
            self._send_error(e)
        except Exception as e:  # pragma: no cover - surfaced to the client as 500
            import traceback
            traceback.print_exc()
            self._send_error(OssError(500, "InternalError", f"{type(e).__name__}: {e}"))

    def _resolve_bucket_key(self, raw_path: str) -> tuple[str | None, str | None]:
        host = (self.headers.get("Host") or "").strip().lower()
        if host.startswith("["):
            hostname = host.split("]")[0] + "]"
        else:
            hostname = host.rsplit(":", 1)[0] if ":" in host else host
        vbucket = None
        base = self.cfg.base_domain
        if hostname and hostname != base and not IPV4.match(hostname):
            if base and hostname.endswith("." + base):
                vbucket = hostname[: -len(base) - 1]
            else:
                m = re.match(r"^([a-z0-9][a-z0-9-]*)\.(\d{1,3}(\.\d{1,3}){3})$", hostname)
                if m:
                    vbucket = m.group(1)
        path = urllib.parse.unquote(raw_path)
        if vbucket is not None:
            key = path[1:] if path.startswith("/") else path
            return vbucket, (key or None)
        rest = path[1:] if path.startswith("/") else path
        if rest == "":
            return None, None
        if "/" in rest:
            b, k = rest.split("/", 1)
            return b, (k or None)
        return rest, None

    # ---- authentication --------------------------------------------------
    def _lookup(self, ak: str) -> tuple[str, str | None]:
        if ak not in self.cfg.credentials:
            raise OssError(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.",
                           {"OSSAccessKeyId": ak})
        return self.cfg.credentials[ak]

    def _check_token(self, ak: str, expected: str | None, provided: str | None):
        if expected is None:
            if provided:
                raise OssError(403, "InvalidAccessKeyId", "A security token was sent with a non-temporary AccessKeyId.",
                               {"OSSAccessKeyId": ak})
            return
        if not provided:
            raise OssError(403, "InvalidAccessKeyId", "The temporary AccessKeyId requires a security token (x-oss-security-token).",
                           {"OSSAccessKeyId": ak})
        if not hmac.compare_digest(provided.encode(), expected.encode()):
            raise OssError(403, "InvalidAccessKeyId", "The security token you provided is invalid.",
                           {"OSSAccessKeyId": ak})

    @staticmethod
    def _check_skew(ts: float, what: str):
        now = time.time()
        if abs(now - ts) > MAX_SKEW_SECONDS:
            raise OssError(403, "RequestTimeTooSkewed",
                           "The difference between the request time and the current time is too large.",
                           {"RequestTime": what, "ServerTime": _iso8601(now), "MaxAllowedSkewMilliseconds": "900000"})

    def _authenticate(self, method: str, body: bytes):
        auth = self.hdrs.get("authorization", "")
        if auth.startswith("OSS4-HMAC-SHA256 "):
            return self._auth_v4_header(method, auth)
        if auth.startswith("OSS "):
            return self._auth_v1_header(method, auth)
        if auth:
            raise OssError(400, "InvalidArgument", "Authorization header is invalid or of an unsupported signature version.",
                           {"ArgumentName": "Authorization", "ArgumentValue": auth.split(" ", 1)[0]})
        if "OSSAccessKeyId" in self.qd or "Signature" in self.qd:
            return self._auth_v1_query(method)
        if "x-oss-signature-version" in self.qd or "x-oss-signature" in self.qd:
            return self._auth_v4_query(method)
        raise OssError(403, "AccessDenied", "You have no right to access this object because of bucket acl.")

    def _mismatch(self, ak: str, provided: str, sts: str, canonical: str | None = None):
        extra = {"StringToSign": sts, "SignatureProvided": provided, "OSSAccessKeyId": ak}
        if canonical is not None:
            extra["CanonicalRequest"] = canonical
        raise OssError(403, "SignatureDoesNotMatch",
                       "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
                       extra)

    def _auth_v1_header(self, method: str, auth: str):
        cred = auth[4:].strip()
        if ":" not in cred:
            raise OssError(400, "InvalidArgument", "Authorization header is invalid.",
                           {"ArgumentName": "Authorization", "ArgumentValue": auth})
        ak, provided = cred.rsplit(":", 1)
        secret, token = self._lookup(ak)
        date_s = self.hdrs.get("x-oss-date") or self.hdrs.get("date")
        if not date_s:
            raise OssError(403, "AccessDenied", "Date header is required.")
        try:
            ts = email.utils.parsedate_to_datetime(date_s).timestamp()
        except Exception:
            raise OssError(403, "AccessDenied", f"Invalid date format: {date_s}")
        self._check_skew(ts, date_s)
        self._check_token(ak, token, self.hdrs.get("x-oss-security-token"))
        resource = v1_canonicalized_resource(self.bucket, self.key, self.query)
        sts = v1_string_to_sign(method, self.hdrs, resource)
        expected = v1_signature(secret, sts)
        if not hmac.compare_digest(expected.encode(), provided.encode()):
            self._mismatch(ak, provided, sts)

    def _auth_v1_query(self, method: str):
        ak = self.qd.get("OSSAccessKeyId")
        expires = self.qd.get("Expires")
        provided = self.qd.get("Signature")
        if not ak or not expires or not provided:
            raise OssError(403, "AccessDenied", "Signature, Expires and OSSAccessKeyId are all required in a signed URL.")
        secret, token = self._lookup(ak)
        try:
            exp = int(expires)
        except ValueError:
            raise OssError(403, "AccessDenied", "Invalid Expires in the signed URL.")
        if exp < time.time():
            raise OssError(403, "AccessDenied", "Request has expired.",
                           {"Expires": _iso8601(exp), "ServerTime": _iso8601(time.time())})
        self._check_token(ak, token, self.qd.get("security-token"))
        resource = v1_canonicalized_resource(self.bucket, self.key, self.query)
        sts = v1_string_to_sign(method, self.hdrs, resource, date_or_expires=expires)
        expected = v1_signature(secret, sts)
        if not hmac.compare_digest(expected.encode(), provided.encode()):
            self._mismatch(ak, provided, sts)

    def _v4_check_scope(self, ak: str, scope_parts: list[str], datetime_iso: str):
        if len(scope_parts) != 4 or scope_parts[2] != "oss" or scope_parts[3] != V4_TERMINATOR:
            raise OssError(403, "AccessDenied", "Invalid credential scope; expected AK/date/region/oss/aliyun_v4_request.")
        if not re.fullmatch(r"\d{8}T\d{6}Z", datetime_iso or ""):
            raise OssError(403, "AccessDenied", f"Invalid x-oss-date: {datetime_iso!r}")
        if scope_parts[0] != datetime_iso[:8]:
            raise OssError(403, "AccessDenied", "The date in the credential scope does not match x-oss-date.")
        if scope_parts[1] != self.cfg.region:
            raise OssError(403, "AccessDenied",
                           f"Invalid signing region in credential scope: {scope_parts[1]} (expected {self.cfg.region}).")

    def _auth_v4_header(self, method: str, auth: str):
        fields = {}
        for part in auth[len(V4_ALGORITHM) + 1:].split(","):
            if "=" in part:
                k, v = part.strip().split("=", 1)
                fields[k.strip()] = v.strip()
        credential = fields.get("Credential", "")
        provided = fields.get("Signature", "")
        if "/" not in credential or not provided:
            raise OssError(400, "InvalidArgument", "Authorization header is invalid (Credential and Signature are required).",
                           {"ArgumentName": "Authorization", "ArgumentValue": auth})
        ak, scope = credential.split("/", 1)
        scope_parts = scope.split("/")
        secret, token = self._lookup(ak)
        datetime_iso = self.hdrs.get("x-oss-date", "")
        self._v4_check_scope(ak, scope_parts, datetime_iso)
        ts = calendar.timegm(time.strptime(datetime_iso, "%Y%m%dT%H%M%SZ"))
        self._check_skew(ts, datetime_iso)
        payload_hash = self.hdrs.get("x-oss-content-sha256")
        if not payload_hash:
            raise OssError(400, "InvalidArgument", "x-oss-content-sha256 header is required for V4 signatures.",
                           {"ArgumentName": "x-oss-content-sha256", "ArgumentValue": ""})
        if payload_hash != UNSIGNED_PAYLOAD:
            raise OssError(400, "InvalidArgument", "Only UNSIGNED-PAYLOAD is supported for x-oss-content-sha256.",
                           {"ArgumentName": "x-oss-content-sha256", "ArgumentValue": payload_hash})
        self._check_token(ak, token, self.hdrs.get("x-oss-security-token"))
        additional = [h.strip().lower() for h in fields.get("AdditionalHeaders", "").split(";") if h.strip()]
        canonical = v4_canonical_request(method, self.bucket, self.key, self.query, self.hdrs,
                                         additional, payload_hash)
        sts = v4_string_to_sign(datetime_iso, scope, canonical)
        expected = v4_signature(v4_signing_key(secret, scope_parts[0], scope_parts[1], scope_parts[2]), sts)
        if not hmac.compare_digest(expected.encode(), provided.lower().encode()):
            self._mismatch(ak, provided, sts, canonical)

    def _auth_v4_query(self, method: str):
        if self.qd.get("x-oss-signature-version") != V4_ALGORITHM:
            raise OssError(403, "AccessDenied", "x-oss-signature-version must be OSS4-HMAC-SHA256.")
        credential = self.qd.get("x-oss-credential") or ""
        provided = self.qd.get("x-oss-signature") or ""
        datetime_iso = self.qd.get("x-oss-date") or ""
        expires = self.qd.get("x-oss-expires") or ""
        if "/" not in credential or not provided or not expires:
            raise OssError(403, "AccessDenied", "x-oss-credential, x-oss-date, x-oss-expires and x-oss-signature are required.")
        ak, scope = credential.split("/", 1)
        scope_parts = scope.split("/")
        secret, token = self._lookup(ak)
        self._v4_check_scope(ak, scope_parts, datetime_iso)
        ts = calendar.timegm(time.strptime(datetime_iso, "%Y%m%dT%H%M%SZ"))
        try:
            exp = int(expires)
        except ValueError:
            raise OssError(403, "AccessDenied", "Invalid x-oss-expires.")
        if ts > time.time() + MAX_SKEW_SECONDS:
            self._check_skew(ts, datetime_iso)
        if ts + exp < time.time():
            raise OssError(403, "AccessDenied", "Request has expired.",
                           {"Expires": _iso8601(ts + exp), "ServerTime": _iso8601(time.time())})
        self._check_token(ak, token, self.qd.get("x-oss-security-token"))
        additional = [h.strip().lower() for h in (self.qd.get("x-oss-additional-headers") or "").split(";") if h.strip()]
        canonical = v4_canonical_request(method, self.bucket, self.key, self.query, self.hdrs,
                                         additional, UNSIGNED_PAYLOAD, query_exclude=("x-oss-signature",))
        sts = v4_string_to_sign(datetime_iso, scope, canonical)
        expected = v4_signature(v4_signing_key(secret, scope_parts[0], scope_parts[1], scope_parts[2]), sts)
        if not hmac.compare_digest(expected.encode(), provided.lower().encode()):
            self._mismatch(ak, provided, sts, canonical)

    # ---- routing -----------------------------------------------------------
    def _route(self, method: str, body: bytes):
        store = self.cfg.store
        b, k, q = self.bucket, self.key, self.qd
        if b is None:
            if method == "GET":
                return self._list_buckets()
            raise OssError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
        if k is None:
            if method == "PUT" and not q:
                return self._put_bucket(body)
            if not store.bucket_exists(b):
                raise OssError(404, "NoSuchBucket", "The specified bucket does not exist.", {"BucketName": b})
            if method in ("GET", "HEAD"):
                if "bucketInfo" in q:
                    return self._bucket_info()
                if "location" in q:
                    return self._send_xml(200, f"<LocationConstraint>oss-{_x(self.cfg.region)}</LocationConstraint>\n")
                if "acl" in q:
                    return self._send_xml(200, "<AccessControlPolicy><Owner><ID>ckpt</ID><DisplayName>ckpt</DisplayName></Owner>"
                                          "<AccessControlList><Grant>private</Grant></AccessControlList></AccessControlPolicy>\n")
                if "uploads" in q:
                    return self._list_uploads()
                if method == "HEAD":
                    return self._send(200, b"", {}, None)
                if q.get("list-type") == "2":
                    return self._list_objects(v2=True)
                return self._list_objects(v2=False)
            if method == "DELETE" and not q:
                store.delete_bucket(b)
                return self._send(204)
            if method == "POST" and "delete" in q:
                return self._delete_multiple(body)
            if method == "PUT":
                return self._send(200)  # bucket sub-resources (acl, ...) are accepted and ignored
            raise OssError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
        if not store.bucket_exists(b):
            raise OssError(404, "NoSuchBucket", "The specified bucket does not exist.", {"BucketName": b})
        if method == "PUT":
            if "partNumber" in q and "uploadId" in q:
                return self._upload_part(body)
            if "x-oss-copy-source" in self.hdrs:
                return self._copy_object()
            if "acl" in q or "tagging" in q:
                return self._send(200)
            return self._put_object(body)
        if method == "POST":
            if "uploads" in q:
                return self._initiate_multipart()
            if "uploadId" in q:
                return self._complete_multipart(body)
            if "append" in q:
                return self._append_object(body)
            raise OssError(400, "InvalidArgument", "Unsupported POST request.", {"ArgumentName": "POST", "ArgumentValue": ""})
        if method == "DELETE":
            if "uploadId" in q:
                return self._abort_multipart()
            store.delete(b, k)
            return self._send(204)
        if method in ("GET", "HEAD"):
            if "uploadId" in q:
                return self._list_parts()
            if "objectMeta" in q:
                return self._object_meta()
            if "acl" in q:
                return self._send_xml(200, "<AccessControlPolicy><Owner><ID>ckpt</ID><DisplayName>ckpt</DisplayName></Owner>"
                                      "<AccessControlList><Grant>default</Grant></AccessControlList></AccessControlPolicy>\n")
            return self._get_object(method)
        raise OssError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")

    # ---- helpers -----------------------------------------------------------
    def _verify_md5(self, body: bytes):
        cmd5 = self.hdrs.get("content-md5")
        if cmd5 is not None:
            actual = base64.b64encode(hashlib.md5(body).digest()).decode()
            if cmd5.strip() != actual:
                raise OssError(400, "InvalidDigest", "The Content-MD5 you specified is not valid.",
                               {"CalculatedMd5": actual, "UserSpecifiedMd5": cmd5})

    def _forbid_overwrite(self) -> bool:
        return (self.hdrs.get("x-oss-forbid-overwrite") or "").strip().lower() == "true"

    def _user_meta(self) -> dict[str, str]:
        return {h: v for h, v in self.hdrs.items() if h.startswith("x-oss-meta-")}

    def _enc(self, s: str) -> str:
        if self.qd.get("encoding-type") == "url":
            return _oss_quote(s, safe="/")
        return s

    def _write_tmp(self, body: bytes) -> str:
        tmp = self.cfg.store.tmp_file()
        with open(tmp, "wb") as f:
            f.write(body)
        return tmp

    def _object_headers(self, meta: dict) -> dict[str, str]:
        h = {
            "ETag": f'"{meta["etag"]}"',
            "Last-Modified": _http_date(meta["mtime"]),
            "Content-Type": meta.get("content_type") or "application/octet-stream",
            "x-oss-object-type": meta.get("type", "Normal"),
            "x-oss-storage-class": "Standard",
            "Accept-Ranges": "bytes",
        }
        if meta.get("type") == "Appendable":
            h["x-oss-next-append-position"] = str(meta["size"])
        h.update(meta.get("user_meta", {}))
        return h

    # ---- bucket operations -------------------------------------------------
    def _list_buckets(self):
        store = self.cfg.store
        items = "".join(
            f"<Bucket><CreationDate>{_iso8601(store.bucket_info(b)['created'])}</CreationDate>"
            f"<ExtranetEndpoint>127.0.0.1</ExtranetEndpoint><IntranetEndpoint>127.0.0.1</IntranetEndpoint>"
            f"<Location>oss-{_x(self.cfg.region)}</Location><Name>{_x(b)}</Name>"
            f"<Region>{_x(self.cfg.region)}</Region><StorageClass>Standard</StorageClass></Bucket>"
            for b in sorted(store.index))
        self._send_xml(200, "<ListAllMyBucketsResult><Owner><ID>ckpt</ID><DisplayName>ckpt</DisplayName></Owner>"
                            f"<Buckets>{items}</Buckets></ListAllMyBucketsResult>\n")

    def _put_bucket(self, body: bytes):
        b = self.bucket
        if not VALID_BUCKET.match(b):
            raise OssError(400, "InvalidBucketName", "The specified bucket is not valid.", {"BucketName": b})
        self.cfg.store.create_bucket(b, self.cfg.region)
        self._send(200, b"", {"Location": f"/{b}"})

    def _bucket_info(self):
        b = self.bucket
        info = self.cfg.store.bucket_info(b)
        self._send_xml(200, f"<BucketInfo><Bucket><AccessMonitor>Disabled</AccessMonitor>"
                            f"<CreationDate>{_iso8601(info['created'])}</CreationDate>"
                            f"<ExtranetEndpoint>127.0.0.1</ExtranetEndpoint><IntranetEndpoint>127.0.0.1</IntranetEndpoint>"
                            f"<Location>oss-{_x(self.cfg.region)}</Location><StorageClass>Standard</StorageClass>"
                            f"<Name>{_x(b)}</Name><Owner><DisplayName>ckpt</DisplayName><ID>ckpt</ID></Owner>"
                            f"<AccessControlList><Grant>private</Grant></AccessControlList>"
                            f"<Comment></Comment></Bucket></BucketInfo>\n")

    def _list_objects(self, v2: bool):
        store, b, q = self.cfg.store, self.bucket, self.qd
        prefix = q.get("prefix") or ""
        delimiter = q.get("delimiter") or ""
        try:
            max_keys = int(q.get("max-keys") or 100)
        except ValueError:
            raise OssError(400, "InvalidArgument", "max-keys is not a number.", {"ArgumentName": "max-keys", "ArgumentValue": q.get("max-keys")})
        if max_keys < 0 or max_keys > 1000:
            raise OssError(400, "InvalidArgument", "max-keys must be between 0 and 1000.", {"ArgumentName": "max-keys", "ArgumentValue": str(max_keys)})
        if v2:
            token = q.get("continuation-token")
            start_after = q.get("start-after") or ""
            if token:
                try:
                    marker = base64.urlsafe_b64decode(token.encode()).decode("utf-8")
                except Exception:
                    raise OssError(400, "InvalidArgument", "The continuation token provided is incorrect.",
                                   {"ArgumentName": "continuation-token", "ArgumentValue": token})
            else:
                marker = start_after
        else:
            marker = q.get("marker") or ""
        contents, prefixes, truncated, last = [], [], False, None
        count = 0
        for key in store.keys(b):
            if not key.startswith(prefix) or key <= marker:
                continue
            if delimiter:
                idx = key.find(delimiter, len(prefix))
                if idx >= 0:
                    cp = key[: idx + len(delimiter)]
                    if cp <= marker:
                        continue
                    if prefixes and prefixes[-1] == cp:
                        continue
                    if count >= max_keys:
                        truncated = True
                        break
                    prefixes.append(cp)
                    last = cp
                    count += 1
                    continue
            if count >= max_keys:
                truncated = True
                break
            contents.append(key)
            last = key
            count += 1
        # a common prefix consumes all keys under it: resume after its last possible key
        next_marker = last
        if next_marker is not None and prefixes and last == prefixes[-1]:
            next_marker = last + "\uffff"
        xs = [f"<Name>{_x(b)}</Name>", f"<Prefix>{_x(self._enc(prefix))}</Prefix>"]
        if v2:
            if q.get("continuation-token"):
                xs.append(f"<ContinuationToken>{_x(q['continuation-token'])}</ContinuationToken>")
            if q.get("start-after"):
                xs.append(f"<StartAfter>{_x(self._enc(q['start-after']))}</StartAfter>")
        else:
            xs.append(f"<Marker>{_x(self._enc(marker))}</Marker>")
        xs.append(f"<MaxKeys>{max_keys}</MaxKeys>")
        xs.append(f"<Delimiter>{_x(self._enc(delimiter))}</Delimiter>")
        if q.get("encoding-type") == "url":
            xs.append("<EncodingType>url</EncodingType>")
        xs.append(f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
        if v2:
            xs.append(f"<KeyCount>{count}</KeyCount>")
            if truncated:
                tok = base64.urlsafe_b64encode(next_marker.encode("utf-8")).decode()
                xs.append(f"<NextContinuationToken>{tok}</NextContinuationToken>")
        elif truncated:
            xs.append(f"<NextMarker>{_x(self._enc(next_marker))}</NextMarker>")
        for key in contents:
            m = store.get_meta(b, key)
            xs.append(f"<Contents><Key>{_x(self._enc(key))}</Key><LastModified>{_iso8601(m['mtime'])}</LastModified>"
                      f"<ETag>\"{m['etag']}\"</ETag><Type>{m.get('type', 'Normal')}</Type><Size>{m['size']}</Size>"
                      f"<StorageClass>Standard</StorageClass>"
                      + ("" if v2 and q.get("fetch-owner") != "true" else
                         "<Owner><ID>ckpt</ID><DisplayName>ckpt</DisplayName></Owner>")
                      + "</Contents>")
        for cp in prefixes:
            xs.append(f"<CommonPrefixes><Prefix>{_x(self._enc(cp))}</Prefix></CommonPrefixes>")
        self._send_xml(200, "<ListBucketResult>" + "".join(xs) + "</ListBucketResult>\n")

    def _delete_multiple(self, body: bytes):
        self._verify_md5(body)
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            raise OssError(400, "MalformedXML", "The XML you provided was not well-formed.")
        quiet = (root.findtext("Quiet") or "false").strip().lower() == "true"
        keys = [o.findtext("Key") or "" for o in root.findall("Object")]
        if len(keys) > 1000:
            raise OssError(400, "MalformedXML", "Too many objects (max 1000).")
        deleted = []
        for key in keys:
            if self.qd.get("encoding-type") == "url":
                key = urllib.parse.unquote(key)
            self.cfg.store.delete(self.bucket, key)
            deleted.append(key)
        xs = "" if quiet else "".join(f"<Deleted><Key>{_x(self._enc(k))}</Key></Deleted>" for k in deleted)
        enc = "<EncodingType>url</EncodingType>" if self.qd.get("encoding-type") == "url" else ""
        self._send_xml(200, f"<DeleteResult>{enc}{xs}</DeleteResult>\n")

    def _list_uploads(self):
        store, b = self.cfg.store, self.bucket
        prefix = self.qd.get("prefix") or ""
        ups = []
        udir = os.path.join(store.root, "uploads")
        for uid in sorted(os.listdir(udir)):
            try:
                with open(os.path.join(udir, uid, "upload.json")) as f:
                    info = json.load(f)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if info["bucket"] == b and info["key"].startswith(prefix):
                ups.append(info)
        ups.sort(key=lambda i: (i["key"], i["initiated"]))
        xs = "".join(f"<Upload><Key>{_x(self._enc(u['key']))}</Key><UploadId>{u['upload_id']}</UploadId>"
                     f"<Initiated>{_iso8601(u['initiated'])}</Initiated></Upload>" for u in ups)
        enc = "<EncodingType>url</EncodingType>" if self.qd.get("encoding-type") == "url" else ""
        self._send_xml(200, f"<ListMultipartUploadsResult><Bucket>{_x(b)}</Bucket>{enc}<KeyMarker></KeyMarker>"
                            f"<UploadIdMarker></UploadIdMarker><NextKeyMarker></NextKeyMarker><NextUploadIdMarker></NextUploadIdMarker>"
                            f"<Delimiter></Delimiter><Prefix>{_x(self._enc(prefix))}</Prefix><MaxUploads>1000</MaxUploads>"
                            f"<IsTruncated>false</IsTruncated>{xs}</ListMultipartUploadsResult>\n")

    # ---- object operations -------------------------------------------------
    def _put_object(self, body: bytes):
        self._verify_md5(body)
        etag = hashlib.md5(body).hexdigest().upper()
        meta = {"etag": etag, "size": len(body), "mtime": time.time(), "type": "Normal",
                "content_type": self.hdrs.get("content-type") or "application/octet-stream",
                "user_meta": self._user_meta()}
        tmp = self._write_tmp(body)
        self.cfg.store.commit(self.bucket, self.key, tmp, meta, self._forbid_overwrite())
        self._send(200, b"", {"ETag": f'"{etag}"', "Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()})

    def _append_object(self, body: bytes):
        store, b, k = self.cfg.store, self.bucket, self.key
        try:
            pos = int(self.qd.get("position") or "")
        except ValueError:
            raise OssError(400, "InvalidArgument", "position is required for AppendObject.", {"ArgumentName": "position", "ArgumentValue": ""})
        self._verify_md5(body)
        with store.lock:
            m = store.get_meta(b, k)
            if m is not None and m.get("type") != "Appendable":
                raise OssError(409, "ObjectNotAppendable", "The object is not appendable.")
            cur = m["size"] if m else 0
            if pos != cur:
                e = OssError(409, "PositionNotEqualToLength", "Position is not equal to file length.")
                raise e
            old = b""
            if m:
                with open(store.data_path(b, k), "rb") as f:
                    old = f.read()
            data = old + body
            etag = hashlib.md5(data).hexdigest().upper()
            meta = {"etag": etag, "size": len(data), "mtime": time.time(), "type": "Appendable",
                    "content_type": (m or {}).get("content_type") or self.hdrs.get("content-type") or "application/octet-stream",
                    "user_meta": (m or {}).get("user_meta") or self._user_meta()}
            store.commit(b, k, self._write_tmp(data), meta, False)
        self._send(200, b"", {"ETag": f'"{etag}"', "x-oss-next-append-position": str(len(data))})

    def _check_conditions(self, meta: dict):
        etag = f'"{meta["etag"]}"'
        im = self.hdrs.get("if-match")
        if im is not None and im.strip() not in ("*", etag) and im.strip().strip('"').upper() != meta["etag"]:
            raise OssError(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.",
                           {"Condition": "If-Match"})
        inm = self.hdrs.get("if-none-match")
        if inm is not None and (inm.strip() == "*" or inm.strip().strip('"').upper() == meta["etag"]):
            return 304
        return None

    def _get_object(self, method: str):
        store, b, k = self.cfg.store, self.bucket, self.key
        m = store.get_meta(b, k)
        if m is None:
            raise OssError(404, "NoSuchKey", "The specified key does not exist.", {"Key": k})
        if self._check_conditions(m) == 304:
            return self._send(304, b"", {"ETag": f'"{m["etag"]}"'}, None)
        headers = self._object_headers(m)
        size = m["size"]
        start, end, status = 0, size - 1, 200
        rng = self.hdrs.get("range")
        if rng:
            mm = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", rng)
            valid = False
            if mm and (mm.group(1) or mm.group(2)):
                if mm.group(1):
                    s = int(mm.group(1))
                    e = int(mm.group(2)) if mm.group(2) else size - 1
                    if s < size and s <= e:
                        start, end, valid = s, min(e, size - 1), True
                else:
                    n = int(mm.group(2))
                    if n > 0 and size > 0:
                        start, end, valid = max(0, size - n), size - 1, True
            if valid:
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            elif (self.hdrs.get("x-oss-range-behavior") or "").lower() == "standard":
                raise OssError(416, "InvalidRange", "The requested range cannot be satisfied.",
                               {"ActualObjectSize": str(size), "RangeRequested": rng})
        length = max(0, end - start + 1) if size > 0 else 0
        headers["Content-Length"] = str(length)
        if method == "HEAD":
            return self._send(status, b"", headers, None)
        with open(store.data_path(b, k), "rb") as f:
            f.seek(start)
            data = f.read(length)
        self._send(status, data, headers, None)

    def _object_meta(self):
        m = self.cfg.store.get_meta(self.bucket, self.key)
        if m is None:
            raise OssError(404, "NoSuchKey", "The specified key does not exist.", {"Key": self.key})
        self._send(200, b"", {"ETag": f'"{m["etag"]}"', "Last-Modified": _http_date(m["mtime"]),
                              "Content-Length": str(m["size"])}, None)

    def _copy_object(self):
        store = self.cfg.store
        src = urllib.parse.unquote(self.hdrs["x-oss-copy-source"])
        if not src.startswith("/") or "/" not in src[1:]:
            raise OssError(400, "InvalidArgument", "x-oss-copy-source is invalid.",
                           {"ArgumentName": "x-oss-copy-source", "ArgumentValue": src})
        sb, sk = src[1:].split("/", 1)
        if not store.bucket_exists(sb):
            raise OssError(404, "NoSuchBucket", "The specified bucket does not exist.", {"BucketName": sb})
        with store.lock:
            sm = store.get_meta(sb, sk)
            if sm is None:
                raise OssError(404, "NoSuchKey", "The specified key does not exist.", {"Key": sk})
            with open(store.data_path(sb, sk), "rb") as f:
                data = f.read()
        directive = (self.hdrs.get("x-oss-metadata-directive") or "COPY").upper()
        if directive == "REPLACE":
            ctype = self.hdrs.get("content-type") or "application/octet-stream"
            umeta = self._user_meta()
        else:
            ctype, umeta = sm.get("content_type"), sm.get("user_meta", {})
        meta = {"etag": sm["etag"], "size": len(data), "mtime": time.time(), "type": sm.get("type", "Normal"),
                "content_type": ctype, "user_meta": umeta}
        if meta["type"] == "Appendable":
            meta["type"] = "Normal"
        store.commit(self.bucket, self.key, self._write_tmp(data), meta, self._forbid_overwrite())
        self._send_xml(200, f"<CopyObjectResult><ETag>\"{meta['etag']}\"</ETag>"
                            f"<LastModified>{_iso8601(meta['mtime'])}</LastModified></CopyObjectResult>\n",
                       {"ETag": f'"{meta["etag"]}"'})

    # ---- multipart -----------------------------------------------------------
    def _initiate_multipart(self):
        store = self.cfg.store
        uid = uuid.uuid4().hex.upper()
        d = os.path.join(store.root, "uploads", uid)
        os.makedirs(d)
        info = {"upload_id": uid, "bucket": self.bucket, "key": self.key, "initiated": time.time(),
                "content_type": self.hdrs.get("content-type") or "application/octet-stream",
                "user_meta": self._user_meta(), "forbid_overwrite": self._forbid_overwrite()}
        with open(os.path.join(d, "upload.json"), "w") as f:
            json.dump(info, f)
        enc = "<EncodingType>url</EncodingType>" if self.qd.get("encoding-type") == "url" else ""
        self._send_xml(200, f"<InitiateMultipartUploadResult>{enc}<Bucket>{_x(self.bucket)}</Bucket>"
                            f"<Key>{_x(self._enc(self.key))}</Key><UploadId>{uid}</UploadId>"
                            f"</InitiateMultipartUploadResult>\n")

    def _upload_part(self, body: bytes):
        store = self.cfg.store
        uid = self.qd.get("uploadId") or ""
        store.load_upload(self.bucket, self.key, uid)
        try:
            pn = int(self.qd.get("partNumber") or "")
        except ValueError:
            pn = -1
        if not 1 <= pn <= 10000:
            raise OssError(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive.",
                           {"ArgumentName": "partNumber", "ArgumentValue": self.qd.get("partNumber")})
        self._verify_md5(body)
        etag = hashlib.md5(body).hexdigest().upper()
        d = store.upload_dir(uid)
        tmp = os.path.join(d, f"part-{pn}.tmp-{uuid.uuid4().hex}")
        with open(tmp, "wb") as f:
            f.write(body)
        os.replace(tmp, os.path.join(d, f"part-{pn}"))
        with open(os.path.join(d, f"part-{pn}.json"), "w") as f:
            json.dump({"etag": etag, "size": len(body), "mtime": time.time()}, f)
        self._send(200, b"", {"ETag": f'"{etag}"'})

    def _parts(self, uid: str) -> dict[int, dict]:
        d = self.cfg.store.upload_dir(uid)
        out = {}
        for name in os.listdir(d):
            mm = re.fullmatch(r"part-(\d+)\.json", name)
            if mm:
                with open(os.path.join(d, name)) as f:
                    out[int(mm.group(1))] = json.load(f)
        return out

    def _list_parts(self):
        uid = self.qd.get("uploadId") or ""
        self.cfg.store.load_upload(self.bucket, self.key, uid)
        parts = self._parts(uid)
        xs = "".join(f"<Part><PartNumber>{n}</PartNumber><LastModified>{_iso8601(p['mtime'])}</LastModified>"
                     f"<ETag>\"{p['etag']}\"</ETag><Size>{p['size']}</Size></Part>" for n, p in sorted(parts.items()))
        enc = "<EncodingType>url</EncodingType>" if self.qd.get("encoding-type") == "url" else ""
        self._send_xml(200, f"<ListPartsResult>{enc}<Bucket>{_x(self.bucket)}</Bucket><Key>{_x(self._enc(self.key))}</Key>"
                            f"<UploadId>{uid}</UploadId><PartNumberMarker>0</PartNumberMarker>"
                            f"<NextPartNumberMarker>{max(parts) if parts else 0}</NextPartNumberMarker>"
                            f"<MaxParts>1000</MaxParts><IsTruncated>false</IsTruncated>{xs}</ListPartsResult>\n")

    def _abort_multipart(self):
        uid = self.qd.get("uploadId") or ""
        self.cfg.store.load_upload(self.bucket, self.key, uid)
        shutil.rmtree(self.cfg.store.upload_dir(uid), ignore_errors=True)
        self._send(204)

    def _complete_multipart(self, body: bytes):
        store = self.cfg.store
        uid = self.qd.get("uploadId") or ""
        info = store.load_upload(self.bucket, self.key, uid)
        self._verify_md5(body)
        parts = self._parts(uid)
        if (self.hdrs.get("x-oss-complete-all") or "").lower() == "yes":
            chosen = sorted(parts)
        else:
            try:
                root = ET.fromstring(body)
            except ET.ParseError:
                raise OssError(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
            chosen = []
            for p in root.findall("Part"):
                try:
                    n = int(p.findtext("PartNumber") or "")
                except ValueError:
                    raise OssError(400, "MalformedXML", "Invalid PartNumber.")
                etag = (p.findtext("ETag") or "").strip().strip('"').upper()
                if n not in parts or parts[n]["etag"] != etag:
                    raise OssError(400, "InvalidPart", "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.",
                                   {"PartNumber": str(n), "UploadId": uid})
                if chosen and n <= chosen[-1]:
                    raise OssError(400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts list must specified in order by part number.",
                                   {"UploadId": uid})
                chosen.append(n)
        if not chosen:
            raise OssError(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
        for n in chosen[:-1]:
            if parts[n]["size"] < 100 * 1024:
                raise OssError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.",
                               {"PartNumber": str(n), "UploadId": uid})
        d = store.upload_dir(uid)
        tmp = store.tmp_file()
        md5s = b""
        size = 0
        with open(tmp, "wb") as out:
            for n in chosen:
                with open(os.path.join(d, f"part-{n}"), "rb") as f:
                    shutil.copyfileobj(f, out)
                size += parts[n]["size"]
                md5s += bytes.fromhex(parts[n]["etag"])
        etag = f"{hashlib.md5(md5s).hexdigest().upper()}-{len(chosen)}"
        meta = {"etag": etag, "size": size, "mtime": time.time(), "type": "Multipart",
                "content_type": info.get("content_type"), "user_meta": info.get("user_meta", {})}
        forbid = self._forbid_overwrite() or info.get("forbid_overwrite", False)
        store.commit(self.bucket, self.key, tmp, meta, forbid)
        shutil.rmtree(d, ignore_errors=True)
        enc = "<EncodingType>url</EncodingType>" if self.qd.get("encoding-type") == "url" else ""
        self._send_xml(200, f"<CompleteMultipartUploadResult>{enc}<Location>/{_x(self.bucket)}/{_x(self._enc(self.key))}</Location>"
                            f"<Bucket>{_x(self.bucket)}</Bucket><Key>{_x(self._enc(self.key))}</Key>"
                            f"<ETag>\"{etag}\"</ETag></CompleteMultipartUploadResult>\n",
                       {"ETag": f'"{etag}"'})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--access-key-id", required=True)
    ap.add_argument("--access-key-secret", required=True)
    ap.add_argument("--sts-access-key-id")
    ap.add_argument("--sts-access-key-secret")
    ap.add_argument("--sts-token")
    ap.add_argument("--region", default="cn-hangzhou")
    ap.add_argument("--base-domain", default="localhost",
                    help="virtual-host requests use Host <bucket>.<base-domain> (also <bucket>.<IPv4>)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    if args.sts_access_key_id and not (args.sts_access_key_secret and args.sts_token):
        ap.error("--sts-access-key-id needs --sts-access-key-secret and --sts-token")

    Handler.cfg = Config(args)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(f"OSS READY {port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
