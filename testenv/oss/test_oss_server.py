"""Tests for oss_server.py: signer known-answer tests and tamper checks against a live server.

Run: python3 -m unittest testenv/oss/test_oss_server.py   (or pytest)

Known-answer sources (inputs and expected values are published facts):
  * V1 header signature: Alibaba Cloud OSS documentation, "Include a V1 signature in the
    Authorization header" / "在Header中包含签名" (https://www.alibabacloud.com/help/doc-detail/31951.html,
    https://help.aliyun.com/document_detail/31951.htm), example request PUT /nelson with
    AccessKeyId 44CF9590006BF252F707.
  * V4 canonical request: Alibaba Cloud OSS documentation, "Include a V4 signature in the
    Authorization header (recommended)" / "在Header中包含V4签名(推荐)"
    (https://help.aliyun.com/zh/oss/developer-reference/recommend-to-use-signature-version-4),
    example PUT examplebucket/exampleobject at 20250411T064124Z. The page masks its example
    AccessKey, so only the canonical request (and its SHA-256) is a published answer.
  * V4 signatures (header and presigned query, with and without STS token): the signer
    unit-test vectors Alibaba Cloud publishes with its official V2 SDKs
    (aliyun/alibabacloud-oss-php-sdk-v2 tests/UnitTests/Signer/SignerV4Test.php; the same
    vectors appear in the C# and iOS SDK tests): AK "ak", SK "sk", bucket "bucket",
    key "1234+-/123/1.txt", region cn-hangzhou.
"""
from __future__ import annotations

import base64
import hashlib
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oss_server as s  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def iso(t: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))


class V1KnownAnswer(unittest.TestCase):
    SECRET = "OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV"

    def test_doc_header_example(self):
        headers = {
            "content-md5": "ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=",
            "content-type": "text/html",
            "date": "Thu, 17 Nov 2005 18:49:58 GMT",
            "host": "oss-example.oss-cn-hangzhou.aliyuncs.com",
            "x-oss-meta-author": "foo@bar.com",
            "x-oss-magic": "abracadabra",
        }
        resource = s.v1_canonicalized_resource("oss-example", "nelson", [])
        sts = s.v1_string_to_sign("PUT", headers, resource)
        self.assertEqual(sts, "PUT\nODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=\ntext/html\n"
                              "Thu, 17 Nov 2005 18:49:58 GMT\nx-oss-magic:abracadabra\n"
                              "x-oss-meta-author:foo@bar.com\n/oss-example/nelson")
        self.assertEqual(s.v1_signature(self.SECRET, sts), "26NBxoKdsyly4EDv6inkoDft/yA=")

    def test_subresources(self):
        q = [("uploadId", "ABC"), ("partNumber", "2"), ("max-keys", "5"), ("prefix", "a/"), ("acl", None)]
        self.assertEqual(s.v1_canonicalized_resource("b", "k/x y", q), "/b/k/x y?acl&partNumber=2&uploadId=ABC")
        self.assertEqual(s.v1_canonicalized_resource("b", None, [("uploads", "")]), "/b/?uploads")
        self.assertEqual(s.v1_canonicalized_resource(None, None, []), "/")


