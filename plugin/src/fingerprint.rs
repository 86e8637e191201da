//! Fingerprints: same cause, same value, across pods, restarts and versions.
//! A trace: exception type + top application frames (module and function only, generated
//! names and ids masked). No trace: the message template (numbers, ids, hex, quoted
//! values masked).

use crate::bytes::{
    contains_str, digit_bytes, digit_shape, find_str, first_hit, shape_head, word_padded,
    zero_bytes, HEAD_BYTES, ONES,
};
use crate::exception::{ExceptionInfo, Frame};
use crate::hash::{Fnv64, SLOT_MIX};
use crate::language::Language;

/// Application frames that make up a trace's fingerprint.
pub const TOP_FRAMES: usize = 5;

/// Fingerprint of an exception. Kept out of line: only events with an exception need it,
/// and where it was inlined into `event::write_group` (the `replay` example's build) its
/// constants, the framework paths' bytes among them, were copied into the frame of every
/// event's call in WAMR's interpreter.
#[inline(never)]
pub fn of_exception(exc: &ExceptionInfo) -> u64 {
    let mut h = Fnv64::default();
    let mut symbol = String::with_capacity(128);
    let mut field = |h: &mut Fnv64, s: &str| {
        symbol.clear();
        normalize_symbol_into(&mut symbol, s);
        h.write_field(&symbol);
    };
    h.write_field("exception");
    field(&mut h, &exc.kind);
    // The first TOP_FRAMES application frames, or the first frames of all when none is an
    // application frame: picked by index, so nothing is collected into a list.
    let mut app = [0usize; TOP_FRAMES];
    let mut found = 0;
    for (i, f) in exc.frames.iter().enumerate() {
        if !is_runtime_frame(exc.language, f) {
            app[found] = i;
            found += 1;
            if found == TOP_FRAMES {
                break;
            }
        }
    }
    if exc.frames.is_empty() {
        // Nothing but the type would lump every `panic` together: the message decides.
        template_into(&mut h, &exc.message);
        h.write(&[0xff]);
    }
    let mut frame = |h: &mut Fnv64, f: &Frame<'_>| {
        field(h, f.module.as_deref().unwrap_or(""));
        field(h, &f.function);
    };
    if found == 0 {
        for f in exc.frames.iter().take(TOP_FRAMES) {
            frame(&mut h, f);
        }
    } else {
        for &i in &app[..found] {
            frame(&mut h, &exc.frames[i]);
        }
    }
    h.finish()
}

/// Fingerprint of a message without a trace (`service` keeps equal templates of
/// different services apart).
pub fn of_message(service: &str, message: &str) -> u64 {
    let mut h = Fnv64::default();
    h.write_field(service);
    // The same bytes as `write_field(&template(message))`, without building the template.
    template_into(&mut h, message);
    h.write(&[0xff]);
    h.finish()
}

/// Messages longer than this are fingerprinted without the memo.
pub const MEMO_MAX_BYTES: usize = 256;
/// Slots of the memo (a power of two): a node's containers write a few message shapes each.
pub const MEMO_SLOTS: usize = 512;

/// Fingerprints of recent message shapes. A message's template does not depend on which
/// digits it has, only on where they are and whether each is `0` (for `0x`): every rule of
/// `template_into` asks a digit only for its class, and no digit is ever copied into the
/// template. So a message whose digits 1-9 are all read as `1` (its shape) has the
/// template, and with the same service the fingerprint, of every message of that shape:
/// `POST /v1/charges order=98000 amount=18.10` and `... order=98011 amount=49.10`. The memo
/// is a cache and nothing else: a fingerprint is the same whether it comes from the memo
/// or from `of_message`.
///
/// In the interpreter, reading a message's shape (eight bytes per step) and comparing it
/// with a slot's costs about a quarter of building and hashing its template.
#[derive(Default)]
pub struct MessageMemo {
    slots: Vec<MemoSlot>,
    worth: crate::memo::Worth,
}

#[derive(Default)]
struct MemoSlot {
    /// The message's length, `usize::MAX` while the slot is empty (the last word of a
    /// shape is padded with zeros, so the length tells `ab` from `ab\0`).
    len: usize,
    service: String,
    shape: Vec<u64>,
    fingerprint: u64,
    /// The message holds no id key (`header::no_id_key`), nor does one of its shape: asked
    /// when the slot first answers (a slot that never answers is not asked).
    ids_clear: Option<bool>,
}

