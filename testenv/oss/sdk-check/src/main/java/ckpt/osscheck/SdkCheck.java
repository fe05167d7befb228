package ckpt.osscheck;

import com.aliyun.oss.ClientBuilderConfiguration;
import com.aliyun.oss.HttpMethod;
import com.aliyun.oss.OSS;
import com.aliyun.oss.OSSClientBuilder;
import com.aliyun.oss.OSSException;
import com.aliyun.oss.common.auth.DefaultCredentialProvider;
import com.aliyun.oss.common.auth.DefaultCredentials;
import com.aliyun.oss.common.auth.RequestSigner;
import com.aliyun.oss.common.comm.RequestMessage;
import com.aliyun.oss.common.comm.SignVersion;
import com.aliyun.oss.internal.signer.OSSSignerBase;
import com.aliyun.oss.internal.signer.OSSSignerParams;
import com.aliyun.oss.model.*;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.*;

/**
 * Drives testenv/oss/oss_server.py with the official Aliyun OSS Java SDK.
 *
 * Usage: SdkCheck ENDPOINT AK SK STS_AK STS_SK STS_TOKEN REGION
 * Prints "PASS name" / "FAIL name: detail" per check; exit code 1 if any failed.
 */
public class SdkCheck {
    private static int failures = 0;
    private static int passes = 0;

    interface Check { void run() throws Exception; }

    static void check(String name, Check c) {
        try {
            c.run();
            passes++;
            System.out.println("PASS " + name);
        } catch (Throwable t) {
            failures++;
            String d = t.toString().replace('\n', ' ');
            if (d.length() > 600) d = d.substring(0, 600) + "...";
            System.out.println("FAIL " + name + ": " + d);
        }
    }

    static void expect(boolean cond, String what) {
        if (!cond) throw new AssertionError(what);
    }

    /** Runs op, expecting an OSSException with the given error code. */
    static void expectOssError(String code, Check op) throws Exception {
        try {
            op.run();
        } catch (OSSException e) {
            expect(code.equals(e.getErrorCode()), "expected " + code + " but got " + e.getErrorCode() + " (" + e.getErrorMessage() + ")");
            return;
        }
        throw new AssertionError("expected OSSException " + code + " but the call succeeded");
    }

    static OSS client(String endpoint, String ak, String sk, String token, SignVersion v, String region) {
        ClientBuilderConfiguration conf = new ClientBuilderConfiguration();
        conf.setSignatureVersion(v);
        conf.setMaxErrorRetry(0);
        DefaultCredentialProvider cp = token == null ? new DefaultCredentialProvider(ak, sk)
                : new DefaultCredentialProvider(ak, sk, token);
        return OSSClientBuilder.create().endpoint(endpoint).credentialsProvider(cp)
                .clientConfiguration(conf).region(region).build();
    }

    static byte[] readAll(InputStream in) throws Exception {
        try (InputStream i = in) { return i.readAllBytes(); }
    }