class V4KnownAnswer(unittest.TestCase):
    Q = [("param1", "value1"), ("+param1", "value3"), ("|param1", "value4"),
         ("+param2", ""), ("|param2", ""), ("param2", "")]

    def sign(self, t, headers, query, additional=(), secret="sk"):
        dt = iso(t)
        cr = s.v4_canonical_request("PUT", "bucket", "1234+-/123/1.txt", query, headers, list(additional),
                                    s.UNSIGNED_PAYLOAD)
        sts = s.v4_string_to_sign(dt, s.v4_scope(dt[:8], "cn-hangzhou"), cr)
        return cr, s.v4_signature(s.v4_signing_key(secret, dt[:8], "cn-hangzhou"), sts)

    def hdrs(self, t, **extra):
        h = {"x-oss-head1": "value", "abc": "value", "zabc": "value", "xyz": "value",
             "content-type": "text/plain", "x-oss-content-sha256": "UNSIGNED-PAYLOAD", "x-oss-date": iso(t)}
        h.update(extra)
        return h

    def test_doc_canonical_request(self):
        headers = {"content-disposition": "attachment", "content-length": "3",
                   "content-md5": "ICy5YqxZB1uWSwcVLSNLcA==", "content-type": "text/plain",
                   "host": "examplebucket.oss-cn-hangzhou.aliyuncs.com",
                   "x-oss-content-sha256": "UNSIGNED-PAYLOAD", "x-oss-date": "20250411T064124Z"}
        cr = s.v4_canonical_request("PUT", "examplebucket", "exampleobject", [], headers,
                                    ["content-disposition", "content-length"], s.UNSIGNED_PAYLOAD)
        self.assertEqual(cr, "PUT\n/examplebucket/exampleobject\n\n"
                             "content-disposition:attachment\ncontent-length:3\n"
                             "content-md5:ICy5YqxZB1uWSwcVLSNLcA==\ncontent-type:text/plain\n"
                             "x-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20250411T064124Z\n\n"
                             "content-disposition;content-length\nUNSIGNED-PAYLOAD")
        self.assertTrue(hashlib.sha256(cr.encode()).hexdigest().startswith("c46d9639"))
        sts = s.v4_string_to_sign("20250411T064124Z", s.v4_scope("20250411", "cn-hangzhou"), cr)
        self.assertTrue(sts.startswith("OSS4-HMAC-SHA256\n20250411T064124Z\n20250411/cn-hangzhou/oss/aliyun_v4_request\nc46d9639"))

    def test_sdk_header_vector(self):
        cr, sig = self.sign(1702743657, self.hdrs(1702743657), self.Q)
        self.assertIn("\n/bucket/1234%2B-/123/1.txt\n%2Bparam1=value3&%2Bparam2&%7Cparam1=value4&%7Cparam2&param1=value1&param2\n", cr)
        self.assertEqual(sig, "e21d18daa82167720f9b1047ae7e7f1ce7cb77a31e8203a7d5f4624fa0284afe")

    def test_sdk_header_vector_sts_token(self):
        _, sig = self.sign(1702784856, self.hdrs(1702784856, **{"x-oss-security-token": "token"}), self.Q)
        self.assertEqual(sig, "b94a3f999cf85bcdc00d332fbd3734ba03e48382c36fa4d5af5df817395bd9ea")

    def test_sdk_header_vector_additional_headers(self):
        _, sig = self.sign(1702747512, self.hdrs(1702747512), self.Q, ["abc", "zabc"])
        self.assertEqual(sig, "4a4183c187c07c8947db7620deb0a6b38d9fbdd34187b6dbaccb316fa251212f")

    def _query_vector(self, t, extra_q=(), additional=()):
        h = {"x-oss-head1": "value", "abc": "value", "zabc": "value", "xyz": "value",
             "content-type": "application/octet-stream"}
        dt = iso(t)
        q = self.Q + [("x-oss-date", dt), ("x-oss-expires", "599"),
                      ("x-oss-signature-version", "OSS4-HMAC-SHA256"),
                      ("x-oss-credential", "ak/" + s.v4_scope(dt[:8], "cn-hangzhou"))] + list(extra_q)
        return self.sign(t, h, q, additional)[1]

    def test_sdk_presign_vectors(self):
        self.assertEqual(self._query_vector(1702781677),
                         "a39966c61718be0d5b14e668088b3fa07601033f6518ac7b523100014269c0fe")
        self.assertEqual(self._query_vector(1702785388, [("x-oss-security-token", "token")]),
                         "3817ac9d206cd6dfc90f1c09c00be45005602e55898f26f5ddb06d7892e1f8b5")
        self.assertEqual(self._query_vector(1702783809, [("x-oss-additional-headers", "abc;zabc")], ["abc", "zabc"]),
                         "6bd984bfe531afb6db1f7550983a741b103a8c58e5e14f83ea474c2322dfa2b7")

    def test_wrong_secret_changes_signature(self):
        _, good = self.sign(1702743657, self.hdrs(1702743657), self.Q)
        _, bad = self.sign(1702743657, self.hdrs(1702743657), self.Q, secret="sk2")
        self.assertNotEqual(good, bad)


# ---------------------------------------------------------------------------- live server
AK, SK = "testAK", "testSecret"
STS_AK, STS_SK, TOKEN = "STS.tmpAK", "tmpSecret", "tok/en+=="
REGION = "cn-hangzhou"


