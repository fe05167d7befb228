//! Run-time bindings to MIT Kerberos (`libkrb5.so.3`), loaded with `libloading`.
//!
//! Only the handful of functions the keytab login needs are resolved. Loading at run time keeps
//! the build free of Kerberos headers, libclang and link-time dependencies: a binary built with
//! the `kerberos` feature starts on hosts without Kerberos libraries and fails only when a
//! Kerberos login is actually asked for, with an error saying which package to install.
//! `hdfs-native` loads `libgssapi_krb5.so.2` the same way; that library depends on
//! `libkrb5.so.3`, so whenever Kerberos RPC can work at all, this library is present too.

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::sync::OnceLock;

/// `krb5_error_code`.
pub type Krb5Error = i32;
/// Opaque `krb5_context`.
pub type Context = *mut c_void;
/// Opaque `krb5_principal`.
pub type Principal = *mut c_void;
/// Opaque `krb5_keytab`.
pub type Keytab = *mut c_void;
/// Opaque `krb5_ccache`.
pub type CCache = *mut c_void;
/// Opaque `krb5_cc_cursor` (iteration state over a credential cache).
pub type CCCursor = *mut c_void;

/// `krb5_data`.
#[repr(C)]
pub struct Data {
    magic: i32,
    length: c_uint,
    data: *mut c_char,
}

/// `krb5_keyblock` (session key: never read, printed or copied by ckpt).
#[repr(C)]
pub struct Keyblock {
    magic: i32,
    enctype: i32,
    length: c_uint,
    contents: *mut u8,
}

/// `krb5_ticket_times`: seconds since the epoch (unsigned 32-bit in MIT's interpretation).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TicketTimes {
    /// When the KDC issued the initial ticket.
    pub authtime: i32,
    /// Start of validity (0 when absent: use `authtime`).
    pub starttime: i32,
    /// End of validity.
    pub endtime: i32,
    /// Renewable until.
    pub renew_till: i32,
}

/// `krb5_creds`. Filled and freed by the library (`krb5_free_cred_contents`); ckpt only reads
/// `times` and sets `client`/`server` on request structures.
#[repr(C)]
pub struct Creds {
    magic: i32,
    /// Client principal.
    pub client: Principal,
    /// Server principal.
    pub server: Principal,
    keyblock: Keyblock,
    /// Ticket lifetime information.
    pub times: TicketTimes,
    is_skey: c_uint,
    ticket_flags: i32,
    addresses: *mut *mut c_void,
    ticket: Data,
    second_ticket: Data,
    authdata: *mut *mut c_void,
}

impl Creds {
    /// An all-zero structure, as `krb5_get_init_creds_keytab` and request structures expect.
    pub fn zeroed() -> Self {
        let empty = || Data {
            magic: 0,
            length: 0,
            data: std::ptr::null_mut(),
        };
        Creds {
            magic: 0,
            client: std::ptr::null_mut(),
            server: std::ptr::null_mut(),
            keyblock: Keyblock {
                magic: 0,
                enctype: 0,
                length: 0,
                contents: std::ptr::null_mut(),
            },
            times: TicketTimes {
                authtime: 0,
                starttime: 0,
                endtime: 0,
                renew_till: 0,
            },
            is_skey: 0,
            ticket_flags: 0,
            addresses: std::ptr::null_mut(),
            ticket: empty(),
            second_ticket: empty(),
            authdata: std::ptr::null_mut(),
        }
    }
}

