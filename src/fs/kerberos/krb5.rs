//! Safe, blocking wrappers over the few MIT krb5 calls the keytab login needs.
//!
//! Every call creates its own `krb5_context` (contexts are not shared between threads), so the
//! functions here may run on any thread; they block on the network (KDC exchanges) and belong
//! on a blocking thread, never on an async worker.

use std::ffi::{CStr, CString};
use std::ptr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::errors::{Failure, Step};
use super::ffi::{self, CCache, Context, Creds, Keytab, Krb5Lib, Principal};

/// Validity of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// Start of validity.
    pub start: SystemTime,
    /// End of validity.
    pub end: SystemTime,
}

impl Lifetime {
    fn from_times(times: &ffi::TicketTimes) -> Self {
        // MIT krb5 interprets timestamps as unsigned 32-bit seconds (valid until 2106).
        let at = |t: i32| UNIX_EPOCH + Duration::from_secs(u64::from(t as u32));
        let start = if times.starttime != 0 {
            times.starttime
        } else {
            times.authtime
        };
        Lifetime {
            start: at(start),
            end: at(times.endtime),
        }
    }
}

struct Ctx {
    lib: &'static Krb5Lib,
    raw: Context,
}

impl Ctx {
    fn new() -> Result<Self, Failure> {
        let lib = ffi::lib().map_err(|e| Failure::library(e.to_string()))?;
        let mut raw = ptr::null_mut();
        // SAFETY: `raw` is a valid out-pointer; on success the library owns a fresh context.
        let code = unsafe { (lib.init_context)(&mut raw) };
        if code != 0 {
            // No context to ask for a message (krb5.conf unreadable is the usual cause).
            return Err(Failure::new(Step::InitContext, code, String::new()));
        }
        Ok(Ctx { lib, raw })
    }

    /// Turns a non-zero code into a [`Failure`] carrying the library's message for it.
    fn check(&self, step: Step, code: ffi::Krb5Error) -> Result<(), Failure> {
        if code == 0 {
            return Ok(());
        }
        // SAFETY: the context is live; the returned string is freed right after copying.
        let message = unsafe {
            let msg = (self.lib.get_error_message)(self.raw, code);
            if msg.is_null() {
                String::new()
            } else {
                let s = CStr::from_ptr(msg).to_string_lossy().into_owned();
                (self.lib.free_error_message)(self.raw, msg);
                s
            }
        };
        Err(Failure::new(step, code, message))
    }

    fn principal(&self, name: &str) -> Result<PrincipalGuard<'_>, Failure> {
        let c = cstring(name, Step::ParsePrincipal)?;
        let mut raw = ptr::null_mut();
        // SAFETY: valid context, NUL-terminated name, valid out-pointer.
        let code = unsafe { (self.lib.parse_name)(self.raw, c.as_ptr(), &mut raw) };
        self.check(Step::ParsePrincipal, code)?;
        Ok(PrincipalGuard { ctx: self, raw })
    }

    /// A ticket for `service` from the cache `cc` or, with the TGT there, from the KDC (then
    /// stored in `cc`).
    fn service_ticket(
        &self,
        client: Principal,
        service: &str,
        cc: CCache,
    ) -> Result<Lifetime, Failure> {
        let server = self.principal(service)?;
        let mut request = Creds::zeroed();
        request.client = client;
        request.server = server.raw;
        let mut out: *mut Creds = ptr::null_mut();
        // SAFETY: valid context and cache; `request` borrows the two principals (freed by
        // their owners, not through `request`); `out` is a valid out-pointer.
        let code = unsafe { (self.lib.get_credentials)(self.raw, 0, cc, &mut request, &mut out) };
        self.check(Step::ServiceTicket, code)?;
        if out.is_null() {
            return Err(Failure::new(
                Step::ServiceTicket,
                0,
                "no ticket returned".to_string(),
            ));
        }
        // SAFETY: `out` was allocated by krb5_get_credentials; read, then freed once.
        let lifetime = unsafe {
            let lifetime = Lifetime::from_times(&(*out).times);
            (self.lib.free_creds)(self.raw, out);
            lifetime
        };
        Ok(lifetime)
    }

    /// The text form of a principal owned by the caller (e.g. a ticket's server).
    fn unparse(&self, principal: Principal) -> Result<String, Failure> {
        let mut raw: *mut std::ffi::c_char = ptr::null_mut();
        // SAFETY: valid context and principal; valid out-pointer.
        let code = unsafe { (self.lib.unparse_name)(self.raw, principal, &mut raw) };
        self.check(Step::ReadCache, code)?;
        if raw.is_null() {
            return Ok(String::new());
        }
        // SAFETY: a NUL-terminated string allocated by krb5_unparse_name, copied then freed once.
        let name = unsafe {
            let name = CStr::from_ptr(raw).to_string_lossy().into_owned();
            (self.lib.free_unparsed_name)(self.raw, raw);
            name
        };
        Ok(name)
    }

    fn ccache(&self, name: &str, step: Step) -> Result<CCacheGuard<'_>, Failure> {
        let c = cstring(name, step)?;
        let mut raw = ptr::null_mut();
        // SAFETY: valid context, NUL-terminated name, valid out-pointer.
        let code = unsafe { (self.lib.cc_resolve)(self.raw, c.as_ptr(), &mut raw) };
        self.check(step, code)?;
        Ok(CCacheGuard { ctx: self, raw })
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: the context was created by krb5_init_context and every handle borrowing it
        // (guards below) has been dropped before, by lifetimes.
        unsafe { (self.lib.free_context)(self.raw) }
    }
}

