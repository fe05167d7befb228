//! A thin OSS REST client: URL building, signing, retries, error mapping and the few
//! object operations the file system needs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use reqwest::Method;

use super::config::OssSettings;
use super::sign::{self, SignableRequest};
use super::xml;
use crate::fs::retry::retry_request;
use crate::fs::{FsError, FsResult, wire};

const SCHEME: &str = "oss";

/// One request: `key` is the raw object key (empty for bucket-level requests).
#[derive(Debug, Clone)]
pub(crate) struct OssRequest {
    pub(crate) method: Method,
    pub(crate) key: String,
    pub(crate) query: Vec<(String, Option<String>)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Bytes,
}

impl OssRequest {
    pub(crate) fn new(method: Method, key: &str) -> Self {
        OssRequest {
            method,
            key: key.to_string(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub(crate) fn query(mut self, k: &str, v: Option<&str>) -> Self {
        self.query.push((k.to_string(), v.map(str::to_string)));
        self
    }

    pub(crate) fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }

    pub(crate) fn body(mut self, body: Bytes) -> Self {
        self.body = body;
        self
    }
}

/// A successful response.
#[derive(Debug)]
pub(crate) struct OssResponse {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Bytes,
}

impl OssResponse {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Metadata of one object.
#[derive(Debug, Clone)]
pub(crate) struct ObjectMeta {
    pub(crate) len: u64,
    pub(crate) modified: Option<SystemTime>,
}

/// One page of a listing.
#[derive(Debug, Default)]
pub(crate) struct ListPage {
    pub(crate) objects: Vec<(String, ObjectMeta)>,
    pub(crate) prefixes: Vec<String>,
    pub(crate) next_marker: Option<String>,
}

/// The OSS client of one bucket.
#[derive(Debug)]
pub(crate) struct OssClient {
    http: reqwest::Client,
    pub(crate) settings: OssSettings,
}

impl OssClient {
    pub(crate) fn new(settings: OssSettings) -> FsResult<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.socket_timeout)
            .build()
            .map_err(|e| FsError::Backend {
                scheme: SCHEME.to_string(),
                message: format!("cannot build the HTTP client: {e}"),
                retryable: false,
            })?;
        Ok(OssClient { http, settings })
    }

    fn url(&self, req: &OssRequest) -> String {
        let mut url = format!(
            "{}/{}",
            self.settings.endpoint.bucket_base(&self.settings.bucket),
            sign::encode_path(&req.key)
        );
        for (i, (k, v)) in req.query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&sign::encode_component(k));
            if let Some(v) = v {
                url.push('=');
                url.push_str(&sign::encode_component(v));
            }
        }
        url
    }

    /// The URI of `key` for error messages.
    pub(crate) fn uri(&self, key: &str) -> String {
        format!("oss://{}/{key}", self.settings.bucket)
    }

    /// Sends a request under the `ckpt.retry.*` layer (an attempt still running at the end of
    /// the budget is cancelled); maps OSS errors onto [`FsError`]. When it gives up, the error
    /// names the method, the object and the endpoint.
    pub(crate) async fn send(&self, req: OssRequest) -> FsResult<OssResponse> {
        self.send_counted(req).await.1
    }

    /// [`OssClient::send`], also saying how many attempts were made (more than one: an earlier
    /// attempt may have taken effect although its reply was lost).
    async fn send_counted(&self, req: OssRequest) -> (u32, FsResult<OssResponse>) {
        let operation = format!(
            "{} {} at {}",
            req.method,
            self.uri(&req.key),
            self.settings.endpoint.display()
        );
        let mut attempts = 0;
        let result = retry_request(&operation, &self.settings.retry, |n| {
            attempts = n;
            self.send_once(&req)
        })
        .await;
        (attempts, result)
    }

    /// True when the object at `key` has ETag `etag` (what one of our attempts wrote).
    async fn holds(&self, key: &str, etag: &str) -> FsResult<bool> {
        let resp = match self.send(OssRequest::new(Method::HEAD, key)).await {
            Ok(resp) => resp,
            Err(e) if e.is_not_found() => return Ok(false),
            Err(e) => return Err(e),
        };
        Ok(resp
            .header("etag")
            .is_some_and(|t| wire::etag_matches(t, etag)))
    }

    async fn send_once(&self, req: &OssRequest) -> FsResult<OssResponse> {
        let s = &self.settings;
        let mut headers = req.headers.clone();
        sign::sign(
            s.signature,
            &s.credentials,
            &s.region,
            SystemTime::now(),
            &SignableRequest {
                method: req.method.as_str(),
                bucket: Some(&s.bucket),
                key: &req.key,
                query: &req.query,
            },
            &mut headers,
        );
        let mut builder = self.http.request(req.method.clone(), self.url(req));
        for (k, v) in &headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        if !req.body.is_empty() || matches!(req.method, Method::PUT | Method::POST) {
            builder = builder.body(req.body.clone());
        }
        let resp = builder
            .send()
            .await
            .map_err(|e| self.transport_error(req, &e))?;
        let status = resp.status().as_u16();
        let resp_headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| self.transport_error(req, &e))?;
        if (200..300).contains(&status) {
            return Ok(OssResponse {
                status,
                headers: resp_headers,
                body,
            });
        }
        Err(self.status_error(req, status, &resp_headers, &body))
    }

    fn transport_error(&self, req: &OssRequest, e: &reqwest::Error) -> FsError {
        let mut message = format!(
            "{} {} via {}: {e}",
            req.method,
            self.uri(&req.key),
            self.settings.endpoint.display()
        );
        let mut source = std::error::Error::source(e);
        while let Some(inner) = source {
            message.push_str(&format!(": {inner}"));
            source = inner.source();
        }
        FsError::Backend {
            scheme: SCHEME.to_string(),
            message,
            retryable: true,
        }
    }

    fn status_error(
        &self,
        req: &OssRequest,
        status: u16,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> FsError {
        let doc = xml::parse(body).ok().filter(|d| d.name == "Error");
        let field = |n: &str| {
            doc.as_ref()
                .and_then(|d| d.text_of(n))
                .unwrap_or("")
                .to_string()
        };
        let code = field("Code");
        let message = field("Message");
        let request_id = headers
            .get("x-oss-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        map_error(
            &ErrorContext {
                method: req.method.as_str(),
                uri: &self.uri(&req.key),
                bucket: &self.settings.bucket,
                endpoint: &self.settings.endpoint.display(),
                provider: &self.settings.provider,
            },
            status,
            &code,
            &message,
            &request_id,
        )
    }

    // ---- operations ------------------------------------------------------------------

    /// HEAD of an object; `None` when it does not exist.
    pub(crate) async fn head(&self, key: &str) -> FsResult<Option<ObjectMeta>> {
        match self.send(OssRequest::new(Method::HEAD, key)).await {
            Ok(resp) => Ok(Some(ObjectMeta {
                len: resp
                    .header("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
                modified: resp.header("last-modified").and_then(parse_http_date),
            })),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Bytes `offset..offset+len` of an object (`len > 0`).
    pub(crate) async fn get_range(&self, key: &str, offset: u64, len: u64) -> FsResult<Bytes> {
        let range = format!("bytes={}-{}", offset, offset + len - 1);
        let resp = self
            .send(
                OssRequest::new(Method::GET, key)
                    .header("range", &range)
                    .header("x-oss-range-behavior", "standard"),
            )
            .await?;
        if resp.body.len() as u64 != len {
            return Err(FsError::Backend {
                scheme: SCHEME.to_string(),
                message: format!(
                    "{}: asked for {len} bytes at {offset}, got {} (status {})",
                    self.uri(key),
                    resp.body.len(),
                    resp.status
                ),
                retryable: true,
            });
        }
        Ok(resp.body)
    }

    /// PutObject; with `forbid_overwrite`, an existing object is [`FsError::AlreadyExists`].
    pub(crate) async fn put(&self, key: &str, body: Bytes, forbid_overwrite: bool) -> FsResult<()> {
        let md5 = sign::content_md5(&body);
        let etag = wire::md5_hex(&body);
        let mut req = OssRequest::new(Method::PUT, key)
            .header("content-md5", &md5)
            .body(body);
        if forbid_overwrite {
            req = req.header("x-oss-forbid-overwrite", "true");
        }
        match self.send_counted(req).await {
            (_, Ok(_)) => Ok(()),
            // A retried create whose earlier attempt landed (reply lost) finds its own object.
            (attempts, Err(FsError::AlreadyExists { .. }))
                if forbid_overwrite && attempts > 1 && self.holds(key, &etag).await? =>
            {
                tracing::info!(uri = %self.uri(key), "a retried create found its own earlier attempt's object");
                Ok(())
            }
            (_, Err(e)) => Err(e),
        }
    }

    /// CopyObject within the bucket; `Ok(false)` when `forbid_overwrite` and `dst` exists.
    pub(crate) async fn copy(
        &self,
        src: &str,
        dst: &str,
        forbid_overwrite: bool,
    ) -> FsResult<bool> {
        let source = format!("/{}/{}", self.settings.bucket, sign::encode_path(src));
        let mut req = OssRequest::new(Method::PUT, dst).header("x-oss-copy-source", &source);
        if forbid_overwrite {
            req = req.header("x-oss-forbid-overwrite", "true");
        }
        match self.send(req).await {
            Ok(_) => Ok(true),
            Err(FsError::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// DeleteObject (absent objects are fine).
    pub(crate) async fn delete(&self, key: &str) -> FsResult<()> {
        match self.send(OssRequest::new(Method::DELETE, key)).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// DeleteMultipleObjects, 1000 keys per request.
    pub(crate) async fn delete_many(&self, keys: &[String]) -> FsResult<()> {
        for chunk in keys.chunks(1000) {
            let mut body = String::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>",
            );
            for k in chunk {
                body.push_str("<Object><Key>");
                body.push_str(&xml::escape(k));
                body.push_str("</Key></Object>");
            }
            body.push_str("</Delete>");
            let body = Bytes::from(body);
            let md5 = sign::content_md5(&body);
            self.send(
                OssRequest::new(Method::POST, "")
                    .query("delete", None)
                    .header("content-md5", &md5)
                    .header("content-type", "application/xml")
                    .body(body),
            )
            .await?;
        }
        Ok(())
    }

    /// One page of ListObjects under `prefix`.
    pub(crate) async fn list_page(
        &self,
        prefix: &str,
        delimiter: Option<&str>,
        marker: Option<&str>,
        max_keys: u32,
    ) -> FsResult<ListPage> {
        let mut req = OssRequest::new(Method::GET, "")
            .query("prefix", Some(prefix))
            .query("max-keys", Some(&max_keys.to_string()))
            .query("encoding-type", Some("url"));
        if let Some(d) = delimiter {
            req = req.query("delimiter", Some(d));
        }
        if let Some(m) = marker {
            req = req.query("marker", Some(m));
        }
        let resp = self.send(req).await?;
        parse_list(&resp.body).map_err(|reason| FsError::Backend {
            scheme: SCHEME.to_string(),
            message: format!("{}: unreadable listing: {reason}", self.uri(prefix)),
            retryable: false,
        })
    }

    /// InitiateMultipartUpload; returns the upload id.
    pub(crate) async fn initiate(&self, key: &str, forbid_overwrite: bool) -> FsResult<String> {
        let mut req = OssRequest::new(Method::POST, key).query("uploads", None);
        if forbid_overwrite {
            req = req.header("x-oss-forbid-overwrite", "true");
        }
        let resp = self.send(req).await?;
        xml::parse(&resp.body)
            .ok()
            .and_then(|d| d.text_of("UploadId").map(str::to_string))
            .filter(|id| !id.is_empty())
            .ok_or_else(|| FsError::Backend {
                scheme: SCHEME.to_string(),
                message: format!(
                    "{}: InitiateMultipartUpload returned no UploadId",
                    self.uri(key)
                ),
                retryable: false,
            })
    }

    /// UploadPart; returns the part's ETag.
    pub(crate) async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        body: Bytes,
    ) -> FsResult<String> {
        let md5 = sign::content_md5(&body);
        let resp = self
            .send(
                OssRequest::new(Method::PUT, key)
                    .query("partNumber", Some(&number.to_string()))
                    .query("uploadId", Some(upload_id))
                    .header("content-md5", &md5)
                    .body(body),
            )
            .await?;
        resp.header("etag")
            .map(str::to_string)
            .ok_or_else(|| FsError::Backend {
                scheme: SCHEME.to_string(),
                message: format!("{}: UploadPart {number} returned no ETag", self.uri(key)),
                retryable: false,
            })
    }

    /// CompleteMultipartUpload.
    pub(crate) async fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
        forbid_overwrite: bool,
    ) -> FsResult<()> {
        let mut body =
            String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUpload>");
        for (n, etag) in parts {
            body.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag></Part>",
                xml::escape(etag)
            ));
        }
        body.push_str("</CompleteMultipartUpload>");
        let body = Bytes::from(body);
        let md5 = sign::content_md5(&body);
        let mut req = OssRequest::new(Method::POST, key)
            .query("uploadId", Some(upload_id))
            .header("content-md5", &md5)
            .header("content-type", "application/xml")
            .body(body);
        if forbid_overwrite {
            req = req.header("x-oss-forbid-overwrite", "true");
        }
        match self.send_counted(req).await {
            (_, Ok(_)) => Ok(()),
            // Complete is not idempotent: after a lost reply the retry finds the upload gone
            // (NoSuchUpload) or the object there. The outcome is checked, never assumed.
            (attempts, Err(e))
                if attempts > 1
                    && (is_no_such_upload(&e) || matches!(e, FsError::AlreadyExists { .. }))
                    && match wire::multipart_etag(parts.iter().map(|(_, t)| t.as_str())) {
                        Some(etag) => self.holds(key, &etag).await?,
                        None => false,
                    } =>
            {
                tracing::info!(uri = %self.uri(key), "a retried CompleteMultipartUpload found the object its earlier attempt completed");
                Ok(())
            }
            (_, Err(e)) => Err(e),
        }
    }

    /// AbortMultipartUpload (an unknown upload is fine).
    pub(crate) async fn abort(&self, key: &str, upload_id: &str) -> FsResult<()> {
        match self
            .send(OssRequest::new(Method::DELETE, key).query("uploadId", Some(upload_id)))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// True for the error [`map_error`] gives a `NoSuchUpload` answer.
fn is_no_such_upload(e: &FsError) -> bool {
    matches!(e, FsError::Backend { message, .. } if message.contains("multipart upload is gone"))
}

/// What an error is about, for [`map_error`].
pub(crate) struct ErrorContext<'a> {
    pub(crate) method: &'a str,
    pub(crate) uri: &'a str,
    pub(crate) bucket: &'a str,
    pub(crate) endpoint: &'a str,
    pub(crate) provider: &'a str,
}

/// Maps an OSS error response onto [`FsError`] (pure). Never includes key material.
pub(crate) fn map_error(
    ctx: &ErrorContext<'_>,
    status: u16,
    code: &str,
    message: &str,
    request_id: &str,
) -> FsError {
    let detail = if code.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("{code}: {message}")
    };
    let rid = if request_id.is_empty() {
        String::new()
    } else {
        format!(" (request id {request_id})")
    };
    match (status, code) {
        (404, "NoSuchBucket") => FsError::Backend {
            scheme: SCHEME.to_string(),
            message: format!(
                "bucket {:?} does not exist at {} (check oss.bucket / the oss:// URI and fs.oss.endpoint){rid}",
                ctx.bucket, ctx.endpoint
            ),
            retryable: false,
        },
        (404, "NoSuchUpload") => FsError::Backend {
            scheme: SCHEME.to_string(),
            message: format!(
                "{} {}: multipart upload is gone: {detail}{rid}",
                ctx.method, ctx.uri
            ),
            retryable: false,
        },
        (404, _) => FsError::NotFound {
            path: ctx.uri.to_string(),
        },
        (409, "FileAlreadyExists") | (412, _) => FsError::AlreadyExists {
            path: ctx.uri.to_string(),
        },
        (
            403,
            "SignatureDoesNotMatch"
            | "InvalidAccessKeyId"
            | "RequestTimeTooSkewed"
            | "SecurityTokenExpired"
            | "InvalidSecurityToken",
        )
        | (403, "") => FsError::Auth {
            message: format!(
                "OSS at {} refused the credentials from {} for {} {}: {detail}{rid}",
                ctx.endpoint, ctx.provider, ctx.method, ctx.uri
            ),
        },
        (403, _) => FsError::PermissionDenied {
            path: ctx.uri.to_string(),
            message: format!("{detail} (credentials from {}){rid}", ctx.provider),
        },
        (416, _) => FsError::EndOfFile {
            path: ctx.uri.to_string(),
            offset: 0,
            len: 0,
            file_len: 0,
        },
        _ => FsError::Backend {
            scheme: SCHEME.to_string(),
            message: format!("{} {}: {detail}{rid}", ctx.method, ctx.uri),
            retryable: status >= 500 || status == 429 || code == "RequestTimeout",
        },
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Parses a ListObjects (`encoding-type=url`) result (pure).
pub(crate) fn parse_list(body: &[u8]) -> Result<ListPage, String> {
    let doc = xml::parse(body)?;
    if doc.name != "ListBucketResult" {
        return Err(format!("unexpected root element <{}>", doc.name));
    }
    let encoded = doc.text_of("EncodingType") == Some("url");
    let dec = |s: &str| if encoded { decode(s) } else { s.to_string() };
    let mut page = ListPage::default();
    for c in doc.children("Contents") {
        let key = dec(c.text_of("Key").ok_or("a <Contents> has no <Key>")?);
        let len = c
            .text_of("Size")
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        let modified = c.text_of("LastModified").and_then(parse_iso8601);
        page.objects.push((key, ObjectMeta { len, modified }));
    }
    for p in doc.children("CommonPrefixes") {
        if let Some(prefix) = p.text_of("Prefix") {
            page.prefixes.push(dec(prefix));
        }
    }
    let truncated = doc.text_of("IsTruncated").map(str::trim) == Some("true");
    if truncated {
        let next = doc
            .text_of("NextMarker")
            .filter(|m| !m.is_empty())
            .map(dec)
            .or_else(|| {
                let last_obj = page.objects.last().map(|(k, _)| k.clone());
                let last_prefix = page.prefixes.last().cloned();
                last_obj.into_iter().chain(last_prefix).max()
            })
            .ok_or("a truncated listing has no NextMarker")?;
        page.next_marker = Some(next);
    }
    Ok(page)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    let y = if m <= 2 { y.checked_sub(1)? } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era.checked_mul(146_097)?.checked_add(doe - 719_468)
}

/// The time of a civil date; `None` for a date no `SystemTime` holds (a server's or a
/// proxy's garbage must not overflow).
fn to_time(y: i64, mo: u32, d: u32, h: u64, mi: u64, s: u64) -> Option<SystemTime> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = u64::try_from(days_from_civil(y, mo, d)?).ok()?;
    let secs = days
        .checked_mul(86_400)?
        .checked_add(h * 3600 + mi * 60 + s)?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// `2023-12-16T16:20:57.000Z`.
pub(crate) fn parse_iso8601(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let num = |a: usize, b: usize| s.get(a..b)?.parse::<u64>().ok();
    to_time(
        num(0, 4)? as i64,
        num(5, 7)? as u32,
        num(8, 10)? as u32,
        num(11, 13)?,
        num(14, 16)?,
        num(17, 19)?,
    )
}

/// `Thu, 17 Nov 2005 18:49:58 GMT`.
pub(crate) fn parse_http_date(s: &str) -> Option<SystemTime> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, month, year, time, _] = parts.as_slice() else {
        return None;
    };
    let m = MONTHS.iter().position(|x| x == month)? as u32 + 1;
    let hms: Vec<u64> = time.split(':').filter_map(|x| x.parse().ok()).collect();
    let [h, mi, sec] = hms.as_slice() else {
        return None;
    };
    to_time(year.parse().ok()?, m, day.parse().ok()?, *h, *mi, *sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ErrorContext<'static> {
        ErrorContext {
            method: "GET",
            uri: "oss://bkt/a/b",
            bucket: "bkt",
            endpoint: "http://127.0.0.1:1",
            provider: "AliyunCredentialsProvider (fs.oss.accessKeyId)",
        }
    }

    #[test]
    fn error_mapping() {
        assert!(map_error(&ctx(), 404, "NoSuchKey", "", "").is_not_found());
        let e = map_error(&ctx(), 404, "NoSuchBucket", "x", "R1");
        assert!(
            !e.is_retryable() && e.to_string().contains("\"bkt\"") && e.to_string().contains("R1"),
            "{e}"
        );
        assert!(matches!(
            map_error(&ctx(), 409, "FileAlreadyExists", "", ""),
            FsError::AlreadyExists { .. }
        ));
        let e = map_error(&ctx(), 403, "SignatureDoesNotMatch", "calc", "");
        assert!(matches!(e, FsError::Auth { .. }));
        // The provider is named; the access key id is a secret like the rest (config redacts it).
        assert!(e.to_string().contains("AliyunCredentialsProvider"), "{e}");
        assert!(matches!(
            map_error(&ctx(), 403, "AccessDenied", "", ""),
            FsError::PermissionDenied { .. }
        ));
        assert!(map_error(&ctx(), 503, "ServiceUnavailable", "", "").is_retryable());
        assert!(!map_error(&ctx(), 400, "InvalidArgument", "", "").is_retryable());
    }

    #[test]
    fn dates_out_of_range_are_none_not_overflow() {
        // Found by the oss_xml fuzz target: a year this large overflowed the seconds count.
        assert_eq!(
            parse_http_date("<555555555555h, 55557 Nov 20555555555555505 1881:49:58 5\0>"),
            None
        );
        assert_eq!(
            parse_http_date("Thu, 17 Nov 9223372036854775807 18:49:58 GMT"),
            None
        );
        assert_eq!(
            parse_http_date("Thu, 17 Nov -9223372036854775808 18:49:58 GMT"),
            None
        );
        assert_eq!(parse_http_date("Thu, 99 Nov 2005 18:49:58 GMT"), None);
        assert_eq!(
            parse_http_date("Thu, 17 Nov 20555555555555505 18:49:58 GMT"),
            None
        );
        assert_eq!(parse_iso8601("9999-99-99T99:99:99.000Z"), None);
        assert_eq!(
            parse_http_date("Thu, 17 Nov 2005 18:49:58 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(1_132_253_398))
        );
    }

    #[test]
    fn list_parsing() {
        let page = parse_list(br#"<?xml version="1.0"?><ListBucketResult><Name>b</Name><Prefix>d%2F</Prefix>
<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated><NextMarker>d%2Fz</NextMarker>
<Contents><Key>d%2Fa%20b</Key><LastModified>2023-12-16T16:20:57.000Z</LastModified><Size>5</Size></Contents>
<CommonPrefixes><Prefix>d%2Fsub%2F</Prefix></CommonPrefixes></ListBucketResult>"#).unwrap();
        assert_eq!(page.objects[0].0, "d/a b");
        assert_eq!(page.objects[0].1.len, 5);
        assert_eq!(
            page.objects[0].1.modified,
            Some(UNIX_EPOCH + Duration::from_secs(1_702_743_657))
        );
        assert_eq!(page.prefixes, vec!["d/sub/"]);
        assert_eq!(page.next_marker.as_deref(), Some("d/z"));
        assert!(parse_list(b"<Error/>").is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_http_date("Thu, 17 Nov 2005 18:49:58 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(1_132_253_398))
        );
        assert_eq!(parse_http_date("garbage"), None);
        assert_eq!(parse_iso8601("1970-01-01T00:00:00.000Z"), Some(UNIX_EPOCH));
    }
}