/// The resolved functions of `libkrb5.so.3`.
#[allow(missing_docs)]
pub struct Krb5Lib {
    _lib: libloading::Library,
    pub init_context: unsafe extern "C" fn(*mut Context) -> Krb5Error,
    pub free_context: unsafe extern "C" fn(Context),
    pub get_error_message: unsafe extern "C" fn(Context, Krb5Error) -> *const c_char,
    pub free_error_message: unsafe extern "C" fn(Context, *const c_char),
    pub parse_name: unsafe extern "C" fn(Context, *const c_char, *mut Principal) -> Krb5Error,
    pub free_principal: unsafe extern "C" fn(Context, Principal),
    pub kt_resolve: unsafe extern "C" fn(Context, *const c_char, *mut Keytab) -> Krb5Error,
    pub kt_close: unsafe extern "C" fn(Context, Keytab) -> Krb5Error,
    pub get_init_creds_keytab: unsafe extern "C" fn(
        Context,
        *mut Creds,
        Principal,
        Keytab,
        i32,
        *const c_char,
        *mut c_void,
    ) -> Krb5Error,
    pub free_cred_contents: unsafe extern "C" fn(Context, *mut Creds),
    pub free_creds: unsafe extern "C" fn(Context, *mut Creds),
    pub cc_resolve: unsafe extern "C" fn(Context, *const c_char, *mut CCache) -> Krb5Error,
    pub cc_new_unique:
        unsafe extern "C" fn(Context, *const c_char, *const c_char, *mut CCache) -> Krb5Error,
    pub cc_initialize: unsafe extern "C" fn(Context, CCache, Principal) -> Krb5Error,
    pub cc_store_cred: unsafe extern "C" fn(Context, CCache, *mut Creds) -> Krb5Error,
    pub cc_move: unsafe extern "C" fn(Context, CCache, CCache) -> Krb5Error,
    pub cc_close: unsafe extern "C" fn(Context, CCache) -> Krb5Error,
    pub cc_destroy: unsafe extern "C" fn(Context, CCache) -> Krb5Error,
    pub get_credentials:
        unsafe extern "C" fn(Context, c_int, CCache, *mut Creds, *mut *mut Creds) -> Krb5Error,
    pub cc_start_seq_get: unsafe extern "C" fn(Context, CCache, *mut CCCursor) -> Krb5Error,
    pub cc_next_cred: unsafe extern "C" fn(Context, CCache, *mut CCCursor, *mut Creds) -> Krb5Error,
    pub cc_end_seq_get: unsafe extern "C" fn(Context, CCache, *mut CCCursor) -> Krb5Error,
    pub unparse_name: unsafe extern "C" fn(Context, Principal, *mut *mut c_char) -> Krb5Error,
    pub free_unparsed_name: unsafe extern "C" fn(Context, *mut c_char),
}

/// Library file name tried on Linux (Debian and RHEL both ship the `.3` name; the unversioned
/// one exists only with the dev package).
#[cfg(target_os = "macos")]
pub const LIBRARY_NAME: &str = "libkrb5.dylib";
/// Library file name tried on Linux (Debian and RHEL both ship the `.3` name; the unversioned
/// one exists only with the dev package).
#[cfg(not(target_os = "macos"))]
pub const LIBRARY_NAME: &str = "libkrb5.so.3";

static LIB: OnceLock<Result<Krb5Lib, String>> = OnceLock::new();

/// The loaded library, or why it could not be loaded (file or symbol name and the loader's message).
pub fn lib() -> Result<&'static Krb5Lib, &'static str> {
    LIB.get_or_init(load).as_ref().map_err(|e| e.as_str())
}

fn load() -> Result<Krb5Lib, String> {
    // SAFETY: loading MIT libkrb5 runs only its ELF initialisers, which have no preconditions.
    let lib = unsafe { libloading::Library::new(LIBRARY_NAME) }
        .map_err(|e| format!("cannot load {LIBRARY_NAME}: {e}"))?;
    macro_rules! sym {
        ($name:literal) => {
            // SAFETY: the symbol is MIT krb5's public function of that name; the field it is
            // stored in has the C prototype from <krb5/krb5.h> (checked against krb5 1.20).
            *unsafe { lib.get(concat!($name, "\0").as_bytes()) }
                .map_err(|e| format!("{LIBRARY_NAME} has no {}: {e}", $name))?
        };
    }
    Ok(Krb5Lib {
        init_context: sym!("krb5_init_context"),
        free_context: sym!("krb5_free_context"),
        get_error_message: sym!("krb5_get_error_message"),
        free_error_message: sym!("krb5_free_error_message"),
        parse_name: sym!("krb5_parse_name"),
        free_principal: sym!("krb5_free_principal"),
        kt_resolve: sym!("krb5_kt_resolve"),
        kt_close: sym!("krb5_kt_close"),
        get_init_creds_keytab: sym!("krb5_get_init_creds_keytab"),
        free_cred_contents: sym!("krb5_free_cred_contents"),
        free_creds: sym!("krb5_free_creds"),
        cc_resolve: sym!("krb5_cc_resolve"),
        cc_new_unique: sym!("krb5_cc_new_unique"),
        cc_initialize: sym!("krb5_cc_initialize"),
        cc_store_cred: sym!("krb5_cc_store_cred"),
        cc_move: sym!("krb5_cc_move"),
        cc_close: sym!("krb5_cc_close"),
        cc_destroy: sym!("krb5_cc_destroy"),
        get_credentials: sym!("krb5_get_credentials"),
        cc_start_seq_get: sym!("krb5_cc_start_seq_get"),
        cc_next_cred: sym!("krb5_cc_next_cred"),
        cc_end_seq_get: sym!("krb5_cc_end_seq_get"),
        unparse_name: sym!("krb5_unparse_name"),
        free_unparsed_name: sym!("krb5_free_unparsed_name"),
        _lib: lib,
    })
}