    static String md5hex(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(b));
    }

    static String md5b64(byte[] b) throws Exception {
        return Base64.getEncoder().encodeToString(MessageDigest.getInstance("MD5").digest(b));
    }

    // ------------------------------------------------------------------ raw HTTP
    static final class RawResponse {
        int status; String body; Map<String, List<String>> headers;
        String code() {
            int a = body.indexOf("<Code>"), b = body.indexOf("</Code>");
            return (a >= 0 && b > a) ? body.substring(a + 6, b) : "";
        }
        public String toString() { return status + " " + code() + " " + body.replace('\n', ' '); }
    }

    static RawResponse raw(String method, String url, Map<String, String> headers, byte[] body) throws Exception {
        HttpURLConnection c = (HttpURLConnection) new URL(url).openConnection();
        c.setRequestMethod(method);
        for (Map.Entry<String, String> h : headers.entrySet()) {
            String k = h.getKey();
            if (k.equalsIgnoreCase("Host") || k.equalsIgnoreCase("Content-Length")) continue;
            c.setRequestProperty(k, h.getValue());
        }
        if (body != null) {
            c.setDoOutput(true);
            c.setFixedLengthStreamingMode(body.length);
            try (OutputStream o = c.getOutputStream()) { o.write(body); }
        }
        RawResponse r = new RawResponse();
        r.status = c.getResponseCode();
        r.headers = c.getHeaderFields();
        InputStream in = r.status >= 400 ? c.getErrorStream() : c.getInputStream();
        r.body = in == null ? "" : new String(readAll(in), StandardCharsets.UTF_8);
        c.disconnect();
        return r;
    }

    /** Signs a request with the SDK's own signer (no network) and returns the signed headers. */
    static Map<String, String> sdkSign(SignVersion v, String ak, String sk, String token, String region,
                                       String method, String bucket, String key, Map<String, String> headers,
                                       long tickOffsetMs) throws Exception {
        String resourcePath = "/" + (bucket != null ? bucket + "/" : "") + (key != null ? key : "");
        DefaultCredentials creds = token == null ? new DefaultCredentials(ak, sk) : new DefaultCredentials(ak, sk, token);
        OSSSignerParams p = new OSSSignerParams(resourcePath, creds);
        p.setProduct("oss");
        p.setRegion(region);
        p.setTickOffset(tickOffsetMs);
        RequestSigner signer = OSSSignerBase.createRequestSigner(v, p);
        RequestMessage msg = new RequestMessage(new GenericRequest(bucket, key), bucket, key);
        msg.setMethod(HttpMethod.valueOf(method));
        msg.setEndpoint(new URI("http://127.0.0.1"));
        for (Map.Entry<String, String> h : headers.entrySet()) msg.addHeader(h.getKey(), h.getValue());
        if (v == SignVersion.V1 || !msg.getHeaders().containsKey("Date")) {
            java.text.SimpleDateFormat f = new java.text.SimpleDateFormat("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US);
            f.setTimeZone(TimeZone.getTimeZone("GMT"));
            msg.addHeader("Date", f.format(new Date(System.currentTimeMillis() + tickOffsetMs)));
        }
        signer.sign(msg);
        return new LinkedHashMap<>(msg.getHeaders());
    }

    // ------------------------------------------------------------------ scenario
    static void scenario(String mode, String endpoint, OSS oss, SignVersion v) throws Exception {
        String bucket = "ckpt-" + mode.toLowerCase().replace('_', '-');
        byte[] small = ("hello from " + mode + " \u00e9\u4e2d").getBytes(StandardCharsets.UTF_8);
        String k1 = "dir/sub/a b+c\u4e2d.txt";

        check(mode + " create-bucket", () -> oss.createBucket(bucket));
        check(mode + " bucket-exists", () -> {
            expect(oss.doesBucketExist(bucket), "bucket should exist");
            expect(!oss.doesBucketExist(bucket + "-missing"), "missing bucket should not exist");
        });
        check(mode + " get-bucket-info", () -> {
            BucketInfo bi = oss.getBucketInfo(bucket);
            expect(bucket.equals(bi.getBucket().getName()), "name " + bi.getBucket().getName());
        });
        check(mode + " get-bucket-info-missing", () ->
                expectOssError("NoSuchBucket", () -> oss.getBucketInfo(bucket + "-missing")));
        check(mode + " put-object", () -> {
            ObjectMetadata md = new ObjectMetadata();
            md.setContentType("text/plain");
            md.addUserMetadata("origin", "sdk-check");
            PutObjectResult r = oss.putObject(bucket, k1, new ByteArrayInputStream(small), md);
            expect(r.getETag().equalsIgnoreCase(md5hex(small)), "etag " + r.getETag());
        });
        check(mode + " put-object-content-md5", () -> {
            ObjectMetadata md = new ObjectMetadata();
            md.setContentMD5(md5b64(small));
            oss.putObject(bucket, "dir/md5.txt", new ByteArrayInputStream(small), md);
        });
        check(mode + " get-object", () -> {
            OSSObject o = oss.getObject(bucket, k1);
            byte[] got = readAll(o.getObjectContent());
            expect(Arrays.equals(got, small), "content mismatch");
            expect("sdk-check".equals(o.getObjectMetadata().getUserMetadata().get("origin")), "user meta");
        });
        check(mode + " get-object-range", () -> {
            GetObjectRequest gr = new GetObjectRequest(bucket, k1);
            gr.setRange(1, 4);
            byte[] got = readAll(oss.getObject(gr).getObjectContent());
            expect(Arrays.equals(got, Arrays.copyOfRange(small, 1, 5)), "range content " + new String(got));
        });
        check(mode + " head-object", () -> {
            ObjectMetadata md = oss.getObjectMetadata(bucket, k1);
            expect(md.getContentLength() == small.length, "length " + md.getContentLength());
            expect(oss.doesObjectExist(bucket, k1), "exists");
            expect(!oss.doesObjectExist(bucket, "nope"), "not exists");
        });
        check(mode + " get-missing-key", () -> expectOssError("NoSuchKey", () -> oss.getObject(bucket, "nope")));
        check(mode + " forbid-overwrite-new", () -> {
            PutObjectRequest pr = new PutObjectRequest(bucket, "dir/once", new ByteArrayInputStream(small));
            ObjectMetadata md = new ObjectMetadata();
            md.setHeader("x-oss-forbid-overwrite", "true");
            pr.setMetadata(md);
            oss.putObject(pr);
        });
        check(mode + " forbid-overwrite-existing", () -> expectOssError("FileAlreadyExists", () -> {
            PutObjectRequest pr = new PutObjectRequest(bucket, "dir/once", new ByteArrayInputStream("other".getBytes()));
            ObjectMetadata md = new ObjectMetadata();
            md.setHeader("x-oss-forbid-overwrite", "true");
            pr.setMetadata(md);
            oss.putObject(pr);
        }));
        check(mode + " forbid-overwrite-kept-content", () ->
                expect(Arrays.equals(readAll(oss.getObject(bucket, "dir/once").getObjectContent()), small), "overwritten!"));
        check(mode + " copy-object", () -> {
            oss.copyObject(bucket, k1, bucket, "copy/a.txt");
            expect(Arrays.equals(readAll(oss.getObject(bucket, "copy/a.txt").getObjectContent()), small), "copy content");
        });
        check(mode + " list-objects-delimiter", () -> {
            ListObjectsRequest lr = new ListObjectsRequest(bucket);
            lr.setPrefix("dir/");
            lr.setDelimiter("/");
            ObjectListing l = oss.listObjects(lr);
            List<String> keys = new ArrayList<>();
            for (OSSObjectSummary s : l.getObjectSummaries()) keys.add(s.getKey());
            expect(keys.equals(List.of("dir/md5.txt", "dir/once")), "keys " + keys);
            expect(l.getCommonPrefixes().equals(List.of("dir/sub/")), "prefixes " + l.getCommonPrefixes());
        });
        check(mode + " list-objects-v1-paging", () -> {
            List<String> all = new ArrayList<>();
            String marker = null;
            int pages = 0;
            do {
                ListObjectsRequest lr = new ListObjectsRequest(bucket);
                lr.setMaxKeys(2);
                lr.setMarker(marker);
                ObjectListing l = oss.listObjects(lr);
                for (OSSObjectSummary s : l.getObjectSummaries()) all.add(s.getKey());
                marker = l.isTruncated() ? l.getNextMarker() : null;
                pages++;
            } while (marker != null && pages < 10);
            expect(all.equals(List.of("copy/a.txt", "dir/md5.txt", "dir/once", k1)), "keys " + all);
            expect(pages == 2, "pages " + pages);
        });
        check(mode + " list-objects-v2-paging", () -> {
            List<String> all = new ArrayList<>();
            String token = null;
            int pages = 0;
            do {
                ListObjectsV2Request lr = new ListObjectsV2Request(bucket);
                lr.setMaxKeys(1);
                lr.setContinuationToken(token);
                ListObjectsV2Result l = oss.listObjectsV2(lr);
                for (OSSObjectSummary s : l.getObjectSummaries()) all.add(s.getKey());
                token = l.isTruncated() ? l.getNextContinuationToken() : null;
                pages++;
            } while (token != null && pages < 10);
            expect(all.equals(List.of("copy/a.txt", "dir/md5.txt", "dir/once", k1)), "keys " + all);
            expect(pages == 4, "pages " + pages);
        });
        // multipart: 3 parts, 5 MiB total
        byte[] big = new byte[5 * 1024 * 1024 + 123];
        new Random(42).nextBytes(big);
        int partSize = 2 * 1024 * 1024;
        check(mode + " multipart-upload", () -> {
            String key = "mp/big.bin";
            InitiateMultipartUploadResult init = oss.initiateMultipartUpload(new InitiateMultipartUploadRequest(bucket, key));
            List<PartETag> etags = new ArrayList<>();
            for (int off = 0, n = 1; off < big.length; off += partSize, n++) {
                int len = Math.min(partSize, big.length - off);
                UploadPartRequest ur = new UploadPartRequest(bucket, key, init.getUploadId(), n,
                        new ByteArrayInputStream(big, off, len), len);
                etags.add(oss.uploadPart(ur).getPartETag());
            }
            expect(etags.size() == 3, "parts " + etags.size());
            oss.completeMultipartUpload(new CompleteMultipartUploadRequest(bucket, key, init.getUploadId(), etags));
            byte[] got = readAll(oss.getObject(bucket, key).getObjectContent());
            expect(Arrays.equals(got, big), "multipart content mismatch (len " + got.length + ")");
        });
        check(mode + " multipart-forbid-overwrite", () -> expectOssError("FileAlreadyExists", () -> {
            String key = "mp/big.bin";
            InitiateMultipartUploadResult init = oss.initiateMultipartUpload(new InitiateMultipartUploadRequest(bucket, key));
            UploadPartRequest ur = new UploadPartRequest(bucket, key, init.getUploadId(), 1,
                    new ByteArrayInputStream(small), small.length);
            PartETag pe = oss.uploadPart(ur).getPartETag();
            CompleteMultipartUploadRequest cr = new CompleteMultipartUploadRequest(bucket, key, init.getUploadId(), new ArrayList<>(List.of(pe)));
            Map<String, String> h = new HashMap<>();
            h.put("x-oss-forbid-overwrite", "true");
            cr.setHeaders(h);
            oss.completeMultipartUpload(cr);
        }));
        check(mode + " multipart-abort", () -> {
            String key = "mp/aborted.bin";
            InitiateMultipartUploadResult init = oss.initiateMultipartUpload(new InitiateMultipartUploadRequest(bucket, key));
            oss.uploadPart(new UploadPartRequest(bucket, key, init.getUploadId(), 1, new ByteArrayInputStream(small), small.length));
            oss.abortMultipartUpload(new AbortMultipartUploadRequest(bucket, key, init.getUploadId()));
            expect(!oss.doesObjectExist(bucket, key), "aborted object exists");
            expectOssError("NoSuchUpload", () -> oss.uploadPart(new UploadPartRequest(bucket, key, init.getUploadId(), 2,
                    new ByteArrayInputStream(small), small.length)));
        });
        check(mode + " presigned-get", () -> {
            URL u = oss.generatePresignedUrl(bucket, k1, new Date(System.currentTimeMillis() + 600_000));
            RawResponse r = raw("GET", u.toString(), Map.of(), null);
            expect(r.status == 200 && r.body.equals(new String(small, StandardCharsets.UTF_8)), "presigned " + r);
        });
        check(mode + " presigned-url-reused-for-other-key-refused", () -> {
            URL u = oss.generatePresignedUrl(bucket, k1, new Date(System.currentTimeMillis() + 600_000));
            String other = u.toString().replace("/dir/sub/", "/dir/");
            expect(!other.equals(u.toString()), "url not altered");
            RawResponse r = raw("GET", other, Map.of(), null);
            expect(r.status == 403 && r.code().equals("SignatureDoesNotMatch"), "got " + r);
        });
        check(mode + " delete-objects", () -> {
            DeleteObjectsResult r = oss.deleteObjects(new DeleteObjectsRequest(bucket)
                    .withKeys(List.of("copy/a.txt", "dir/md5.txt")).withQuiet(false));
            expect(r.getDeletedObjects().size() == 2, "deleted " + r.getDeletedObjects());
            expect(!oss.doesObjectExist(bucket, "copy/a.txt"), "still exists");
        });
        check(mode + " delete-object", () -> {
            for (String k : List.of(k1, "dir/once", "mp/big.bin")) oss.deleteObject(bucket, k);
            expect(oss.listObjects(bucket).getObjectSummaries().isEmpty(), "bucket not empty");
        });
        check(mode + " delete-bucket", () -> {
            oss.deleteBucket(bucket);
            expect(!oss.doesBucketExist(bucket), "bucket still exists");
        });
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 7) {
            System.err.println("usage: SdkCheck ENDPOINT AK SK STS_AK STS_SK STS_TOKEN REGION");
            System.exit(2);
        }
        // the SDK logs every error response at WARNING; the checks report outcomes themselves
        java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.OFF);
        for (java.util.logging.Handler h : java.util.logging.Logger.getLogger("").getHandlers()) h.setLevel(java.util.logging.Level.OFF);
        String endpoint = args[0], ak = args[1], sk = args[2], stsAk = args[3], stsSk = args[4], token = args[5], region = args[6];

        OSS v1 = client(endpoint, ak, sk, null, SignVersion.V1, region);
        OSS v4 = client(endpoint, ak, sk, null, SignVersion.V4, region);
        OSS stsV1 = client(endpoint, stsAk, stsSk, token, SignVersion.V1, region);
        OSS stsV4 = client(endpoint, stsAk, stsSk, token, SignVersion.V4, region);
        scenario("V1", endpoint, v1, SignVersion.V1);
        scenario("V4", endpoint, v4, SignVersion.V4);
        scenario("STS_V1", endpoint, stsV1, SignVersion.V1);
        scenario("STS_V4", endpoint, stsV4, SignVersion.V4);

        // ------------------------------------------------------------ refusals
        String bucket = "ckpt-refusals";
        byte[] data = "refusal data".getBytes(StandardCharsets.UTF_8);
        v4.createBucket(bucket);
        v4.putObject(bucket, "obj", new ByteArrayInputStream(data));
        v4.putObject(bucket, "other", new ByteArrayInputStream("other data".getBytes()));

        for (SignVersion v : List.of(SignVersion.V1, SignVersion.V4)) {
            String n = v.toString();
            check(n + " wrong-secret-refused", () -> {
                OSS bad = client(endpoint, ak, sk + "x", null, v, region);
                expectOssError("SignatureDoesNotMatch", () -> bad.getObject(bucket, "obj"));
                bad.shutdown();
            });
            check(n + " unknown-access-key-refused", () -> {
                OSS bad = client(endpoint, ak + "nope", sk, null, v, region);
                expectOssError("InvalidAccessKeyId", () -> bad.getObject(bucket, "obj"));
                bad.shutdown();
            });
            check(n + " wrong-sts-token-refused", () -> {
                OSS bad = client(endpoint, stsAk, stsSk, token + "x", v, region);
                expectOssError("InvalidAccessKeyId", () -> bad.getObject(bucket, "obj"));
                bad.shutdown();
            });
            check(n + " sts-key-without-token-refused", () -> {
                OSS bad = client(endpoint, stsAk, stsSk, null, v, region);
                expectOssError("InvalidAccessKeyId", () -> bad.getObject(bucket, "obj"));
                bad.shutdown();
            });
            check(n + " raw-sdk-signed-request-accepted", () -> {
                Map<String, String> h = sdkSign(v, ak, sk, null, region, "GET", bucket, "obj", new HashMap<>(), 0);
                RawResponse r = raw("GET", endpoint + "/" + bucket + "/obj", h, null);
                expect(r.status == 200 && r.body.equals("refusal data"), "got " + r);
            });
            check(n + " signature-replayed-on-other-path-refused", () -> {
                Map<String, String> h = sdkSign(v, ak, sk, null, region, "GET", bucket, "obj", new HashMap<>(), 0);
                RawResponse r = raw("GET", endpoint + "/" + bucket + "/other", h, null);
                expect(r.status == 403 && r.code().equals("SignatureDoesNotMatch"), "got " + r);
                expect(r.body.contains("<StringToSign>"), "no StringToSign in error body");
                if (v == SignVersion.V4) expect(r.body.contains("<CanonicalRequest>"), "no CanonicalRequest in error body");
            });
            check(n + " signature-replayed-with-other-method-refused", () -> {
                Map<String, String> h = sdkSign(v, ak, sk, null, region, "GET", bucket, "obj", new HashMap<>(), 0);
                RawResponse r = raw("DELETE", endpoint + "/" + bucket + "/obj", h, null);
                expect(r.status == 403 && r.code().equals("SignatureDoesNotMatch"), "got " + r);
            });
            check(n + " added-oss-header-after-signing-refused", () -> {
                Map<String, String> h = sdkSign(v, ak, sk, null, region, "GET", bucket, "obj", new HashMap<>(), 0);
                h.put("x-oss-meta-injected", "1");
                RawResponse r = raw("GET", endpoint + "/" + bucket + "/obj", h, null);
                expect(r.status == 403 && r.code().equals("SignatureDoesNotMatch"), "got " + r);
            });
            check(n + " altered-query-after-signing-refused", () -> {
                Map<String, String> h = sdkSign(v, ak, sk, null, region, "GET", bucket, null, new HashMap<>(), 0);
                // V1 signs only sub-resources; ?acl is one, and V4 signs every parameter
                RawResponse r = raw("GET", endpoint + "/" + bucket + "/?acl", h, null);
                expect(r.status == 403 && r.code().equals("SignatureDoesNotMatch"), "got " + r);
            });
            check(n + " altered-body-and-content-md5-refused", () -> {
                byte[] body = "signed body".getBytes(StandardCharsets.UTF_8);
                Map<String, String> in = new HashMap<>();
                in.put("Content-Type", "application/octet-stream");
                in.put("Content-MD5", md5b64(body));
                Map<String, String> h = sdkSign(v, ak, sk, null, region, "PUT", bucket, "tampered", in, 0);
                // the signed request itself is accepted
                RawResponse ok = raw("PUT", endpoint + "/" + bucket + "/tampered", h, body);
                expect(ok.status == 200, "original signed PUT refused: " + ok);
                byte[] evil = "evil body!!".getBytes(StandardCharsets.UTF_8);
                RawResponse r1 = raw("PUT", endpoint + "/" + bucket + "/tampered", h, evil);
                expect(r1.status == 400 && r1.code().equals("InvalidDigest"), "body swap: " + r1);
                Map<String, String> h2 = new HashMap<>(h);
                h2.put("Content-MD5", md5b64(evil));
                RawResponse r2 = raw("PUT", endpoint + "/" + bucket + "/tampered", h2, evil);
                expect(r2.status == 403 && r2.code().equals("SignatureDoesNotMatch"), "body+md5 swap: " + r2);
            });
            check(n + " altered-content-type-refused", () -> {
                Map<String, String> in = new HashMap<>();
                in.put("Content-Type", "text/plain");
                Map<String, String> h = sdkSign(v, ak, sk, null, region, "PUT", bucket, "ct", in, 0);
                h.put("Content-Type", "text/html");
                RawResponse r = raw("PUT", endpoint + "/" + bucket + "/ct", h, data);
                expect(r.status == 403 && r.code().equals("SignatureDoesNotMatch"), "got " + r);
            });
            check(n + " forbid-overwrite-header-stripped-refused", () -> {
                Map<String, String> in = new HashMap<>();
                in.put("Content-Type", "application/octet-stream");
                in.put("x-oss-forbid-overwrite", "true");
                Map<String, String> h = sdkSign(v, ak, sk, null, region, "PUT", bucket, "obj", in, 0);
                RawResponse ok = raw("PUT", endpoint + "/" + bucket + "/obj", h, data);
                expect(ok.status == 409 && ok.code().equals("FileAlreadyExists"), "signed create-if-absent: " + ok);
                h.remove("x-oss-forbid-overwrite");
                RawResponse r = raw("PUT", endpoint + "/" + bucket + "/obj", h, data);
                expect(r.status == 403 && r.code().equals("SignatureDoesNotMatch"), "stripped header: " + r);
            });
            check(n + " sts-token-swapped-after-signing-refused", () -> {
                Map<String, String> h = sdkSign(v, stsAk, stsSk, token, region, "GET", bucket, "obj", new HashMap<>(), 0);
                RawResponse ok = raw("GET", endpoint + "/" + bucket + "/obj", h, null);
                expect(ok.status == 200, "sts raw signed request refused: " + ok);
                h.put("x-oss-security-token", token + "x");
                RawResponse r = raw("GET", endpoint + "/" + bucket + "/obj", h, null);
                expect(r.status == 403, "got " + r);
            });
            check(n + " clock-skew-refused", () -> {
                Map<String, String> h = sdkSign(v, ak, sk, null, region, "GET", bucket, "obj", new HashMap<>(), -20 * 60 * 1000L);
                RawResponse r = raw("GET", endpoint + "/" + bucket + "/obj", h, null);
                expect(r.status == 403 && r.code().equals("RequestTimeTooSkewed"), "got " + r);
            });
        }
        check("anonymous-request-refused", () -> {
            RawResponse r = raw("GET", endpoint + "/" + bucket + "/obj", Map.of(), null);
            expect(r.status == 403 && r.code().equals("AccessDenied"), "got " + r);
        });
        check("expired-presigned-url-refused", () -> {
            URL u = v1.generatePresignedUrl(bucket, "obj", new Date(System.currentTimeMillis() - 60_000));
            RawResponse r = raw("GET", u.toString(), Map.of(), null);
            expect(r.status == 403 && r.code().equals("AccessDenied"), "got " + r);
        });
        check("presigned-url-with-added-header-refused", () -> {
            URL u = v1.generatePresignedUrl(bucket, "obj", new Date(System.currentTimeMillis() + 600_000));
            RawResponse r = raw("GET", u.toString(), Map.of("x-oss-meta-injected", "1"), null);
            expect(r.status == 403 && r.code().equals("SignatureDoesNotMatch"), "got " + r);
        });
        check("sts-presigned-url-wrong-token-refused", () -> {
            URL u = stsV1.generatePresignedUrl(bucket, "obj", new Date(System.currentTimeMillis() + 600_000));
            RawResponse ok = raw("GET", u.toString(), Map.of(), null);
            expect(ok.status == 200, "sts presigned refused: " + ok);
            String bad = u.toString().replace("security-token=" + java.net.URLEncoder.encode(token, "UTF-8"),
                    "security-token=" + java.net.URLEncoder.encode(token + "x", "UTF-8"));
            expect(!bad.equals(u.toString()), "token not found in url " + u);
            RawResponse r = raw("GET", bad, Map.of(), null);
            expect(r.status == 403, "got " + r);
        });

        for (OSS o : List.of(v1, v4, stsV1, stsV4)) o.shutdown();
        System.out.println("SUMMARY " + passes + " passed, " + failures + " failed");
        System.exit(failures == 0 ? 0 : 1);
    }
}
