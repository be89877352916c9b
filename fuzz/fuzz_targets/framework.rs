//! The extension framework through the C ABI: a client and a server
//! negotiator with fuzzer-chosen factories (the built-in
//! permessage-deflate ones with any config, and custom extensions written
//! here as C callbacks that XOR payloads with a negotiated key, may set
//! RSV2, may decline, and may fail with a chosen result at a chosen call),
//! then the offer, the server's negotiation (of the real offer, a mutated
//! one, or raw bytes), the client's acceptance, and messages through both
//! chains. Properties: every result is documented or is the one a callback
//! returned; both chains hold the same extensions in the same order; every
//! message comes back byte for byte; a decode error is sticky; every
//! instance and every factory's user data is destroyed exactly once.
#![no_main]

mod common;

use std::cell::Cell;
use std::ffi::{c_int, c_void, CStr};

use arbitrary::Arbitrary;
use common::{blank, frame, payload, split, CfgSpec};
use libfuzzer_sys::fuzz_target;
use pmdeflate::ffi::config::pmd_config_free;
use pmdeflate::ffi::frame::pmd_frame;
use pmdeflate::ffi::framework::*;
use pmdeflate::ffi::header::pmd_param;
use pmdeflate::ffi::pmd_result;
use pmdeflate::ffi::pmd_result::*;

thread_local! {
    static LIVE_INSTANCES: Cell<isize> = const { Cell::new(0) };
    static LIVE_USERS: Cell<isize> = const { Cell::new(0) };
}

fn bump(c: &'static std::thread::LocalKey<Cell<isize>>, d: isize) {
    c.with(|c| c.set(c.get() + d));
}

/// What a custom factory does: its name (one of a few, so that client
/// and server names meet), whether it declines, and a failure to inject.
#[derive(Arbitrary, Debug, Clone)]
struct Behaviour {
    name: u8,
    key: u8,
    rsv2: bool,
    decline: bool,
    /// Fail the negotiation callback with this result (as an int: values
    /// that are not results are allowed).
    negotiation_error: Option<i8>,
    /// Fail the Nth encode or decode call with this result.
    frame_error: Option<(u8, i8)>,
}

const NAMES: [&CStr; 3] = [c"x-xor", c"x-xor2", c"x-mark"];

fn name_of(b: &Behaviour) -> &'static CStr {
    NAMES[usize::from(b.name) % NAMES.len()]
}

#[derive(Arbitrary, Debug, Clone)]
enum Factory {
    Deflate(CfgSpec),
    Custom(Behaviour),
}

/// A factory's user data.
struct User {
    b: Behaviour,
    key_param: Vec<u8>,
    params: Vec<pmd_param>,
}

/// An instance's state.
struct Instance {
    key: u8,
    rsv2: bool,
    fail: Option<(u8, i8)>,
    calls: u8,
    enc_buf: Vec<u8>,
    dec_buf: Vec<u8>,
}

/// The vtables, static so that their addresses outlive every chain.
struct Vtables([pmd_extension_vtable; 3]);
// SAFETY: the tables are never written; their name pointers are static.
unsafe impl Sync for Vtables {}
static VTABLES: Vtables = Vtables([vtable(0), vtable(1), vtable(2)]);

const fn vtable(i: usize) -> pmd_extension_vtable {
    pmd_extension_vtable {
        size: std::mem::size_of::<pmd_extension_vtable>(),
        name: NAMES[i].as_ptr(),
        encode: Some(encode),
        decode: Some(decode),
        destroy: Some(destroy_instance),
    }
}

fn injected(st: &mut Instance) -> Option<c_int> {
    st.calls = st.calls.wrapping_add(1);
    match st.fail {
        Some((n, e)) if n == st.calls && e != 0 => Some(c_int::from(e)),
        _ => None,
    }
}