struct PrincipalGuard<'a> {
    ctx: &'a Ctx,
    raw: Principal,
}

impl Drop for PrincipalGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: allocated by krb5_parse_name in this context, freed once.
        unsafe { (self.ctx.lib.free_principal)(self.ctx.raw, self.raw) }
    }
}

struct KeytabGuard<'a> {
    ctx: &'a Ctx,
    raw: Keytab,
}

impl Drop for KeytabGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: resolved by krb5_kt_resolve in this context, closed once.
        unsafe { (self.ctx.lib.kt_close)(self.ctx.raw, self.raw) };
    }
}

struct CCacheGuard<'a> {
    ctx: &'a Ctx,
    raw: CCache,
}

impl CCacheGuard<'_> {
    /// Gives up the handle without closing it (after `krb5_cc_move`, which consumed it).
    fn forget(mut self) {
        self.raw = ptr::null_mut();
    }
}

impl Drop for CCacheGuard<'_> {
    fn drop(&mut self) {
        if !self.raw.is_null() {
            // SAFETY: resolved in this context, not yet closed or consumed.
            unsafe { (self.ctx.lib.cc_close)(self.ctx.raw, self.raw) };
        }
    }
}

struct CredsGuard<'a> {
    ctx: &'a Ctx,
    creds: Creds,
}

impl Drop for CredsGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: contents were filled by the library (or are all null); freed once. This also
        // wipes the session key from memory.
        unsafe { (self.ctx.lib.free_cred_contents)(self.ctx.raw, &mut self.creds) }
    }
}

fn cstring(value: &str, step: Step) -> Result<CString, Failure> {
    CString::new(value).map_err(|_| Failure::new(step, 0, "contains a NUL byte".to_string()))
}

/// What a keytab login obtained.
#[derive(Debug)]
pub struct Login {
    /// Validity of the new TGT.
    pub lifetime: Lifetime,
    /// The service principals whose ticket could not be fetched with the new TGT, and why.
    pub missing_services: Vec<(String, Failure)>,
}

/// Gets a fresh TGT for `principal` from `keytab` and, with it, a ticket for each of
/// `services`, then atomically replaces the content of the credential cache `ccache` (e.g.
/// `MEMORY:ckpt-…`) with them: readers of the cache never see it empty nor without the
/// service tickets it had. A service ticket that cannot be fetched does not fail the login; it
/// is reported in [`Login::missing_services`].
pub fn login_from_keytab(
    principal: &str,
    keytab: &str,
    ccache: &str,
    services: &[String],
) -> Result<Login, Failure> {
    let ctx = Ctx::new()?;
    let client = ctx.principal(principal)?;
    let kt_name = cstring(&keytab_name(keytab), Step::ResolveKeytab)?;
    let mut kt_raw = ptr::null_mut();
    // SAFETY: valid context, NUL-terminated name, valid out-pointer.
    let code = unsafe { (ctx.lib.kt_resolve)(ctx.raw, kt_name.as_ptr(), &mut kt_raw) };
    ctx.check(Step::ResolveKeytab, code)?;
    let kt = KeytabGuard {
        ctx: &ctx,
        raw: kt_raw,
    };

    let mut creds = CredsGuard {
        ctx: &ctx,
        creds: Creds::zeroed(),
    };
    // SAFETY: valid context, principal and keytab; `creds` is a zeroed out-structure; no
    // service name (the TGS of the client's realm) and no options (krb5.conf defaults).
    let code = unsafe {
        (ctx.lib.get_init_creds_keytab)(
            ctx.raw,
            &mut creds.creds,
            client.raw,
            kt.raw,
            0,
            ptr::null(),
            ptr::null_mut(),
        )
    };
    ctx.check(Step::InitialCredentials, code)?;
    let lifetime = Lifetime::from_times(&creds.creds.times);

    // Fill a new unique memory cache, then move it over the target in one step so readers of
    // the target never see it empty.
    let mem_type = cstring("MEMORY", Step::StoreCredentials)?;
    let mut tmp_raw = ptr::null_mut();
    // SAFETY: valid context and type name; no hint; valid out-pointer.
    let code =
        unsafe { (ctx.lib.cc_new_unique)(ctx.raw, mem_type.as_ptr(), ptr::null(), &mut tmp_raw) };
    ctx.check(Step::StoreCredentials, code)?;
    let tmp = CCacheGuard {
        ctx: &ctx,
        raw: tmp_raw,
    };
    // SAFETY: live cache handle; the client principal of the creds just obtained.
    let code = unsafe { (ctx.lib.cc_initialize)(ctx.raw, tmp.raw, creds.creds.client) };
    ctx.check(Step::StoreCredentials, code)?;
    // SAFETY: live cache handle; creds filled by the library (copied by the cache).
    let code = unsafe { (ctx.lib.cc_store_cred)(ctx.raw, tmp.raw, &mut creds.creds) };
    ctx.check(Step::StoreCredentials, code)?;
    let missing_services = services
        .iter()
        .filter_map(|service| {
            ctx.service_ticket(client.raw, service, tmp.raw)
                .err()
                .map(|failure| (service.clone(), failure))
        })
        .collect();
    let dst = ctx.ccache(ccache, Step::StoreCredentials)?;
    // SAFETY: both handles live; on success krb5_cc_move consumes (closes) `tmp`.
    let code = unsafe { (ctx.lib.cc_move)(ctx.raw, tmp.raw, dst.raw) };
    if code == 0 {
        tmp.forget();
    } else {
        // SAFETY: `tmp` was not consumed; destroy it (memory cache) and forget the handle.
        unsafe { (ctx.lib.cc_destroy)(ctx.raw, tmp.raw) };
        tmp.forget();
        ctx.check(Step::StoreCredentials, code)?;
    }
    Ok(Login {
        lifetime,
        missing_services,
    })
}