impl MessageMemo {
    /// `of_message(service, message)`, from the memo when a message of the same shape and
    /// service was fingerprinted recently; and, when it was, whether the message holds no
    /// id key (`header::no_id_key`: the search for ids may pass over it). `false` when not
    /// known. (Inline into its one caller, the per-event path: in `cali.wasm`'s own build
    /// LLVM kept it a call, which copies its constants into a new frame in the interpreter.)
    #[inline(always)]
    pub fn of_message(&mut self, service: &str, message: &str) -> (u64, bool) {
        let b = message.as_bytes();
        if b.len() > MEMO_MAX_BYTES || !self.worth.ask() {
            return (of_message(service, message), false);
        }
        if self.slots.is_empty() {
            self.slots.resize_with(MEMO_SLOTS, || MemoSlot {
                len: usize::MAX,
                ..MemoSlot::default()
            });
        }
        // The slot: a multiply-xor chain over the length, the service's length and first
        // bytes, and the shape of the message's first `HEAD_BYTES` bytes and of its last
        // eight (from the top of the product, where every input bit reaches). Only the slot
        // depends on it: an answer is checked against the slot whole. The first words'
        // shapes serve that check too.
        let mut h = (b.len() as u64 ^ (service.len() as u64) << 32).wrapping_mul(SLOT_MIX);
        h = (h ^ first_word(service.as_bytes())).wrapping_mul(SLOT_MIX);
        // (Padded at the length or at `HEAD_BYTES`, a multiple of eight: each is the
        // shape's word, as `shape_words` pads it.)
        let (head, mut h) = shape_head(b, h);
        if b.len() > HEAD_BYTES {
            let last = digit_shape(word_padded(b, b.len() - 8, b.len()));
            h = (h ^ last).wrapping_mul(SLOT_MIX);
        }
        let slot = &mut self.slots[(h >> SLOT_SHIFT) as usize];
        if slot.len == b.len()
            && crate::json::same_bytes(slot.service.as_bytes(), service.as_bytes())
            && slot.shape.iter().enumerate().all(|(k, &w)| {
                let s = match head.get(k) {
                    Some(&s) => s,
                    None => digit_shape(word_padded(b, k * 8, b.len())),
                };
                s == w
            })
        {
            self.worth.answered(true);
            let ids_clear = *slot
                .ids_clear
                .get_or_insert_with(|| crate::header::no_id_key(b));
            return (slot.fingerprint, ids_clear);
        }
        self.worth.answered(false);
        let fingerprint = of_message(service, message);
        slot.len = b.len();
        slot.service.clear();
        slot.service.push_str(service);
        slot.shape.clear();
        slot.shape.extend(shape_words(b));
        slot.fingerprint = fingerprint;
        slot.ids_clear = None;
        (fingerprint, false)
    }
}

/// The product's top bits that pick one of `MEMO_SLOTS`.
const SLOT_SHIFT: u32 = 64 - MEMO_SLOTS.trailing_zeros();

/// The first eight bytes of `b` (fewer padded with zeros) as a word.
fn first_word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = b.len().min(8);
    w[..n].copy_from_slice(&b[..n]);
    u64::from_le_bytes(w)
}

/// The shape of `b` a word at a time, the last padded with zeros (`MessageMemo`'s key).
fn shape_words(b: &[u8]) -> impl Iterator<Item = u64> + '_ {
    (0..b.len().div_ceil(8)).map(|k| digit_shape(word_padded(b, k * 8, b.len())))
}

/// Runtime, standard-library and framework frames: they say where the error travelled,
/// not where it comes from, and change with library versions.
fn is_runtime_frame(lang: Option<Language>, f: &Frame) -> bool {
    let module = f.module.as_deref().unwrap_or("");
    let file = f.file.as_deref().unwrap_or("");
    // The first byte is compared first: most prefixes are ruled out without a memcmp,
    // which the interpreter runs byte by byte.
    let first = module.as_bytes().first().copied();
    let starts = |prefixes: &[&str]| {
        prefixes
            .iter()
            .any(|p| p.as_bytes().first().copied() == first && module.starts_with(p))
    };
    match lang {
        Some(Language::Java) => starts(&[
            "java.",
            "javax.",
            "jakarta.",
            "sun.",
            "jdk.",
            "com.sun.",
            "kotlin.",
            "kotlinx.",
            "scala.",
            "akka.",
            "org.springframework.",
            "org.apache.catalina.",
            "org.apache.tomcat.",
            "org.apache.coyote.",
            "org.eclipse.jetty.",
            "org.mortbay.",
            "io.netty.",
            "reactor.",
            "org.hibernate.",
            "org.junit.",
            "groovy.",
            "org.codehaus.groovy.",
        ]),
        Some(Language::Dotnet) => starts(&["System.", "Microsoft.", "Mono."]) || module == "System",
        Some(Language::Python) => {
            contains_str(file, "/lib/python")
                || contains_str(file, "site-packages/")
                || contains_str(file, "dist-packages/")
                || file.starts_with("<frozen ")
        }
        Some(Language::Go) => {
            module.is_empty()
                || matches!(
                    module.split('/').next().unwrap_or(""),
                    "runtime" | "reflect" | "sync" | "testing" | "syscall" | "internal" | "os"
                )
                || module == "net/http"
                || module == "net"
        }
        Some(Language::Node) => {
            file.starts_with("node:")
                || file.starts_with("internal/")
                || contains_str(file, "node_modules/")
        }
        Some(Language::Ruby) => {
            contains_str(file, "/gems/")
                || contains_str(file, "/ruby/")
                || (!module.is_empty() && file.strip_suffix(".rb") != Some(module))
        }
        Some(Language::Php) => {
            file.is_empty() || contains_str(file, "/vendor/") || f.function == "{main}"
        }
        Some(Language::Rust) => {
            starts(&[
                "std::", "core::", "alloc::", "tokio::", "<std", "<core", "<alloc",
            ]) || f.function.starts_with("__rust")
                || f.function == "rust_begin_unwind"
        }
        Some(Language::Dart) => file.starts_with("dart:"),
        None => false,
    }
}

/// A module or function name without its generated parts: Java `lambda$foo$3`,
/// `$$EnhancerByCGLIB$$ab12`, anonymous `$1`; Go `func1`; .NET `<Method>d__2` and generic
/// arity; Ruby `block (2 levels) in`; addresses `0x7f..`.
pub fn normalize_symbol(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    normalize_symbol_into(&mut out, s);
    out
}