unsafe extern "C" fn encode(state: *mut c_void, inf: *const pmd_frame, out: *mut pmd_frame) -> c_int {
    // SAFETY: state is our Instance; in and out are valid for the call.
    let (st, inf, out) = unsafe { (&mut *state.cast::<Instance>(), &*inf, &mut *out) };
    if let Some(e) = injected(st) {
        return e;
    }
    *out = *inf;
    if inf.opcode < 8 {
        st.enc_buf = payload(inf).iter().map(|b| b ^ st.key).collect();
        out.data = st.enc_buf.as_ptr();
        if st.rsv2 && inf.opcode != 0 {
            out.rsv2 = true;
        }
    }
    0
}

unsafe extern "C" fn decode(state: *mut c_void, inf: *const pmd_frame, max: usize, out: *mut pmd_frame) -> c_int {
    // SAFETY: as for encode.
    let (st, inf, out) = unsafe { (&mut *state.cast::<Instance>(), &*inf, &mut *out) };
    if let Some(e) = injected(st) {
        return e;
    }
    *out = *inf;
    if inf.opcode < 8 {
        if inf.len > max {
            return PMD_ERR_PAYLOAD_TOO_BIG as c_int;
        }
        if st.rsv2 && inf.opcode != 0 {
            if !inf.rsv2 {
                return PMD_ERR_PROTOCOL as c_int;
            }
            out.rsv2 = false;
        }
        st.dec_buf = payload(inf).iter().map(|b| b ^ st.key).collect();
        out.data = st.dec_buf.as_ptr();
    }
    0
}

unsafe extern "C" fn destroy_instance(p: *mut c_void) {
    // SAFETY: p is a Box<Instance> we leaked.
    drop(unsafe { Box::from_raw(p.cast::<Instance>()) });
    bump(&LIVE_INSTANCES, -1);
}

unsafe extern "C" fn destroy_user(p: *mut c_void) {
    // SAFETY: p is a Box<User> we leaked.
    drop(unsafe { Box::from_raw(p.cast::<User>()) });
    bump(&LIVE_USERS, -1);
}

fn new_instance(b: &Behaviour, key: u8, out: &mut pmd_extension_instance) {
    let st = Box::new(Instance {
        key,
        rsv2: b.rsv2,
        fail: b.frame_error,
        calls: 0,
        enc_buf: Vec::new(),
        dec_buf: Vec::new(),
    });
    bump(&LIVE_INSTANCES, 1);
    out.vtable = &VTABLES.0[usize::from(b.name) % NAMES.len()];
    out.state = Box::into_raw(st).cast();
}

/// The key parameter "k=<n>" read back; None when absent or malformed.
fn key_of(params: *const pmd_param, n: usize) -> Option<u8> {
    if n == 0 {
        return None;
    }
    // SAFETY: the library passes n valid parameters.
    let ps = unsafe { std::slice::from_raw_parts(params, n) };
    ps.iter().find_map(|p| {
        // SAFETY: (ptr, len) strings valid during the call.
        let name = unsafe { std::slice::from_raw_parts(p.name.cast::<u8>(), p.name_len) };
        if name != b"k" || p.value.is_null() {
            return None;
        }
        // SAFETY: as above.
        let v = unsafe { std::slice::from_raw_parts(p.value.cast::<u8>(), p.value_len) };
        std::str::from_utf8(v).ok()?.parse().ok()
    })
}

unsafe extern "C" fn get_request_params(user: *mut c_void, params: *mut *const pmd_param, n: *mut usize) -> c_int {
    // SAFETY: user is our User; params and n are valid.
    let u = unsafe { &*user.cast::<User>() };
    // SAFETY: as above.
    unsafe {
        *params = u.params.as_ptr();
        *n = u.params.len();
    }
    0
}