/// Gets (from `ccache`, or from the KDC with the TGT there) a service ticket for `service`,
/// proving the KDC knows that principal and the client's TGT works for it.
pub fn fetch_service_ticket(
    client: &str,
    service: &str,
    ccache: &str,
) -> Result<Lifetime, Failure> {
    let ctx = Ctx::new()?;
    let client = ctx.principal(client)?;
    let cc = ctx.ccache(ccache, Step::ServiceTicket)?;
    ctx.service_ticket(client.raw, service, cc.raw)
}

/// `KRB5_CC_END`: no more credentials in the cache (end of a `krb5_cc_next_cred` iteration).
const KRB5_CC_END: ffi::Krb5Error = -1765328242;

/// The server principals of the tickets in `ccache` (the TGT's `krbtgt/…` included, the
/// cache's configuration entries left out), in cache order. Reads only the cache.
pub fn cached_servers(ccache: &str) -> Result<Vec<String>, Failure> {
    let ctx = Ctx::new()?;
    let cc = ctx.ccache(ccache, Step::ReadCache)?;
    let mut cursor: ffi::CCCursor = ptr::null_mut();
    // SAFETY: valid context and cache; `cursor` is a valid out-pointer.
    let code = unsafe { (ctx.lib.cc_start_seq_get)(ctx.raw, cc.raw, &mut cursor) };
    ctx.check(Step::ReadCache, code)?;
    let mut servers = Vec::new();
    let result = loop {
        let mut creds = CredsGuard {
            ctx: &ctx,
            creds: Creds::zeroed(),
        };
        // SAFETY: the cursor was started on this cache and is not ended yet; `creds` is a
        // zeroed out-structure the library fills (freed by its guard).
        let code =
            unsafe { (ctx.lib.cc_next_cred)(ctx.raw, cc.raw, &mut cursor, &mut creds.creds) };
        if code == KRB5_CC_END {
            break Ok(());
        }
        if let Err(failure) = ctx.check(Step::ReadCache, code) {
            break Err(failure);
        }
        match ctx.unparse(creds.creds.server) {
            Ok(name) if name.starts_with("krb5_ccache_conf_data/") => {}
            Ok(name) => servers.push(name),
            Err(failure) => break Err(failure),
        }
    };
    // SAFETY: ends the iteration started above, once, whatever happened during it.
    let code = unsafe { (ctx.lib.cc_end_seq_get)(ctx.raw, cc.raw, &mut cursor) };
    result?;
    ctx.check(Step::ReadCache, code)?;
    Ok(servers)
}

/// The keytab name krb5 expects: a `TYPE:residual` name as is, a plain path as `FILE:path`.
pub fn keytab_name(keytab: &str) -> String {
    let has_type = keytab.split_once(':').is_some_and(|(t, _)| {
        !t.is_empty() && t.chars().all(|c| c.is_ascii_alphabetic()) && t.len() > 1
    });
    if has_type {
        keytab.to_string()
    } else {
        format!("FILE:{keytab}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keytab_names() {
        assert_eq!(keytab_name("/etc/x.keytab"), "FILE:/etc/x.keytab");
        assert_eq!(keytab_name("FILE:/etc/x.keytab"), "FILE:/etc/x.keytab");
        assert_eq!(keytab_name("rel/x.keytab"), "FILE:rel/x.keytab");
        assert_eq!(keytab_name("C:\\x.keytab"), "FILE:C:\\x.keytab");
    }

    #[test]
    fn lifetime_uses_authtime_without_starttime() {
        let t = ffi::TicketTimes {
            authtime: 100,
            starttime: 0,
            endtime: 220,
            renew_till: 0,
        };
        let l = Lifetime::from_times(&t);
        assert_eq!(l.start, UNIX_EPOCH + Duration::from_secs(100));
        assert_eq!(l.end, UNIX_EPOCH + Duration::from_secs(220));
    }
}