/// Appends `normalize_symbol(s)` to `out`.
pub fn normalize_symbol_into(out: &mut String, s: &str) {
    let mut s = s;
    for cut in ["$$", "/0x"] {
        if let Some(p) = find_str(s, cut) {
            s = &s[..p];
        }
    }
    for prefix in ["block in ", "rescue in ", "ensure in "] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest;
        }
    }
    if s.starts_with("block (") {
        if let Some(p) = find_str(s, " in ") {
            s = &s[p + 4..];
        }
    }
    let start = out.len();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        // Everything but `<`, '`' and digits is copied as it is, a stretch at a time.
        if c != b'<' && c != b'`' && !c.is_ascii_digit() {
            let run = i;
            i = first_hit(b, i, |v| {
                digit_bytes(v)
                    | zero_bytes(v ^ (ONES * u64::from(b'<')))
                    | zero_bytes(v ^ (ONES * u64::from(b'`')))
            });
            out.push_str(&s[run..i]);
            continue;
        }
        // .NET compiler-generated `<Name>d__2`: keep Name, drop the suffix.
        if c == b'<' {
            if let Some(close) = s[i..].find('>') {
                let inner = &s[i + 1..i + close];
                let after = &b[i + close + 1..];
                let generated = after.len() >= 3
                    && after[0].is_ascii_lowercase()
                    && after[1] == b'_'
                    && after[2] == b'_';
                if generated && !inner.is_empty() {
                    out.push_str(inner);
                    i += close + 1;
                    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                        i += 1;
                    }
                    continue;
                }
            }
        }
        // Generic arity and arguments: Dictionary`2[System.String,...].
        if c == b'`' {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i < b.len() && b[i] == b'[' {
                let mut depth = 0;
                while i < b.len() {
                    match b[i] {
                        b'[' => depth += 1,
                        b']' => {
                            depth -= 1;
                            if depth == 0 {
                                i += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            continue;
        }
        if c == b'0' && b.get(i + 1) == Some(&b'x') {
            out.push('#');
            i += 2;
            while i < b.len() && b[i].is_ascii_hexdigit() {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_digit() {
            // Digits glued to a generated marker are ids: `$3`, `func1`, `_0`, `.3`.
            let prev = if i > 0 { b[i - 1] } else { b' ' };
            let generated =
                matches!(prev, b'$' | b'_' | b'.' | b'-') || out[start..].ends_with("func");
            if generated {
                out.push('#');
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                continue;
            }
        }
        // An ASCII byte (`<` without a generated suffix, a digit that is not an id).
        out.push(char::from(c));
        i += 1;
    }
}

/// Where a template goes: a `String` to show it, or straight into the fingerprint's hash
/// (which then sees the same bytes without a `String` being built).
pub trait TemplateOut {
    fn put(&mut self, s: &str);
}

impl TemplateOut for String {
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

impl TemplateOut for Fnv64 {
    fn put(&mut self, s: &str) {
        self.write(s.as_bytes());
    }
}

/// The message with its variable parts masked: numbers `<num>`, UUIDs `<uuid>`, hex ids
/// `<hex>`, IP addresses `<ip>`, e-mail addresses `<email>`, quoted values `"*"`.
pub fn template(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    template_into(&mut out, message);
    out
}

/// Writes the template of `message` to `out`, unchanged stretches as whole slices.
///
/// Only a quote, a digit or an '@' can start something masked, so the scan jumps from one
/// of those to the next eight bytes per step (most of a message is plain words and
/// spaces); a digit or '@' then takes the whole word around it.
pub fn template_into(out: &mut impl TemplateOut, message: &str) {
    let b = message.as_bytes();
    let mut i = 0;
    // Start of the stretch copied as it is, written when something masked follows.
    let mut plain = 0;
    loop {
        let t = next_candidate(b, i);
        if t >= b.len() {
            break;
        }
        let c = b[t];
        let class = CLASS[usize::from(c)];
        if class & QUOTE != 0 {
            // `don't`: an apostrophe inside a word quotes nothing.
            if !(c == b'\'' && t > 0 && b[t - 1].is_ascii_alphanumeric()) {
                let close = crate::bytes::find(b, t + 1, c);
                if close < b.len() {
                    out.put(&message[plain..t]);
                    out.put(match c {
                        b'"' => "\"*\"",
                        b'\'' => "'*'",
                        _ => "`*`",
                    });
                    i = close + 1;
                    plain = i;
                    continue;
                }
            }
            i = t + 1;
            continue;
        }
        if class & (DIGIT | AT) == 0 {
            // `#` or `&`: the word test lets them through, they are plain.
            i = t + 1;
            continue;
        }
        // The word around the digit or '@': words start no earlier than `i`, where the
        // previous word, quote or masked value ended. Its bytes' classes are gathered on
        // the way, for `push_classified`.
        let mut classes = Classes::of(CLASS[usize::from(c)]);
        let mut start = t;
        while start > i {
            let k = CLASS[usize::from(b[start - 1])];
            if k & WORD == 0 {
                break;
            }
            start -= 1;
            classes.add(k);
        }
        let mut end = t + 1;
        while end < b.len() {
            let k = CLASS[usize::from(b[end])];
            if k & WORD == 0 {
                break;
            }
            classes.add(k);
            end += 1;
        }
        i = end;
        // A trailing '.', ':' or '-' is punctuation, not part of the value.
        let whole = end;
        while end > start + 1 && matches!(b[end - 1], b'.' | b':' | b'-') {
            end -= 1;
        }
        out.put(&message[plain..start]);
        let word = &message[start..end];
        if end == whole {
            if !push_number(out, word, classes) {
                push_classified(out, word, classes);
            }
        } else {
            push_masked(out, word);
        }
        plain = end;
    }
    out.put(&message[plain..]);
}

/// What the template asks of a byte, one table lookup for all questions.
const WORD: u8 = 1; // part of a word: alphanumeric or one of `_.:-@/+`
const DIGIT: u8 = 2;
const AT: u8 = 4;
const QUOTE: u8 = 8; // `"`, `'` or '`'
const NUMERIC: u8 = 16; // digit or one of `.:-+/`: a word of these only is a number
const HEXISH: u8 = 32; // hex digit, ':' or '-'
const SLASH: u8 = 64;
const DOT: u8 = 128;

const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let mut k = 0;
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-' | b'@' | b'/' | b'+')
        {
            k |= WORD;
        }
        if b.is_ascii_digit() {
            k |= DIGIT | NUMERIC;
        }
        if b == b'@' {
            k |= AT;
        }
        if matches!(b, b'"' | b'\'' | b'`') {
            k |= QUOTE;
        }
        if matches!(b, b'.' | b':' | b'-' | b'+' | b'/') {
            k |= NUMERIC;
        }
        if b.is_ascii_hexdigit() || matches!(b, b':' | b'-') {
            k |= HEXISH;
        }
        if b == b'/' {
            k |= SLASH;
        }
        if b == b'.' {
            k |= DOT;
        }
        t[c] = k;
        c += 1;
    }
    t
};

/// The index of the first byte at or after `from` that may start something masked (a
/// quote, a digit, '@'; also `#` and `&`, which share a test with the quotes), or
/// `bytes.len()`.
fn next_candidate(bytes: &[u8], from: usize) -> usize {
    first_hit(bytes, from, |v| {
        // `"` 0x22 and `'` 0x27 (with `#`, `&`) once bits 0 and 2 are cleared; `@` 0x40
        // and '`' 0x60 once bit 5 is set.
        let quote = zero_bytes((v & !(ONES * 0x05)) ^ (ONES * 0x22));
        let at = zero_bytes((v | (ONES * 0x20)) ^ (ONES * 0x60));
        digit_bytes(v) | quote | at
    })
}

/// What a word is made of: the classes some of its bytes have (`any`) and the classes all
/// of them have (`all`).
#[derive(Clone, Copy)]
struct Classes {
    any: u8,
    all: u8,
}

impl Classes {
    /// The classes of one byte, `k`.
    fn of(k: u8) -> Self {
        Self { any: k, all: k }
    }

    /// Adds a byte of classes `k`.
    fn add(&mut self, k: u8) {
        self.any |= k;
        self.all &= k;
    }
}

#[inline(always)]
fn push_masked(out: &mut impl TemplateOut, word: &str) {
    let b = word.as_bytes();
    // One pass for every question asked of the word.
    let mut classes = Classes { any: 0, all: !0 };
    for &c in b {
        classes.add(CLASS[usize::from(c)]);
    }
    if !push_number(out, word, classes) {
        push_classified(out, word, classes);
    }
}

/// `push_classified` for a number (`98000`, `18.10`, `13:45`, `2026-11-20`), the most
/// common masked word, answered inline: in the interpreter the call costs more than this.
/// A UUID of digits alone is 36 bytes long. Returns false, having written nothing, for any
/// other word.
#[inline(always)]
fn push_number(out: &mut impl TemplateOut, word: &str, classes: Classes) -> bool {
    if classes.all & NUMERIC == 0 || classes.any & (AT | DIGIT) != DIGIT {
        return false;
    }
    out.put(if classes.any & DOT != 0 && is_ipv4(word) {
        "<ip>"
    } else if word.len() == 36 && is_uuid(word.as_bytes()) {
        "<uuid>"
    } else {
        "<num>"
    });
    true
}

/// `push_masked` for a word whose classes are known.
fn push_classified(out: &mut impl TemplateOut, word: &str, classes: Classes) {
    let b = word.as_bytes();
    let Classes { any, all } = classes;
    // (Where the first '@' is, asked only of the few words that have one.)
    if any & AT != 0 && {
        let first_at = crate::bytes::find(b, 0, b'@');
        first_at > 0 && crate::bytes::find(b, first_at, b'.') < b.len()
    } {
        out.put("<email>");
        return;
    }
    if any & DIGIT == 0 {
        out.put(word);
        return;
    }
    if is_uuid(b) {
        out.put("<uuid>");
    } else if any & DOT != 0 && is_ipv4(word) {
        out.put("<ip>");
    } else if all & NUMERIC != 0 {
        out.put("<num>");
    } else if is_hex(b, all) {
        out.put("<hex>");
    } else if any & SLASH != 0 {
        // A path or URL: mask each segment on its own.
        let mut seg_start = 0;
        loop {
            let seg_end = crate::bytes::find(b, seg_start, b'/');
            let seg = &word[seg_start..seg_end];
            if crate::bytes::find_digit(seg.as_bytes(), 0) < seg.len() {
                push_masked(out, seg);
            } else {
                out.put(seg);
            }
            if seg_end == b.len() {
                break;
            }
            out.put("/");
            seg_start = seg_end + 1;
        }
    } else {
        // Mixed word (`user42`, `req-7f3a`): mask its digit runs. Digits are ASCII, so the
        // runs between them are whole chars and go out as slices.
        let mut run_start = 0;
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_digit() {
                out.put(&word[run_start..i]);
                out.put("<num>");
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                run_start = i;
            } else {
                i += 1;
            }
        }
        out.put(&word[run_start..]);
    }
}

/// Hex digits with ':' or '-', at least 8 bytes long or after a `0x` (every leading `0x`
/// is dropped). `all` holds the classes every byte of `b` has.
fn is_hex(b: &[u8], all: u8) -> bool {
    if !b.starts_with(b"0x") {
        return b.len() >= 8 && all & HEXISH != 0;
    }
    let mut rest = b;
    while let Some(r) = rest.strip_prefix(b"0x") {
        rest = r;
    }
    rest.iter().all(|&c| CLASS[usize::from(c)] & HEXISH != 0)
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// `a.b.c.d` or `a.b.c.d:port`, each part 1-3 digits (checked in place: this runs on every
/// word with a digit).
fn is_ipv4(word: &str) -> bool {
    let b = word.as_bytes();
    let host = &b[..crate::bytes::find(b, 0, b':')];
    let mut parts = 0;
    let mut run = 0;
    for &c in host {
        if c == b'.' {
            if run == 0 {
                return false;
            }
            parts += 1;
            run = 0;
        } else if c.is_ascii_digit() && run < 3 {
            run += 1;
        } else {
            return false;
        }
    }
    run > 0 && parts == 3
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The template as it was first written, byte by byte: the fast scan must give the
    /// same bytes, since fingerprints are stable identifiers.
    mod reference {
        use super::super::{is_ipv4, is_uuid};
        use crate::bytes::find_str;

        pub fn template_into(out: &mut String, message: &str) {
            let b = message.as_bytes();
            let mut i = 0;
            // Start of the stretch copied as it is, written when something masked follows.
            let mut plain = 0;
            while i < b.len() {
                let c = b[i];
                if c == b'"' || c == b'\'' || c == b'`' {
                    let prev_alnum = i > 0 && b[i - 1].is_ascii_alphanumeric();
                    if !(c == b'\'' && prev_alnum) {
                        if let Some(len) = b[i + 1..].iter().position(|&q| q == c) {
                            out.push_str(&message[plain..i]);
                            out.push_str(match c {
                                b'"' => "\"*\"",
                                b'\'' => "'*'",
                                _ => "`*`",
                            });
                            i += len + 2;
                            plain = i;
                            continue;
                        }
                    }
                }
                if is_word_byte(c) {
                    let start = i;
                    let mut digits = false;
                    while i < b.len() && is_word_byte(b[i]) {
                        digits |= b[i].is_ascii_digit();
                        i += 1;
                    }
                    // A word without digits or '@' is never masked: it stays in the plain stretch.
                    if !digits && !b[start..i].contains(&b'@') {
                        continue;
                    }
                    // A trailing '.', ':' or '-' is punctuation, not part of the value.
                    let mut end = i;
                    while end > start + 1 && matches!(b[end - 1], b'.' | b':' | b'-') {
                        end -= 1;
                    }
                    out.push_str(&message[plain..start]);
                    push_masked(out, &message[start..end]);
                    plain = end;
                    continue;
                }
                // Any other byte (punctuation, spaces, the bytes of a non-ASCII char) is copied.
                i += 1;
            }
            out.push_str(&message[plain..]);
        }

        fn is_word_byte(c: u8) -> bool {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'-' | b'@' | b'/' | b'+')
        }

        fn push_masked(out: &mut String, word: &str) {
            let b = word.as_bytes();
            // One pass for both questions asked of every word.
            let mut digits = 0;
            let mut first_at = None;
            for (i, &c) in b.iter().enumerate() {
                if c.is_ascii_digit() {
                    digits += 1;
                } else if c == b'@' && first_at.is_none() {
                    first_at = Some(i);
                }
            }
            if let Some(at) = first_at {
                if at > 0 && word[at..].contains('.') {
                    out.push_str("<email>");
                    return;
                }
            }
            if digits == 0 {
                out.push_str(word);
                return;
            }
            if is_uuid(b) {
                out.push_str("<uuid>");
            } else if is_ipv4(word) {
                out.push_str("<ip>");
            } else if b
                .iter()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b':' | b'-' | b'+' | b'/'))
            {
                out.push_str("<num>");
            } else if (b.len() >= 8 || word.starts_with("0x"))
                && word
                    .trim_start_matches("0x")
                    .bytes()
                    .all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'-')
            {
                out.push_str("<hex>");
            } else if word.contains('/') {
                // A path or URL: mask each segment on its own.
                for (n, seg) in word.split('/').enumerate() {
                    if n > 0 {
                        out.push('/');
                    }
                    if seg.bytes().any(|c| c.is_ascii_digit()) && seg != word {
                        push_masked(out, seg);
                    } else {
                        out.push_str(seg);
                    }
                }
            } else {
                // Mixed word (`user42`, `req-7f3a`): mask its digit runs. Digits are ASCII, so the
                // runs between them are whole chars and go out as slices.
                let mut run_start = 0;
                let mut i = 0;
                while i < b.len() {
                    if b[i].is_ascii_digit() {
                        out.push_str(&word[run_start..i]);
                        out.push_str("<num>");
                        while i < b.len() && b[i].is_ascii_digit() {
                            i += 1;
                        }
                        run_start = i;
                    } else {
                        i += 1;
                    }
                }
                out.push_str(&word[run_start..]);
            }
        }

        pub fn normalize_symbol_into(out: &mut String, s: &str) {
            let mut s = s;
            for cut in ["$$", "/0x"] {
                if let Some(p) = find_str(s, cut) {
                    s = &s[..p];
                }
            }
            for prefix in ["block in ", "rescue in ", "ensure in "] {
                if let Some(rest) = s.strip_prefix(prefix) {
                    s = rest;
                }
            }
            if s.starts_with("block (") {
                if let Some(p) = find_str(s, " in ") {
                    s = &s[p + 4..];
                }
            }
            let start = out.len();
            let b = s.as_bytes();
            let mut i = 0;
            while i < b.len() {
                let c = b[i];
                // Everything but `<`, '`' and digits is copied as it is, a stretch at a time.
                if c != b'<' && c != b'`' && !c.is_ascii_digit() {
                    let run = i;
                    while i < b.len() && b[i] != b'<' && b[i] != b'`' && !b[i].is_ascii_digit() {
                        i += 1;
                    }
                    out.push_str(&s[run..i]);
                    continue;
                }
                // .NET compiler-generated `<Name>d__2`: keep Name, drop the suffix.
                if c == b'<' {
                    if let Some(close) = s[i..].find('>') {
                        let inner = &s[i + 1..i + close];
                        let after = &b[i + close + 1..];
                        let generated = after.len() >= 3
                            && after[0].is_ascii_lowercase()
                            && after[1] == b'_'
                            && after[2] == b'_';
                        if generated && !inner.is_empty() {
                            out.push_str(inner);
                            i += close + 1;
                            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                                i += 1;
                            }
                            continue;
                        }
                    }
                }
                // Generic arity and arguments: Dictionary`2[System.String,...].
                if c == b'`' {
                    i += 1;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    if i < b.len() && b[i] == b'[' {
                        let mut depth = 0;
                        while i < b.len() {
                            match b[i] {
                                b'[' => depth += 1,
                                b']' => {
                                    depth -= 1;
                                    if depth == 0 {
                                        i += 1;
                                        break;
                                    }
                                }
                                _ => {}
                            }
                            i += 1;
                        }
                    }
                    continue;
                }
                if c == b'0' && b.get(i + 1) == Some(&b'x') {
                    out.push('#');
                    i += 2;
                    while i < b.len() && b[i].is_ascii_hexdigit() {
                        i += 1;
                    }
                    continue;
                }
                if c.is_ascii_digit() {
                    // Digits glued to a generated marker are ids: `$3`, `func1`, `_0`, `.3`.
                    let prev = if i > 0 { b[i - 1] } else { b' ' };
                    let generated =
                        matches!(prev, b'$' | b'_' | b'.' | b'-') || out[start..].ends_with("func");
                    if generated {
                        out.push('#');
                        while i < b.len() && b[i].is_ascii_digit() {
                            i += 1;
                        }
                        continue;
                    }
                }
                // An ASCII byte (`<` without a generated suffix, a digit that is not an id).
                out.push(char::from(c));
                i += 1;
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn template_matches_the_byte_by_byte_reference(
            message in "[a-f0-9xA-Z .:/@_+\\-\"'`#&é]{0,40}"
        ) {
            let mut expected = String::new();
            reference::template_into(&mut expected, &message);
            proptest::prop_assert_eq!(template(&message), expected);
        }
    }

    proptest::proptest! {
        #[test]
        fn symbols_normalize_as_the_byte_by_byte_reference(
            symbol in "[a-zA-Z0-9$<>`_.\\[\\],/x ]{0,40}"
        ) {
            let mut expected = String::new();
            reference::normalize_symbol_into(&mut expected, &symbol);
            proptest::prop_assert_eq!(normalize_symbol(&symbol), expected);
        }
    }

    /// A message's shape as `MessageMemo` reads it, byte by byte: digits 1-9 read as `1`.
    fn shape_of(message: &str) -> Vec<u8> {
        message
            .bytes()
            .map(|c| if matches!(c, b'1'..=b'9') { b'1' } else { c })
            .collect()
    }

    proptest::proptest! {
        /// What the memo rests on: messages of one shape have one template.
        #[test]
        fn messages_of_one_shape_have_one_template(
            message in "[a-f0-9xA-Z .:/@_+\\-\"'`#&é]{0,60}",
            digits in proptest::collection::vec(1u8..=9, 60)
        ) {
            let mut other = message.clone().into_bytes();
            let mut next = digits.iter().cycle();
            for c in &mut other {
                if matches!(*c, b'1'..=b'9') {
                    *c = b'0' + next.next().copied().unwrap_or(1);
                }
            }
            let other = String::from_utf8(other).unwrap();
            proptest::prop_assert_eq!(shape_of(&other), shape_of(&message));
            proptest::prop_assert_eq!(template(&other), template(&message));
        }

        /// The memo answers what `of_message` does, whatever it holds: messages are asked
        /// about in turn, many shapes (more than it has slots) under two services, each
        /// asked twice and some asked again much later.
        #[test]
        fn the_memo_gives_the_fingerprint_of_message(
            messages in proptest::collection::vec("[a-f0-9xA-Z .:/@_\\-\"'é\\x00]{0,24}", 1..40),
            copies in 1usize..40
        ) {
            let mut memo = MessageMemo::default();
            for round in 0..copies {
                for (i, m) in messages.iter().enumerate() {
                    let m = format!("{m} {round}{i} {}", "x".repeat(round % 3));
                    for service in ["", "pay"] {
                        let expected = of_message(service, &m);
                        for _ in 0..2 {
                            let (fingerprint, ids_clear) = memo.of_message(service, &m);
                            proptest::prop_assert_eq!(fingerprint, expected);
                            // Only a message that holds no id key is said to hold none.
                            proptest::prop_assert!(
                                !ids_clear || crate::header::no_id_key(m.as_bytes()),
                                "{:?}", m
                            );
                        }
                    }
                }
            }
            for m in &messages {
                proptest::prop_assert_eq!(memo.of_message("pay", m).0, of_message("pay", m));
            }
        }
    }

    /// Messages of every length up to past the bytes that pick a slot: one of a remembered
    /// shape is answered from the memo, and one of the same length with another shape at any
    /// place (within the first words, between them and the last, in the last) gets its own
    /// fingerprint.
    #[test]
    fn the_memo_answers_messages_of_a_remembered_shape_at_every_length() {
        for len in 1..=100 {
            let text = |d: u8| -> Vec<u8> {
                (0..len)
                    .map(|i| if i % 5 == 4 { d } else { b'a' + (i % 26) as u8 })
                    .collect()
            };
            let (a, b) = (text(b'1'), text(b'7'));
            let (a, b) = (
                std::str::from_utf8(&a).unwrap(),
                std::str::from_utf8(&b).unwrap(),
            );
            let mut memo = MessageMemo::default();
            assert_eq!(memo.of_message("pay", a), (of_message("pay", a), false));
            // (Only an answer from the memo says whether the message holds an id key.)
            assert_eq!(
                memo.of_message("pay", b),
                (of_message("pay", b), true),
                "{b:?} was not answered from the memo"
            );
            for at in 0..len {
                let mut c = b.as_bytes().to_vec();
                c[at] = if c[at] == b'Z' { b'Y' } else { b'Z' };
                let c = std::str::from_utf8(&c).unwrap();
                assert_eq!(memo.of_message("pay", c).0, of_message("pay", c), "{c:?}");
                assert_eq!(memo.of_message("pay", b).0, of_message("pay", b), "{c:?}");
            }
        }
    }

    #[test]
    fn the_memo_tells_apart_what_the_template_does() {
        let mut memo = MessageMemo::default();
        // Pairs the memo must not take for one another: a `0` before `x` (hex or not), a
        // service, a trailing NUL (the padding of a shape's last word), a length (eight
        // hex digits are `<hex>`, seven a word with a number).
        let pairs = [
            ("a", "id 0x5 done", "a", "id 1x5 done"),
            ("a", "order 42", "b", "order 42"),
            ("a", "abcdefgh", "a", "abcdefgh\0"),
            ("a", "id deadbe1 x", "a", "id deadbee1 x"),
            ("a", "n=7", "", "n=7"),
        ];
        for (sa, a, sb, b) in pairs {
            let (fa, fb) = (of_message(sa, a), of_message(sb, b));
            assert_ne!(fa, fb, "{a:?} {b:?}");
            for _ in 0..2 {
                assert_eq!(memo.of_message(sa, a).0, fa, "{a:?}");
                assert_eq!(memo.of_message(sb, b).0, fb, "{b:?}");
            }
        }
        // A long message is answered without the memo, the same.
        let long = format!("{} 42", "word ".repeat(MEMO_MAX_BYTES / 5));
        assert_eq!(memo.of_message("a", &long).0, of_message("a", &long));
        // One shape, many messages: the digits do not matter.
        let first = memo
            .of_message("a", "POST /v1/charges order=98000 amount=18.10 EUR")
            .0;
        assert_eq!(
            first,
            of_message("a", "POST /v1/charges order=11111 amount=11.11 EUR")
        );
        assert_eq!(
            memo.of_message("a", "POST /v1/charges order=98011 amount=49.10 EUR")
                .0,
            first
        );
    }

    #[test]
    fn template_matches_the_reference_on_typical_messages() {
        for message in [
            "GET /api/v1/orders/12345 HTTP/1.1 200 512 \"-\" \"curl/8.1\"",
            "user bob@example.com logged in from 10.0.0.12:5522",
            "don't retry 'order-42' after 3 attempts; see `cfg` #7 & #8",
            "0x0xdeadbeef 0x 0x1g deadbeef-0042: 3f2b8c1e-9a7d-4c1e-8f00-2b3c4d5e6f70.",
            "paths /v2/items/77a/b8 and ./a/1 and 1/2/3 and a@b and @home.",
            "trailing punctuation 42. 42: 42- x-1.0-- é9 ünïcode 12ü",
            "'unclosed \"quote `here 5",
            "numbers 98000 18.10 13:45:00 2026-11-20 +7 1/2 10.1.2.3 10.1.2.3:80 1.2.3",
            "a UUID of digits 12345678-1234-1234-1234-123456789012 and one short 1234-5678",
        ] {
            let mut expected = String::new();
            reference::template_into(&mut expected, message);
            assert_eq!(template(message), expected, "{message}");
        }
    }

    #[test]
    fn ipv4_addresses_with_or_without_port() {
        for yes in ["10.1.2.3", "10.1.2.3:8080", "255.255.255.255", "0.0.0.0:"] {
            assert!(is_ipv4(yes), "{yes}");
        }
        for no in [
            "10.1.2",
            "10.1.2.3.4",
            "1000.1.2.3",
            "10..2.3",
            "10.1.2.",
            ".1.2.3",
            "a.b.c.d",
            "10.1.2.3x",
            "",
        ] {
            assert!(!is_ipv4(no), "{no}");
        }
    }
    use crate::exception::extract;

    fn fp(text: &str, lang: Language) -> u64 {
        let exc = extract(text, Some(lang)).expect("an exception");
        of_exception(&exc)
    }

    const JAVA: &str = "java.lang.IllegalStateException: order 42 missing\n\
        \tat com.acme.billing.PaymentService.lambda$charge$3(PaymentService.java:88)\n\
        \tat com.acme.billing.PaymentService$1.run(PaymentService.java:120)\n\
        \tat com.acme.billing.PaymentService$$EnhancerBySpringCGLIB$$4f2a1b.charge(<generated>)\n\
        \tat java.base/java.lang.Thread.run(Thread.java:833)";

    #[test]
    fn java_line_numbers_lambda_numbers_and_proxies_do_not_change_it() {
        let other = JAVA
            .replace(":88)", ":91)")
            .replace("lambda$charge$3", "lambda$charge$7")
            .replace("PaymentService$1", "PaymentService$2")
            .replace("4f2a1b", "99ccee")
            .replace("order 42", "order 43")
            .replace(":833)", ":1589)");
        assert_eq!(fp(JAVA, Language::Java), fp(&other, Language::Java));
    }

    #[test]
    fn another_type_or_top_application_frame_changes_it() {
        let other_type = JAVA.replace("IllegalStateException", "IllegalArgumentException");
        assert_ne!(fp(JAVA, Language::Java), fp(&other_type, Language::Java));
        let other_frame = JAVA.replace("lambda$charge$3", "lambda$refund$3");
        assert_ne!(fp(JAVA, Language::Java), fp(&other_frame, Language::Java));
    }

    #[test]
    fn runtime_frames_are_skipped() {
        // Only the java.* frame differs: it is not an application frame.
        let other = JAVA.replace("java.lang.Thread.run", "java.lang.Thread.runWith");
        assert_eq!(fp(JAVA, Language::Java), fp(&other, Language::Java));
    }

    const GO: &str = "panic: runtime error: index out of range [3] with length 3\n\n\
        goroutine 7 [running]:\n\
        main.(*Server).handle.func1(0xc000010000)\n\
        \t/app/server.go:41 +0x1d\n\
        main.(*Server).handle(0xc000010000, 0x3)\n\
        \t/app/server.go:38 +0x85\n\
        created by main.main\n\
        \t/app/main.go:12 +0x6f";

    #[test]
    fn go_addresses_goroutine_ids_and_func_numbers_do_not_change_it() {
        let other = GO
            .replace("goroutine 7", "goroutine 1234")
            .replace("0xc000010000", "0xc0000a2000")
            .replace("+0x1d", "+0x2f")
            .replace("func1", "func2")
            .replace(":41", ":44");
        assert_eq!(fp(GO, Language::Go), fp(&other, Language::Go));
        let other_fn = GO.replace("(*Server).handle(", "(*Server).serve(");
        assert_ne!(fp(GO, Language::Go), fp(&other_fn, Language::Go));
    }

    #[test]
    fn dotnet_state_machines_and_python_addresses_are_masked() {
        assert_eq!(
            normalize_symbol("App.Orders.<PlaceOrder>d__12"),
            normalize_symbol("App.Orders.<PlaceOrder>d__3")
        );
        assert_eq!(
            normalize_symbol("App.Orders.<PlaceOrder>d__12"),
            "App.Orders.PlaceOrder"
        );
        assert_eq!(
            normalize_symbol("Dictionary`2[System.String,System.Int32]"),
            "Dictionary"
        );
        assert_eq!(normalize_symbol("block (2 levels) in call"), "call");
        let py =
            "Traceback (most recent call last):\n  File \"/app/jobs.py\", line 9, in run\n    \
            handler(<Job object at 0x7f3a2b1c>)\nKeyError: 'user-481'";
        let py2 = py
            .replace("0x7f3a2b1c", "0x7f00aa11")
            .replace("line 9", "line 12");
        assert_eq!(fp(py, Language::Python), fp(&py2, Language::Python));
    }

    #[test]
    fn templates_mask_variable_parts() {
        assert_eq!(
            template("user 123 not found"),
            template("user 456 not found")
        );
        assert_eq!(template("user 123 not found"), "user <num> not found");
        assert_eq!(
            template("request 3f2b8c1e-9a7d-4c1e-8f00-2b3c4d5e6f70 from 10.1.2.3:8080 failed"),
            "request <uuid> from <ip> failed"
        );
        assert_eq!(
            template("mail to bob@example.com bounced: 'quota exceeded'"),
            "mail to <email> bounced: '*'"
        );
        assert_eq!(
            template("object deadbeef0042 locked"),
            "object <hex> locked"
        );
        assert_eq!(template("don't retry"), "don't retry");
        assert_ne!(template("user 1 not found"), template("order 1 not found"));
    }

    #[test]
    fn message_fingerprints_separate_services() {
        assert_eq!(
            of_message("billing", "timeout after 30s"),
            of_message("billing", "timeout after 45s")
        );
        assert_ne!(
            of_message("billing", "timeout after 30s"),
            of_message("search", "timeout after 30s")
        );
    }
}