unsafe extern "C" fn process_response(
    user: *mut c_void,
    params: *const pmd_param,
    n: usize,
    _accepted: *const pmd_extension_instance,
    _n_accepted: usize,
    out: *mut pmd_extension_instance,
) -> c_int {
    // SAFETY: user is our User; out is valid.
    let (u, out) = unsafe { (&*user.cast::<User>(), &mut *out) };
    if let Some(e) = u.b.negotiation_error {
        return c_int::from(e);
    }
    match key_of(params, n) {
        Some(k) if !u.b.decline => {
            new_instance(&u.b, k, out);
            0
        }
        _ => PMD_ERR_NEGOTIATION as c_int,
    }
}

unsafe extern "C" fn process_request(
    user: *mut c_void,
    params: *const pmd_param,
    n: usize,
    _accepted: *const pmd_extension_instance,
    _n_accepted: usize,
    response: *mut *const pmd_param,
    n_response: *mut usize,
    out: *mut pmd_extension_instance,
) -> c_int {
    // SAFETY: user is our User; the out-pointers are valid.
    let (u, out) = unsafe { (&*user.cast::<User>(), &mut *out) };
    if let Some(e) = u.b.negotiation_error {
        return c_int::from(e);
    }
    match key_of(params, n) {
        Some(k) if !u.b.decline => {
            new_instance(&u.b, k, out);
            // The response echoes the offer's key; the parameters live in
            // the factory's user data.
            let pos = u.params.len().min(1);
            // SAFETY: as above; k is what the offer held, and the factory
            // answers with its own key param only when they agree.
            unsafe {
                *response = u.params.as_ptr();
                *n_response = if k == u.b.key { pos } else { 0 };
            }
            if k != u.b.key {
                // No key in the response: the client declines.
            }
            0
        }
        _ => PMD_ERR_NEGOTIATION as c_int,
    }
}

fn new_user(b: &Behaviour) -> *mut c_void {
    let mut u = Box::new(User {
        b: b.clone(),
        key_param: b.key.to_string().into_bytes(),
        params: Vec::new(),
    });
    u.params = vec![pmd_param {
        name: c"k".as_ptr(),
        name_len: 1,
        value: u.key_param.as_ptr().cast(),
        value_len: u.key_param.len(),
    }];
    bump(&LIVE_USERS, 1);
    Box::into_raw(u).cast()
}

fn negotiator(factories: &[Factory], client: bool) -> *mut pmd_negotiator {
    let neg = pmd_negotiator_new();
    assert!(!neg.is_null());
    for f in factories.iter().take(6) {
        match f {
            Factory::Deflate(spec) => {
                let cfg = spec.build();
                // SAFETY: cfg is live; the factories are locals; neg is live.
                unsafe {
                    if client {
                        let mut cf: pmd_client_factory = std::mem::zeroed();
                        assert_eq!(pmd_client_factory_permessage_deflate(cfg, &mut cf), PMD_OK);
                        assert_eq!(pmd_negotiator_add_client(neg, &cf), PMD_OK);
                    } else {
                        let mut sf: pmd_server_factory = std::mem::zeroed();
                        let r = pmd_server_factory_permessage_deflate(cfg, &mut sf);
                        assert!(matches!(r, PMD_OK | PMD_ERR_INVALID_ARGUMENT), "{r:?}");
                        if r == PMD_OK {
                            assert_eq!(pmd_negotiator_add_server(neg, &sf), PMD_OK);
                        }
                    }
                    pmd_config_free(cfg);
                }
            }
            Factory::Custom(b) => {
                let user = new_user(b);
                // SAFETY: the factory structs are complete; neg is live.
                unsafe {
                    let r = if client {
                        pmd_negotiator_add_client(
                            neg,
                            &pmd_client_factory {
                                size: std::mem::size_of::<pmd_client_factory>(),
                                name: name_of(b).as_ptr(),
                                user,
                                get_request_params: Some(get_request_params),
                                process_response_params: Some(process_response),
                                destroy: Some(destroy_user),
                            },
                        )
                    } else {
                        pmd_negotiator_add_server(
                            neg,
                            &pmd_server_factory {
                                size: std::mem::size_of::<pmd_server_factory>(),
                                name: name_of(b).as_ptr(),
                                user,
                                process_request_params: Some(process_request),
                                destroy: Some(destroy_user),
                            },
                        )
                    };
                    assert_eq!(r, PMD_OK);
                }
            }
        }
    }
    neg
}