class LiveServer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="oss-test-")
        port_file = os.path.join(cls.tmp, "port")
        cls.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "oss_server.py"), "--port", "0", "--port-file", port_file,
             "--data-dir", os.path.join(cls.tmp, "data"), "--access-key-id", AK, "--access-key-secret", SK,
             "--sts-access-key-id", STS_AK, "--sts-access-key-secret", STS_SK, "--sts-token", TOKEN,
             "--region", REGION],
            stdout=subprocess.PIPE, text=True)
        line = cls.proc.stdout.readline()
        assert line.startswith("OSS READY "), line
        cls.port = int(line.split()[2])
        with open(port_file) as f:
            assert f.read().strip() == str(cls.port)
        cls.request("PUT", "tbkt")

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(10)
        cls.proc.stdout.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def request(cls, method, path, body=b"", headers=None, version="v1", ak=AK, sk=SK, token=None,
                skew=0, tamper=None, sign=True):
        """Signs with the module's own signer, optionally tampers, sends. Returns (status, headers, body)."""
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        split = urllib.parse.urlsplit(path)
        query = s.parse_query(split.query)
        parts = urllib.parse.unquote(split.path).lstrip("/").split("/", 1)
        bucket = parts[0] or None
        key = parts[1] if len(parts) > 1 and parts[1] else None
        now = time.time() + skew
        if token:
            headers["x-oss-security-token"] = token
        if sign and version == "v1":
            headers["date"] = s._http_date(now)
            sts = s.v1_string_to_sign(method, headers, s.v1_canonicalized_resource(bucket, key, query))
            headers["authorization"] = f"OSS {ak}:{s.v1_signature(sk, sts)}"
        elif sign and version == "v4":
            dt = iso(now)
            headers["x-oss-date"] = dt
            headers["x-oss-content-sha256"] = s.UNSIGNED_PAYLOAD
            cr = s.v4_canonical_request(method, bucket, key, query, headers, [], s.UNSIGNED_PAYLOAD)
            scope = s.v4_scope(dt[:8], REGION)
            sig = s.v4_signature(s.v4_signing_key(sk, dt[:8], REGION), s.v4_string_to_sign(dt, scope, cr))
            headers["authorization"] = f"OSS4-HMAC-SHA256 Credential={ak}/{scope},Signature={sig}"
        if tamper:
            path, headers, body = tamper(path, headers, body)
        conn = http.client.HTTPConnection("127.0.0.1", cls.port, timeout=30)
        enc_path = urllib.parse.quote(urllib.parse.urlsplit(path).path) + (
            "?" + urllib.parse.urlsplit(path).query if urllib.parse.urlsplit(path).query else "")
        conn.request(method, enc_path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def code(self, body: bytes) -> str:
        t = body.decode()
        return t[t.find("<Code>") + 6:t.find("</Code>")] if "<Code>" in t else ""

    def test_roundtrip_v1_v4_sts(self):
        for version in ("v1", "v4"):
            for ak, sk, token in ((AK, SK, None), (STS_AK, STS_SK, TOKEN)):
                st, h, _ = self.request("PUT", "/tbkt/rt/obj", b"data", {"Content-Type": "text/plain"},
                                        version=version, ak=ak, sk=sk, token=token)
                self.assertEqual(st, 200)
                self.assertEqual(h["etag"], '"%s"' % hashlib.md5(b"data").hexdigest().upper())
                self.assertTrue(h["x-oss-request-id"])
                st, _, body = self.request("GET", "/tbkt/rt/obj", version=version, ak=ak, sk=sk, token=token)
                self.assertEqual((st, body), (200, b"data"))

    def test_tampering_refused(self):
        def other_path(p, h, b):
            return p.replace("/t1", "/t2"), h, b

        def extra_header(p, h, b):
            return p, dict(h, **{"x-oss-meta-x": "1"}), b

        def other_ctype(p, h, b):
            return p, dict(h, **{"content-type": "text/html"}), b

        def body_and_md5(p, h, b):
            nb = b"evil"
            return p, dict(h, **{"content-md5": base64.b64encode(hashlib.md5(nb).digest()).decode()}), nb

        for version in ("v1", "v4"):
            md5 = base64.b64encode(hashlib.md5(b"good").digest()).decode()
            for tamper in (other_path, extra_header, other_ctype, body_and_md5):
                st, _, body = self.request("PUT", "/tbkt/t1", b"good", {"Content-Type": "text/plain", "Content-MD5": md5},
                                           version=version, tamper=tamper)
                self.assertEqual((st, self.code(body)), (403, "SignatureDoesNotMatch"), (version, tamper.__name__))
                self.assertIn(b"<StringToSign>", body)
                if version == "v4":
                    self.assertIn(b"<CanonicalRequest>", body)
            # body changed, Content-MD5 kept: the digest check refuses it
            st, _, body = self.request("PUT", "/tbkt/t1", b"good", {"Content-MD5": md5}, version=version,
                                       tamper=lambda p, h, b: (p, h, b"evil"))
            self.assertEqual((st, self.code(body)), (400, "InvalidDigest"))

    def test_auth_failures(self):
        st, _, body = self.request("GET", "/tbkt/x", sign=False)
        self.assertEqual((st, self.code(body)), (403, "AccessDenied"))
        for version in ("v1", "v4"):
            st, _, body = self.request("GET", "/tbkt/x", version=version, sk="wrong")
            self.assertEqual((st, self.code(body)), (403, "SignatureDoesNotMatch"))
            st, _, body = self.request("GET", "/tbkt/x", version=version, ak="nobody")
            self.assertEqual((st, self.code(body)), (403, "InvalidAccessKeyId"))
            st, _, body = self.request("GET", "/tbkt/x", version=version, skew=-16 * 60)
            self.assertEqual((st, self.code(body)), (403, "RequestTimeTooSkewed"))
            st, _, body = self.request("GET", "/tbkt/x", version=version, ak=STS_AK, sk=STS_SK, token="bad")
            self.assertEqual((st, self.code(body)), (403, "InvalidAccessKeyId"))
            st, _, body = self.request("GET", "/tbkt/x", version=version, ak=STS_AK, sk=STS_SK)
            self.assertEqual((st, self.code(body)), (403, "InvalidAccessKeyId"))

    def test_presigned_v1(self):
        self.request("PUT", "/tbkt/pre", b"presigned")
        for expires, want in ((int(time.time()) + 300, 200), (int(time.time()) - 5, 403)):
            sts = s.v1_string_to_sign("GET", {}, "/tbkt/pre", str(expires))
            sig = urllib.parse.quote(s.v1_signature(SK, sts), safe="")
            q = f"OSSAccessKeyId={AK}&Expires={expires}&Signature={sig}"
            st, _, body = self.request("GET", f"/tbkt/pre?{q}", sign=False)
            self.assertEqual(st, want, body)
            st, _, body = self.request("GET", f"/tbkt/other?{q}", sign=False)
            self.assertEqual(st, 403)

    def test_forbid_overwrite_and_missing(self):
        h = {"x-oss-forbid-overwrite": "true"}
        self.assertEqual(self.request("PUT", "/tbkt/fo", b"1", h)[0], 200)
        st, _, body = self.request("PUT", "/tbkt/fo", b"2", h)
        self.assertEqual((st, self.code(body)), (409, "FileAlreadyExists"))
        self.assertEqual(self.request("GET", "/tbkt/fo")[2], b"1")
        st, _, body = self.request("GET", "/tbkt/none")
        self.assertEqual((st, self.code(body)), (404, "NoSuchKey"))
        st, _, body = self.request("GET", "/nobucket/none")
        self.assertEqual((st, self.code(body)), (404, "NoSuchBucket"))
        self.assertEqual(self.request("HEAD", "/nobucket")[0], 404)

    def test_range_and_list(self):
        self.request("PUT", "/tbkt/l/a", b"0123456789")
        self.request("PUT", "/tbkt/l/b/c", b"x")
        self.request("PUT", "/tbkt/l/b/d", b"x")
        st, h, body = self.request("GET", "/tbkt/l/a", headers={"Range": "bytes=2-4"})
        self.assertEqual((st, body, h["content-range"]), (206, b"234", "bytes 2-4/10"))
        st, _, body = self.request("GET", "/tbkt?list-type=2&prefix=l/&delimiter=/&max-keys=1")
        self.assertIn(b"<Key>l/a</Key>", body)
        self.assertIn(b"<IsTruncated>true</IsTruncated>", body)
        tok = body.decode().split("<NextContinuationToken>")[1].split("<")[0]
        st, _, body = self.request("GET", "/tbkt?list-type=2&prefix=l/&delimiter=/&max-keys=1&continuation-token="
                                   + urllib.parse.quote(tok, safe=""))
        self.assertIn(b"<CommonPrefixes><Prefix>l/b/</Prefix></CommonPrefixes>", body)
        self.assertIn(b"<IsTruncated>false</IsTruncated>", body)


if __name__ == "__main__":
    unittest.main()