/// The results a negotiation may end with: the documented ones and every
/// result a custom factory was told to return (a value that is not a
/// result becomes PMD_ERR_INVALID_ARGUMENT).
fn allowed(r: pmd_result, documented: &[pmd_result], factories: &[&[Factory]]) -> bool {
    documented.contains(&r)
        || factories.iter().flat_map(|f| f.iter()).any(|f| match f {
            Factory::Custom(Behaviour {
                negotiation_error: Some(e),
                ..
            }) => (*e as i32) == r as i32,
            _ => false,
        })
}

#[derive(Arbitrary, Debug)]
enum Request {
    Offer,
    Mutated { at: u16, byte: u8 },
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    client: Vec<Factory>,
    server: Vec<Factory>,
    request: Request,
    messages: Vec<(bool, Vec<u8>, Vec<u8>)>,
}

fn names(chain: *const pmd_chain) -> Vec<String> {
    // SAFETY: chain is live.
    let n = unsafe { pmd_chain_count(chain) };
    (0..n)
        .map(|i| {
            let mut inst = pmd_extension_instance {
                vtable: std::ptr::null(),
                state: std::ptr::null_mut(),
            };
            // SAFETY: as above.
            assert_eq!(unsafe { pmd_chain_get(chain, i, &mut inst) }, PMD_OK);
            // SAFETY: the vtable and its name live as long as the chain.
            unsafe { CStr::from_ptr((*inst.vtable).name) }
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// Sends one message through tx's chain to rx's: fragments out, through
/// encode, into decode. Returns false once a chain has failed.
fn send(tx: *mut pmd_chain, rx: *mut pmd_chain, msg: &[u8], cuts: &[u8], sticky: &mut Option<pmd_result>) -> bool {
    let pieces = split(msg, &cuts[..cuts.len().min(16)]);
    let mut got = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let f = frame(if i == 0 { 2 } else { 0 }, i + 1 == pieces.len(), false, piece);
        let mut enc = blank();
        // SAFETY: tx is live; f's data is valid.
        let r = unsafe { pmd_chain_encode(tx, &f, &mut enc) };
        if r != PMD_OK {
            assert_ne!(r, PMD_ERR_INTERNAL);
            return false;
        }
        let wire = payload(&enc);
        let inf = pmd_frame {
            data: wire.as_ptr(),
            len: wire.len(),
            ..enc
        };
        let mut dec = blank();
        // SAFETY: rx is live; inf's data is valid.
        let r = unsafe { pmd_chain_decode(rx, &inf, usize::MAX, &mut dec) };
        if let Some(s) = sticky {
            assert_eq!(r, *s, "chain decode errors are sticky");
            return false;
        }
        if r != PMD_OK {
            assert_ne!(r, PMD_ERR_INTERNAL);
            *sticky = Some(r);
            return false;
        }
        assert!(!dec.rsv1 && !dec.rsv2 && !dec.rsv3, "every reserved bit is consumed");
        got.extend_from_slice(&payload(&dec));
    }
    assert!(
        got == msg,
        "a message of {} bytes came back as {} other bytes",
        msg.len(),
        got.len()
    );
    true
}

/// Text seed: "offer" or a raw request header value; both sides get a
/// permessage-deflate factory and two custom ones.
fn seed(text: &[u8]) -> Option<Input> {
    let custom = |name: u8, key: u8, rsv2: bool| {
        Factory::Custom(Behaviour {
            name,
            key,
            rsv2,
            decline: false,
            negotiation_error: None,
            frame_error: None,
        })
    };
    let factories = vec![
        custom(0, 7, true),
        Factory::Deflate(CfgSpec::defaults()),
        custom(2, 9, false),
    ];
    Some(Input {
        client: factories.clone(),
        server: factories,
        request: if text == b"offer" {
            Request::Offer
        } else {
            Request::Raw(text.to_vec())
        },
        messages: vec![
            (false, b"Hello".to_vec(), vec![]),
            (true, b"Hello, Hello, Hello".to_vec(), vec![80, 160]),
        ],
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = common::input_of(data, seed) else {
        return;
    };
    let cneg = negotiator(&input.client, true);
    let sneg = negotiator(&input.server, false);
    let both: [&[Factory]; 2] = [&input.client, &input.server];

    let mut offer = vec![0u8; 4096];
    let mut len = 0usize;
    // SAFETY: cneg is live; offer holds 4096 bytes.
    let r = unsafe { pmd_negotiator_client_offer(cneg, offer.as_mut_ptr().cast(), offer.len(), &mut len) };
    assert!(allowed(r, &[PMD_OK, PMD_ERR_INVALID_ARGUMENT], &both), "offer: {r:?}");
    offer.truncate(if r == PMD_OK { len } else { 0 });
    let request = match &input.request {
        Request::Offer => offer,
        Request::Mutated { at, byte } => {
            let mut o = offer;
            if !o.is_empty() {
                let i = usize::from(*at) % o.len();
                o[i] = *byte;
            }
            o
        }
        Request::Raw(b) => b.clone(),
    };

    let mut response = vec![0u8; 4096];
    let mut rlen = 0usize;
    let mut schain = std::ptr::null_mut();
    // SAFETY: sneg is live; request and response are valid.
    let r = unsafe {
        pmd_negotiator_server_negotiate(
            sneg,
            request.as_ptr().cast(),
            request.len(),
            response.as_mut_ptr().cast(),
            response.len(),
            &mut rlen,
            &mut schain,
        )
    };
    assert!(
        allowed(
            r,
            &[
                PMD_OK,
                PMD_ERR_HEADER_SYNTAX,
                PMD_ERR_INVALID_ARGUMENT,
                PMD_ERR_NEGOTIATION
            ],
            &both
        ),
        "server negotiate: {r:?} {}",
        common::last_error()
    );
    assert_eq!(r == PMD_OK, !schain.is_null());
    if r == PMD_OK {
        response.truncate(rlen);
        let mut cchain = std::ptr::null_mut();
        // SAFETY: cneg is live; response is valid.
        let r = unsafe { pmd_negotiator_client_accept(cneg, response.as_ptr().cast(), response.len(), &mut cchain) };
        assert!(
            allowed(r, &[PMD_OK, PMD_ERR_NEGOTIATION, PMD_ERR_INVALID_ARGUMENT], &both),
            "client accept: {r:?} {}",
            common::last_error()
        );
        if r == PMD_OK {
            assert_eq!(
                names(cchain),
                names(schain),
                "both chains hold the same extensions in order"
            );
            let (mut cs, mut ss) = (None, None);
            for (from_server, msg, cuts) in input.messages.iter().take(8) {
                let msg = &msg[..msg.len().min(4096)];
                let ok = if *from_server {
                    send(schain, cchain, msg, cuts, &mut cs)
                } else {
                    send(cchain, schain, msg, cuts, &mut ss)
                };
                if !ok {
                    break;
                }
            }
            // SAFETY: cchain came from the library.
            unsafe { pmd_chain_free(cchain) };
        }
        // SAFETY: schain came from the library.
        unsafe { pmd_chain_free(schain) };
    }
    assert_eq!(LIVE_INSTANCES.with(Cell::get), 0, "every instance destroyed once");
    // SAFETY: both came from pmd_negotiator_new.
    unsafe {
        pmd_negotiator_free(cneg);
        pmd_negotiator_free(sneg);
    }
    assert_eq!(
        LIVE_USERS.with(Cell::get),
        0,
        "every factory's user data destroyed once"
    );
});
