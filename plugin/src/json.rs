//! Just enough JSON for the per-record path: split a record into its top-level members
//! as raw text spans (validating as it goes), unescape the few strings CALI reads, and
//! write escaped strings. A general parse + re-serialise of every record would cost more
//! than the whole filter's budget inside Fluent Bit's interpreter.

use std::borrow::Cow;

/// Nesting deeper than this (the record's own object included) is rejected, so hostile
/// input cannot make the validator's bit stack of open containers overflow.
pub const MAX_DEPTH: usize = 128;

/// One top-level member of an object: its unescaped key and its value's raw JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member<'a> {
    pub key: Cow<'a, str>,
    /// The value exactly as written (`"text"`, `12`, `{...}`, `[...]`, `true`, `null`).
    pub value: &'a str,
    /// For a string value, whether it has escapes, as its scan found (`None`: not known).
    pub escapes: Option<bool>,
    /// The id of the `KnownValue` this value is, when it is one.
    pub known: Option<u64>,
}

/// A large value seen before (see `parse_object_known`), named by an id that its text
/// alone has: two members with the same known id have the same text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownValue {
    pub id: u64,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset where the text stopped being valid JSON.
    pub offset: usize,
    pub reason: &'static str,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

impl std::error::Error for JsonError {}

/// Splits a JSON object into its top-level members, validating the whole text
/// (nested values included). Leading/trailing whitespace is allowed.
pub fn parse_object(src: &str) -> Result<Vec<Member<'_>>, JsonError> {
    parse_object_known(src, &[])
}

/// Values shorter than this are validated again rather than compared with known ones.
const KNOWN_MIN_LEN: usize = 32;

/// `parse_object`, trusting values validated before: a member whose value text is one of
/// `known` (values `parse_object` accepted earlier) is compared, not re-validated. Records
/// of one container carry the same `kubernetes` object, hundreds of bytes, on every line:
/// one comparison instead of a validating scan per byte. A valid value is never a prefix
/// of a longer value followed by a delimiter, so an equal prefix is the whole value.
pub fn parse_object_known<'a>(
    src: &'a str,
    known: &[KnownValue],
) -> Result<Vec<Member<'a>>, JsonError> {
    // Records carry a handful of members: one allocation, no growth.
    let mut members = Vec::with_capacity(8);
    each_member(src, known, |m| members.push(m))?;
    Ok(members)
}

/// The keys of an object as it was written, in order: for each member, its bytes from its
/// key's opening quote to its value's first byte (`"level":`, `"msg" : `). The JSON log
/// lines of one logger write the same keys in the same order; `for_each_member_guided`
/// compares a line's keys with a recent line's instead of reading them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeyLayout {
    /// Each member's bytes, joined.
    text: Vec<u8>,
    /// For each member: where its bytes end in `text`, and its key's length.
    members: Vec<(usize, usize)>,
    /// A key was written with an escape: its bytes are not its text, and the layout is not
    /// used.
    escaped: bool,
}

impl KeyLayout {
    /// The number of members, or 0 when a key has an escape.
    pub fn len(&self) -> usize {
        if self.escaped {
            0
        } else {
            self.members.len()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The memory it holds, in bytes.
    pub fn capacity(&self) -> usize {
        self.text.capacity() + self.members.capacity() * std::mem::size_of::<(usize, usize)>()
    }

    /// The bytes of the first member.
    fn first(&self) -> Option<&[u8]> {
        let &(end, _) = self.members.first()?;
        self.text.get(..end)
    }

    /// Adds a member whose bytes are `raw` and whose key, `None` when it has escapes, is
    /// `key_len` bytes long.
    fn push(&mut self, raw: &[u8], key_len: Option<usize>) {
        match key_len {
            Some(n) => {
                self.text.extend_from_slice(raw);
                self.members.push((self.text.len(), n));
            }
            None => self.escaped = true,
        }
    }

    /// The first `n` members of `other`.
    fn copy_prefix(&mut self, other: &KeyLayout, n: usize) {
        if n > 0 {
            self.text
                .extend_from_slice(&other.text[..other.members[n - 1].0]);
            self.members.extend_from_slice(&other.members[..n]);
        }
    }
}

/// Which guide `for_each_member_guided` followed, and how far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guided {
    /// The index of the layout whose keys the object's first keys were, and how many of
    /// its keys in a row the object had.
    pub followed: Option<(usize, usize)>,
    /// The object's keys were exactly the followed layout's.
    pub whole: bool,
}

/// `parse_object`'s reading, member by member, with the object's keys read by the first of
/// `guides` whose first key
/// the object writes first, byte for byte: while its keys are the guide's in order, each
/// is compared whole (not read and unescaped) and handed out with `Some((guide, index))`;
/// from the first one that is not, keys are read as `parse_object` reads them, and
/// handed out with `None`. The members, and whether the object is valid, are
/// `parse_object`'s (members before an error were handed out): a guide's bytes are a key
/// without escapes, its colon and the white space around them, so where they are followed
/// by a value's first byte (not white space) the scan would read the same key and reach
/// the value at the same place.
///
/// `record`: unless the object's keys were a guide's whole, its own layout is written
/// there (the guide's part copied).
#[inline(always)]
pub fn for_each_member_guided<'a>(
    src: &'a str,
    guides: &[KeyLayout],
    mut record: Option<&mut KeyLayout>,
    mut each: impl FnMut(Option<(usize, usize)>, Member<'a>),
) -> Result<Guided, JsonError> {
    if let Some(r) = record.as_deref_mut() {
        r.text.clear();
        r.members.clear();
        r.escaped = false;
    }
    let mut scan = Scanner::new(src);
    scan.skip_ws();
    scan.expect(b'{', "expected '{'")?;
    scan.skip_ws();
    let guide = guides.iter().enumerate().find(|(_, layout)| {
        layout.first().is_some_and(|raw| {
            let rest = scan.bytes.get(scan.pos..scan.pos + raw.len());
            !layout.escaped && rest.is_some_and(|b| same_bytes(b, raw))
        })
    });
    // The guide's keys, compared; `i` of them were the object's, which ended among them
    // (`ended`) or goes on with other keys.
    let mut i = 0;
    let mut ended = false;
    if let Some((g, layout)) = guide {
        let mut from = 0;
        ended = loop {
            let Some(&(end, key_len)) = layout.members.get(i) else {
                // More members than the guide's.
                break false;
            };
            let raw = &layout.text[from..end];
            let at = scan.pos;
            let next = at + raw.len();
            let same = scan.bytes.get(at..next).is_some_and(|b| same_bytes(b, raw))
                && !matches!(scan.bytes.get(next), Some(b' ' | b'\t' | b'\n' | b'\r'));
            if !same {
                break false;
            }
            from = end;
            let key = scan.text(at + 1, at + 1 + key_len);
            scan.pos = next;
            let mut escapes = None;
            match scan.peek() {
                Some(b'"') => escapes = Some(scan.string_inline()?.1),
                Some(b'-' | b'0'..=b'9') => scan.number()?,
                _ => scan.value()?,
            }
            each(
                Some((g, i)),
                Member {
                    key: Cow::Borrowed(key),
                    value: scan.text(next, scan.pos),
                    escapes,
                    known: None,
                },
            );
            i += 1;
            scan.skip_ws();
            match scan.peek() {
                Some(b',') => {
                    scan.pos += 1;
                    scan.skip_ws();
                }
                Some(b'}') => {
                    scan.pos += 1;
                    break true;
                }
                Some(_) => return Err(scan.error("expected ',' or '}'")),
                None => return Err(scan.error("unexpected end of input")),
            }
        };
    }
    let whole = guide.is_some_and(|(_, layout)| ended && i == layout.members.len());
    if let (Some((_, layout)), false, Some(r)) = (guide, whole, record.as_deref_mut()) {
        r.copy_prefix(layout, i);
    }
    if !ended {
        // At a key (after `{` or a comma) that is not the guide's, or at the first key.
        members_from(
            &mut scan,
            &[],
            i == 0,
            record,
            // (A call per member otherwise.)
            #[inline(always)]
            |m| each(None, m),
        )?;
    }
    scan.end()?;
    Ok(Guided {
        followed: guide.map(|(g, _)| (g, i)),
        whole,
    })
}

fn each_member<'a>(
    src: &'a str,
    known: &[KnownValue],
    each: impl FnMut(Member<'a>),
) -> Result<(), JsonError> {
    let mut scan = Scanner::new(src);
    scan.skip_ws();
    scan.expect(b'{', "expected '{'")?;
    scan.skip_ws();
    members_from(&mut scan, known, true, None, each)?;
    scan.end()
}

/// Reads an object's members from the cursor to its closing brace: from just after its
/// `{` (`first`: the object may be empty) or a comma. `record`: each key's layout is added
/// there.
#[inline(always)]
fn members_from<'a>(
    scan: &mut Scanner<'a>,
    known: &[KnownValue],
    first: bool,
    mut record: Option<&mut KeyLayout>,
    mut each: impl FnMut(Member<'a>),
) -> Result<(), JsonError> {
    if first && scan.peek() == Some(b'}') {
        scan.pos += 1;
        return Ok(());
    }
    loop {
        scan.skip_ws();
        let key_at = scan.pos;
        let key = scan.key()?;
        scan.skip_ws();
        scan.expect(b':', "expected ':'")?;
        scan.skip_ws();
        let start = scan.pos;
        if let Some(r) = record.as_deref_mut() {
            // (A key read with escapes is unescaped: its text is not what the line holds.)
            let key_len = match &key {
                Cow::Borrowed(k) => Some(k.len()),
                Cow::Owned(_) => None,
            };
            r.push(&scan.bytes[key_at..start], key_len);
        }
        let rest = &scan.bytes[start..];
        let seen = known.iter().find(|k| {
            let k = k.text.as_bytes();
            k.len() >= KNOWN_MIN_LEN
                && rest.len() >= k.len()
                && same_bytes(&rest[..k.len()], k)
                && matches!(
                    rest.get(k.len()),
                    Some(b',' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                )
        });
        let mut escapes = None;
        match seen {
            Some(k) => scan.pos += k.text.len(),
            // A string's scan says whether it has escapes: reading it later needs no
            // second look (the log line is one).
            None if scan.peek() == Some(b'"') => escapes = Some(scan.string_inline()?.1),
            // A number, as `value` reads one, without its call.
            None if matches!(scan.peek(), Some(b'-' | b'0'..=b'9')) => scan.number()?,
            None => scan.value()?,
        }
        each(Member {
            key,
            value: scan.text(start, scan.pos),
            escapes,
            known: seen.map(|k| k.id),
        });
        scan.skip_ws();
        match scan.peek() {
            Some(b',') => scan.pos += 1,
            Some(b'}') => {
                scan.pos += 1;
                return Ok(());
            }
            Some(_) => return Err(scan.error("expected ',' or '}'")),
            None => return Err(scan.error("unexpected end of input")),
        }
    }
}

/// If `raw` is a JSON string value, its unescaped contents.
pub fn string_value(raw: &str) -> Option<Cow<'_, str>> {
    let raw = raw.trim_matches(is_ws_char);
    let mut scan = Scanner::new(raw);
    let (body, escaped) = scan.string().ok()?;
    if scan.pos != raw.len() {
        return None;
    }
    if escaped {
        unescape(body).map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(body))
    }
}

/// `string_value` for a member's value as `parse_object` returned it: already validated,
/// so only a quick look for a backslash decides whether it needs unescaping. The log line
/// of every record is read this way (one pass over it fewer).
#[inline(always)]
pub fn member_string<'a>(member: &Member<'a>) -> Option<Cow<'a, str>> {
    let body = member.value.strip_prefix('"')?.strip_suffix('"')?;
    let escaped = match member.escapes {
        Some(e) => e,
        None => crate::bytes::find(body.as_bytes(), 0, b'\\') < body.len(),
    };
    if escaped {
        unescape(body).map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(body))
    }
}

/// The string value that starts (with its quote) at `at` in `src`, validated as
/// `parse_object` validates one, as a member named `key`, and where it ends. `None` when
/// there is no valid string there. (The oracle `line_member_at` is tested against.)
#[cfg(test)]
pub fn string_member_at<'a>(src: &'a str, at: usize, key: &'a str) -> Option<(Member<'a>, usize)> {
    let mut scan = Scanner::new(src);
    scan.pos = at;
    let (_, escaped) = scan.string().ok()?;
    let member = Member {
        key: Cow::Borrowed(key),
        value: &src[at..scan.pos],
        escapes: Some(escaped),
        known: None,
    };
    Some((member, scan.pos))
}

/// `string_member_at`, reading the string's text in the same pass: borrowed when it has no
/// escapes; when its only escape is a final `\n` (Docker's json-file driver ends every line
/// with one), borrowed without that newline; otherwise unescaped. What it accepts, and
/// where it says the string ends, are exactly `string_member_at`'s. Last, how many bytes of
/// the string's body come before its first escape (all when it has none).
pub fn line_member_at<'a>(
    src: &'a str,
    at: usize,
    key: &'a str,
) -> Option<(Member<'a>, usize, Cow<'a, str>, usize)> {
    let (end, escapes, value, plain) = read_line_string::<false>(src.as_bytes(), at)?;
    let member = Member {
        key: Cow::Borrowed(key),
        value: &src[at..end],
        escapes: Some(escapes),
        known: None,
    };
    Some((member, end, value, plain))
}

/// `line_member_at`'s string for bytes not yet known to be UTF-8: checked on the way, in
/// the same pass. Returns where the string ends (after its closing quote), its text, and
/// how many bytes of its body come before its first escape (all when it has none);
/// `None` where `line_member_at` would say `None`, and where the string's text is not
/// UTF-8. A record whose every other byte is known text then needs no check of its own.
#[inline(always)]
pub fn line_string_at_bytes(bytes: &[u8], at: usize) -> Option<(usize, Cow<'_, str>, usize)> {
    read_line_string::<true>(bytes, at).map(|(end, _, value, plain)| (end, value, plain))
}

/// The reading of `line_member_at` and `line_string_at_bytes`: where the string at `at`
/// ends, whether it has escapes, its text, and how many bytes of its body come before its
/// first escape (its first backslash; the whole body when it has none). Without `VALIDATE`, `bytes` must be a
/// `str`'s; with it, each run of bytes of 0x80 and above is checked to be UTF-8.
fn read_line_string<const VALIDATE: bool>(
    bytes: &[u8],
    at: usize,
) -> Option<(usize, bool, Cow<'_, str>, usize)> {
    // SAFETY (every call): `a..b` lies within the string's body, and ends at its quotes, at
    // a backslash or just after an escape: ASCII bytes, so char boundaries. Its bytes are
    // a `str`'s (without `VALIDATE`), or each was scanned as ASCII or checked in a run of
    // bytes of 0x80 and above that `from_utf8` accepted (with `VALIDATE`); runs of those end
    // at ASCII bytes, which stand alone in UTF-8, so the checked runs make the whole valid.
    let text = |a: usize, b: usize| unsafe { std::str::from_utf8_unchecked(&bytes[a..b]) };
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let mut i = start;
    loop {
        i = special_until::<VALIDATE>(bytes, i);
        match bytes.get(i) {
            Some(b'"') => return Some((i + 1, false, Cow::Borrowed(text(start, i)), i - start)),
            Some(b'\\') => {}
            Some(&c) if VALIDATE && c >= 0x80 => {
                let end = crate::bytes::first_ascii(bytes, i);
                std::str::from_utf8(&bytes[i..end]).ok()?;
                i = end;
                continue;
            }
            // The end of the input, or a raw control character.
            _ => return None,
        }
        if bytes.get(i + 1) == Some(&b'n') && bytes.get(i + 2) == Some(&b'"') {
            return Some((i + 3, true, Cow::Borrowed(text(start, i)), i - start));
        }
        let (end, t) = unescape_words::<VALIDATE>(bytes, start, i)?;
        return Some((end, true, Cow::Owned(t), i - start));
    }
}

/// `\"` as a little-endian pair of bytes.
const ESCAPED_QUOTE: u16 = u16::from_le_bytes(*b"\\\"");

/// The rest of `read_line_string` from the string's first escape (its backslash at `at`;
/// the body starts at `start`): where the string ends and its text. The text is copied
/// eight bytes per step into a buffer with room to spare, each word whole and the copy's
/// end then moved to the first byte that needs a look; an escape is then one decoded byte
/// and the next word. A JSON line inside a record has an escape for every quote, and
/// copying run by run (a search and an append per escape) costs more in the interpreter.
#[inline(never)]
fn unescape_words<const VALIDATE: bool>(
    bytes: &[u8],
    start: usize,
    at: usize,
) -> Option<(usize, String)> {
    use crate::bytes::word_at;
    // Decoded text is never longer than its JSON form: the copy's end stays at or before
    // the input's (less `start`), so a word written there always fits.
    let mut out = vec![0u8; bytes.len() - start + 8];
    out[..at - start].copy_from_slice(&bytes[start..at]);
    let (mut i, mut o) = (at, at - start);
    loop {
        // `bytes[i]` is the first byte not yet copied that is not plain text.
        match bytes.get(i) {
            Some(b'"') => break,
            Some(b'\\') => {
                let esc = *bytes.get(i + 1)?;
                i += 2;
                let byte = match esc {
                    b'"' | b'\\' | b'/' => esc,
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'u' => {
                        let (c, used) = decode_u_escape(bytes, i)?;
                        i += used;
                        // (At most four bytes, from at least six of input.)
                        let len = c.encode_utf8(&mut out[o..o + 4]).len();
                        o += len - 1;
                        out[o]
                    }
                    _ => return None,
                };
                out[o] = byte;
                o += 1;
            }
            Some(&c) if VALIDATE && c >= 0x80 => {
                let end = crate::bytes::first_ascii(bytes, i);
                std::str::from_utf8(&bytes[i..end]).ok()?;
                out[o..o + (end - i)].copy_from_slice(&bytes[i..end]);
                o += end - i;
                i = end;
            }
            // The end of the input, or a raw control character.
            _ => return None,
        }
        // Plain text, a word at a time, up to the next byte that is not.
        loop {
            let Some(v) = word_at(bytes, i) else {
                // The last few bytes.
                let j = special_until::<VALIDATE>(bytes, i);
                out[o..o + (j - i)].copy_from_slice(&bytes[i..j]);
                o += j - i;
                i = j;
                break;
            };
            // SAFETY: `o + 8 <= out.len()`: the copy's end `o` is at most `i - start` (see
            // above), and this word lies in the input, `i + 8 <= bytes.len()`, while `out`
            // has `bytes.len() - start + 8` bytes. (The checked index cost a bounds test per
            // word in the interpreter.)
            debug_assert!(o + 8 <= out.len());
            unsafe {
                out.as_mut_ptr()
                    .add(o)
                    .cast::<[u8; 8]>()
                    .write_unaligned(v.to_le_bytes())
            };
            let hits = special_bytes::<VALIDATE>(v);
            if hits != 0 {
                let j = crate::bytes::first_marked(hits);
                // `\"` within the word, the escape a JSON text inside a string has for every
                // quote: decoded here (the quote over the backslash the word copied), and
                // the copy goes on without a trip through the escapes above. (A backslash
                // in the word's last byte shifts down alone, its pair's high byte 0.)
                if (v >> (8 * j)) as u16 == ESCAPED_QUOTE {
                    out[o + j] = b'"';
                    i += j + 2;
                    o += j + 1;
                    continue;
                }
                i += j;
                o += j;
                break;
            }
            i += 8;
            o += 8;
        }
    }
    out.truncate(o);
    // SAFETY: `out` holds the body's bytes in order, each escape replaced by the UTF-8 of
    // the character it names, cut only at ASCII bytes (the specials found, the ends of
    // escapes): pieces of a `str` (without `VALIDATE`), or of bytes each scanned as ASCII or
    // checked in a run that `from_utf8` accepted (with `VALIDATE`; the part before `at` by
    // `read_line_string`). UTF-8 pieces cut at ASCII bytes and joined are UTF-8. (Checking
    // it again cost more than the word copy saves.)
    Some((i + 1, unsafe { String::from_utf8_unchecked(out) }))
}

/// The raw value at `path` inside the raw JSON object `raw` (nested objects only),
/// e.g. `lookup(kubernetes, &["labels", "app"])`. With duplicate keys the first wins;
/// members after the match are not validated (the object came from `parse_object`).
pub fn lookup<'a>(raw: &'a str, path: &[&str]) -> Option<&'a str> {
    let mut current = raw;
    for key in path {
        current = member(current, key)?;
    }
    Some(current)
}

/// Appends `parts` in turn, with one capacity check for all: in the interpreter each
/// `push_str` is a call and a check of its own.
#[inline(always)]
pub(crate) fn push_all<const N: usize>(out: &mut String, parts: [&str; N]) {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    out.reserve(total);
    // SAFETY: `reserve` made room for `total` more bytes, which the parts fill exactly; each
    // part is UTF-8, and UTF-8 texts joined are UTF-8.
    unsafe {
        let v = out.as_mut_vec();
        let mut len = v.len();
        for p in parts {
            std::ptr::copy_nonoverlapping(p.as_ptr(), v.as_mut_ptr().add(len), p.len());
            len += p.len();
        }
        v.set_len(len);
    }
}

/// Appends `s` as a quoted, escaped JSON string.
pub fn write_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    write_escaped(out, s);
    out.push('"');
}

/// Appends `s` escaped for a JSON string, without the quotes. Escaping is byte-local, so
/// the escaped text of `a + b` is the escaped `a` followed by the escaped `b`.
pub fn write_escaped(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut run_start = 0;
    let mut i = 0;
    loop {
        i = plain_until(bytes, i);
        let Some(&b) = bytes.get(i) else {
            break;
        };
        // Escapable bytes are ASCII, so `i` is always a char boundary.
        out.push_str(&s[run_start..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                out.push_str("\\u00");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xf)] as char);
            }
        }
        i += 1;
        run_start = i;
    }
    out.push_str(&s[run_start..]);
}

/// `a == b`, eight bytes per step. WebAssembly has no bulk compare: `==` on slices is
/// a call to a `memcmp` that the interpreter runs byte by byte. The last bytes are one
/// more word (or two half-words for fewer than eight) that may overlap the previous.
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        if n < 4 {
            return a.iter().zip(b).all(|(p, q)| p == q);
        }
        return word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4);
    }
    let mut i = 0;
    while i + 8 <= n {
        if word8(a, i) != word8(b, i) {
            return false;
        }
        i += 8;
    }
    i == n || word8(a, n - 8) == word8(b, n - 8)
}

/// `same_bytes` for long texts (a record's `kubernetes` object, compared whole on every
/// record of its container): sixteen words per step, their differences joined, so one
/// branch per 128 bytes (then eight words for a last 64, four for a last 32). Out of line:
/// its loop inlined into the callers of `same_bytes` made their short compares dearer in
/// the interpreter.
#[inline(never)]
pub(crate) fn same_long_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let mut i = 0;
    while i + 128 <= n {
        if diff64(a, b, i) | diff64(a, b, i + 64) != 0 {
            return false;
        }
        i += 128;
    }
    while i + 64 <= n {
        if diff64(a, b, i) != 0 {
            return false;
        }
        i += 64;
    }
    while i + 32 <= n {
        let d = (word8(a, i) ^ word8(b, i))
            | (word8(a, i + 8) ^ word8(b, i + 8))
            | (word8(a, i + 16) ^ word8(b, i + 16))
            | (word8(a, i + 24) ^ word8(b, i + 24));
        if d != 0 {
            return false;
        }
        i += 32;
    }
    same_bytes(&a[i..], &b[i..])
}

/// The differences of the 64 bytes of `a` and `b` from `at`, joined (zero when they are
/// the same bytes).
#[inline(always)]
fn diff64(a: &[u8], b: &[u8], at: usize) -> u64 {
    (word8(a, at) ^ word8(b, at))
        | (word8(a, at + 8) ^ word8(b, at + 8))
        | (word8(a, at + 16) ^ word8(b, at + 16))
        | (word8(a, at + 24) ^ word8(b, at + 24))
        | (word8(a, at + 32) ^ word8(b, at + 32))
        | (word8(a, at + 40) ^ word8(b, at + 40))
        | (word8(a, at + 48) ^ word8(b, at + 48))
        | (word8(a, at + 56) ^ word8(b, at + 56))
}

fn word8(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

fn word4(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

/// The index of the first byte at or after `from` that a JSON string cannot hold as it is
/// (`"`, `\\`, a control character), or `bytes.len()`. Eight bytes per step: in Fluent
/// Bit's interpreter each step costs about what one byte of a byte loop does, and this scan
/// runs over every byte of every line, read and written.
pub(crate) fn plain_until(bytes: &[u8], from: usize) -> usize {
    crate::bytes::first_hit(bytes, from, special_bytes::<false>)
}

/// `plain_until`, also stopping at a byte of 0x80 or above (in text not yet known to be
/// UTF-8, where each such run is checked).
fn plain_ascii_until(bytes: &[u8], from: usize) -> usize {
    crate::bytes::first_hit(bytes, from, special_bytes::<true>)
}

/// `plain_ascii_until` with `VALIDATE`, else `plain_until`.
#[inline(always)]
fn special_until<const VALIDATE: bool>(bytes: &[u8], from: usize) -> usize {
    if VALIDATE {
        plain_ascii_until(bytes, from)
    } else {
        plain_until(bytes, from)
    }
}

/// The marks (high bits) of the bytes of `v` that a JSON string cannot hold as they are,
/// and with `HIGH_TOO` of the bytes of 0x80 and above. Exact for the lowest marked byte,
/// the only one ever read (as `bytes::below_bytes`).
#[inline(always)]
fn special_bytes<const HIGH_TOO: bool>(v: u64) -> u64 {
    use crate::bytes::{HIGH, ONES};
    // Flipping bit 1 moves `"` (0x22) to 0x20 and keeps 0x00..=0x1f below 0x20, while no
    // other byte lands below 0x21 (0x20 and 0x21 move up to 0x22 and 0x23): one subtraction
    // finds both the control characters and the quote. The backslash is the byte that
    // xoring with it makes zero. A subtraction borrows out of exactly these bytes, setting
    // their high bits, and a borrow passed up marks bytes above a true one only. Each byte
    // of 0x80 and above comes out marked too: xored with 0x5c it is 0x81 or more, one
    // less keeps the high bit, but for 0xdc, which xored with 0x02 is 0xde, 0x21 less
    // 0xbd. `HIGH_TOO` keeps those marks; the other form masks them out with `!v` (bit 1 and
    // 0x5c leave a byte's high bit as it is). Six operations, seven without `HIGH_TOO`,
    // where two `below_bytes` and the high bits took thirteen.
    let quote_or_control = (v ^ (ONES * 0x02)).wrapping_sub(ONES * 0x21);
    let backslash = (v ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES);
    let marks = (quote_or_control | backslash) & HIGH;
    if HIGH_TOO {
        marks
    } else {
        marks & !v
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn is_ws_char(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Finds `key` among the top-level members of the object `raw` without collecting them.
fn member<'a>(raw: &'a str, key: &str) -> Option<&'a str> {
    let mut scan = Scanner::new(raw);
    scan.skip_ws();
    scan.expect(b'{', "").ok()?;
    scan.skip_ws();
    if scan.peek() == Some(b'}') {
        return None;
    }
    loop {
        scan.skip_ws();
        let (body, escaped) = scan.string().ok()?;
        let matches = if escaped {
            unescape(body).is_some_and(|k| k == key)
        } else {
            body == key
        };
        scan.skip_ws();
        scan.expect(b':', "").ok()?;
        scan.skip_ws();
        let start = scan.pos;
        scan.value().ok()?;
        if matches {
            return Some(&raw[start..scan.pos]);
        }
        scan.skip_ws();
        match scan.peek() {
            Some(b',') => scan.pos += 1,
            _ => return None,
        }
    }
}

/// Decodes the escapes of a validated string body (the text between the quotes).
fn unescape(body: &str) -> Option<String> {
    let bytes = body.as_bytes();
    let mut out = String::with_capacity(body.len());
    let mut i = 0;
    let mut run_start = 0;
    loop {
        // Plain text up to the next escape, eight bytes per step.
        i = crate::bytes::find(bytes, i, b'\\');
        if i >= bytes.len() {
            break;
        }
        out.push_str(&body[run_start..i]);
        (i, run_start) = decode_escape(bytes, i, &mut out)?;
    }
    out.push_str(&body[run_start..]);
    Some(out)
}

/// Decodes the escape whose backslash is at `i`, the text before it already in `out`.
/// Returns where the text goes on and where its next copied run starts: an escaped quote,
/// backslash or slash is its own byte, so the run starts with it (one append fewer per
/// escape); any other escape is appended decoded. `None` for an invalid escape.
#[inline(always)]
fn decode_escape(bytes: &[u8], i: usize, out: &mut String) -> Option<(usize, usize)> {
    let next = i + 2;
    match *bytes.get(i + 1)? {
        b'"' | b'\\' | b'/' => return Some((next, i + 1)),
        b'b' => out.push('\u{8}'),
        b'f' => out.push('\u{c}'),
        b'n' => out.push('\n'),
        b'r' => out.push('\r'),
        b't' => out.push('\t'),
        b'u' => {
            let (c, used) = decode_u_escape(bytes, next)?;
            out.push(c);
            return Some((next + used, next + used));
        }
        _ => return None,
    }
    Some((next, next))
}

/// Decodes the 4 hex digits at `at` (just after `\u`), joining a surrogate pair.
/// Returns the char and how many bytes after `at` were consumed.
fn decode_u_escape(bytes: &[u8], at: usize) -> Option<(char, usize)> {
    let first = hex4(bytes, at)?;
    match first {
        0xD800..=0xDBFF => {
            if bytes.get(at + 4) != Some(&b'\\') || bytes.get(at + 5) != Some(&b'u') {
                return None;
            }
            let second = hex4(bytes, at + 6)?;
            if !(0xDC00..=0xDFFF).contains(&second) {
                return None;
            }
            let c = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
            Some((char::from_u32(c)?, 10))
        }
        0xDC00..=0xDFFF => None,
        _ => Some((char::from_u32(first)?, 4)),
    }
}

fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    let mut v = 0u32;
    for &d in digits {
        let n = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return None,
        };
        v = (v << 4) | u32::from(n);
    }
    Some(v)
}

/// A validating cursor over JSON text.
struct Scanner<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn new(src: &'a str) -> Self {
        Self {
            src,
            bytes: src.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// The source between `a` and `b`, which the scan found next to ASCII bytes: at a
    /// value's first byte or its string's opening quote, and just after a complete value
    /// or at a string's closing quote. Without `str` indexing's check of both ends for a
    /// char boundary: a call per slice in the interpreter, two per member of a JSON line.
    #[inline(always)]
    fn text(&self, a: usize, b: usize) -> &'a str {
        debug_assert!(a <= b && self.src.is_char_boundary(a) && self.src.is_char_boundary(b));
        // SAFETY: `a <= b <= src.len()` (positions the scan has reached), and each is at an
        // ASCII byte or just after one, so both are char boundaries of `src`.
        unsafe { self.src.get_unchecked(a..b) }
    }

    fn error(&self, reason: &'static str) -> JsonError {
        JsonError {
            offset: self.pos,
            reason,
        }
    }

    /// Only white space is left after the object.
    fn end(&mut self) -> Result<(), JsonError> {
        self.skip_ws();
        if self.pos != self.bytes.len() {
            return Err(self.error("trailing characters"));
        }
        Ok(())
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8, reason: &'static str) -> Result<(), JsonError> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else if self.peek().is_none() {
            Err(self.error("unexpected end of input"))
        } else {
            Err(self.error(reason))
        }
    }

    /// An object key, unescaped (allocating only when it has escapes).
    // Inlined into the member loop, its one caller: a call per key cost more in the
    // interpreter.
    #[inline(always)]
    fn key(&mut self) -> Result<Cow<'a, str>, JsonError> {
        if self.peek() != Some(b'"') {
            return Err(match self.peek() {
                None => self.error("unexpected end of input"),
                Some(_) => self.error("expected a string key"),
            });
        }
        let start = self.pos;
        let (body, escaped) = self.string_inline()?;
        if !escaped {
            return Ok(Cow::Borrowed(body));
        }
        // `string` validated every escape, so decoding cannot fail here.
        unescape(body).map(Cow::Owned).ok_or(JsonError {
            offset: start,
            reason: "invalid escape",
        })
    }

    /// A string at the cursor: returns its body (between the quotes) and whether it has
    /// escapes. Validates escapes, surrogate pairs and the absence of raw control chars.
    fn string(&mut self) -> Result<(&'a str, bool), JsonError> {
        self.string_inline()
    }

    /// `string`, inlined where an object's keys and string values are read: in the
    /// interpreter a call per string copies its constants into a new frame.
    #[inline(always)]
    fn string_inline(&mut self) -> Result<(&'a str, bool), JsonError> {
        self.expect(b'"', "expected a string")?;
        let start = self.pos;
        let mut escaped = false;
        loop {
            // Most bytes are plain text.
            self.pos = plain_until(self.bytes, self.pos);
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    let body = self.text(start, self.pos);
                    self.pos += 1;
                    return Ok((body, escaped));
                }
                Some(b'\\') => {
                    escaped = true;
                    self.escape()?;
                }
                Some(_) => return Err(self.error("control character in string")),
            }
        }
    }

    /// Validates one escape sequence at the cursor (which is on the backslash).
    fn escape(&mut self) -> Result<(), JsonError> {
        let at = self.pos;
        match self.bytes.get(at + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.pos += 2;
                Ok(())
            }
            Some(b'u') => match decode_u_escape(self.bytes, at + 2) {
                Some((_, used)) => {
                    self.pos = at + 2 + used;
                    Ok(())
                }
                None => Err(JsonError {
                    offset: at,
                    reason: "invalid \\u escape or lone surrogate",
                }),
            },
            Some(_) => Err(JsonError {
                offset: at,
                reason: "invalid escape",
            }),
            None => Err(JsonError {
                offset: at + 1,
                reason: "unterminated string",
            }),
        }
    }

    /// Validates one value at the cursor, leaving the cursor just after it.
    ///
    /// Iterative, not recursive: the open containers are a bit stack (1 = object,
    /// 0 = array), so hostile nesting costs no call frames. Fluent Bit's interpreter
    /// stack is 8 KiB by default (`Wasm_Stack_Size`), far too small for 128 nested calls.
    /// The enclosing object counts as the first level of `MAX_DEPTH`.
    fn value(&mut self) -> Result<(), JsonError> {
        let mut open: u128 = 0;
        let mut depth = 1usize;
        loop {
            match self.peek() {
                None => return Err(self.error("unexpected end of input")),
                Some(c @ (b'{' | b'[')) => {
                    if depth >= MAX_DEPTH {
                        return Err(self.error("nesting too deep"));
                    }
                    self.pos += 1;
                    self.skip_ws();
                    let is_object = c == b'{';
                    let close = if is_object { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.pos += 1;
                    } else {
                        open = (open << 1) | u128::from(is_object);
                        depth += 1;
                        if is_object {
                            self.member_key()?;
                        }
                        continue;
                    }
                }
                Some(b'"') => {
                    self.string()?;
                }
                Some(b't') => self.literal("true")?,
                Some(b'f') => self.literal("false")?,
                Some(b'n') => self.literal("null")?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(_) => return Err(self.error("expected a value")),
            }
            // A value is complete: close the containers it completes, or move on to the
            // next element of the innermost one.
            loop {
                if depth == 1 {
                    return Ok(());
                }
                self.skip_ws();
                let in_object = open & 1 == 1;
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        self.skip_ws();
                        if in_object {
                            self.member_key()?;
                        }
                        break;
                    }
                    Some(b'}') if in_object => {}
                    Some(b']') if !in_object => {}
                    Some(_) if in_object => return Err(self.error("expected ',' or '}'")),
                    Some(_) => return Err(self.error("expected ',' or ']'")),
                    None => return Err(self.error("unexpected end of input")),
                }
                self.pos += 1;
                open >>= 1;
                depth -= 1;
            }
        }
    }

    /// `"key" :` inside an object, leaving the cursor on the member's value.
    fn member_key(&mut self) -> Result<(), JsonError> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(match self.peek() {
                None => self.error("unexpected end of input"),
                Some(_) => self.error("expected a string key"),
            });
        }
        self.string()?;
        self.skip_ws();
        self.expect(b':', "expected ':'")?;
        self.skip_ws();
        Ok(())
    }

    fn literal(&mut self, word: &'static str) -> Result<(), JsonError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("invalid literal"))
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<(), JsonError> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("invalid number"));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("invalid number"));
            }
            self.digits();
        }
        Ok(())
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_is_slice_equality() {
        // Lengths past two of `same_long_bytes`' 128-byte steps, its 64-byte one and its
        // 32-byte one, a byte changed at every place (a bit that one xor word of the
        // sixteen would carry alone).
        let a: Vec<u8> = (0..330u32).map(|i| (i * 7 % 251) as u8).collect();
        for same in [same_bytes, same_long_bytes] {
            for len in 0..a.len() {
                assert!(same(&a[..len], &a[..len]));
                assert!(!same(&a[..len], &a[..len + 1]));
                for at in 0..len {
                    let mut b = a[..len].to_vec();
                    b[at] ^= 0x40;
                    assert!(!same(&a[..len], &b), "len {len} at {at}");
                }
            }
        }
    }

    #[test]
    fn known_values_are_taken_whole_and_others_still_validated() {
        let k8s = r#"{"pod_name":"shop-7d9f","labels":{"app":"shop","tier":"web"}}"#;
        let known = vec![KnownValue {
            id: 7,
            text: k8s.to_string(),
        }];
        let src = format!(r#"{{"log":"x","kubernetes":{k8s}}}"#);
        let members = parse_object_known(&src, &known).unwrap();
        let fresh = parse_object(&src).unwrap();
        assert_eq!(members.len(), fresh.len());
        for (m, f) in members.iter().zip(&fresh) {
            assert_eq!((&m.key, m.value), (&f.key, f.value));
        }
        // The known value is named by its id, the others by nothing.
        assert_eq!(members[1].known, Some(7));
        assert_eq!(members[0].known, None);
        // A longer value that starts like a known one is validated as itself.
        let longer = format!(r#"{{"kubernetes":{}"extra"}}"#, &k8s[..k8s.len() - 1]);
        assert!(parse_object_known(&longer, &known).is_err());
        // Invalid members elsewhere are still found.
        let bad = format!(r#"{{"kubernetes":{k8s},"log":"a\qb"}}"#);
        assert!(parse_object_known(&bad, &known).is_err());
    }

    #[test]
    fn member_string_agrees_with_string_value() {
        let src = r#"{"a":"plain","b":"esc\"aped\n\u00e9","c":12,"d":"","e":{"x":"y"},"f":"\\"}"#;
        for m in parse_object(src).expect("valid") {
            assert_eq!(member_string(&m), string_value(m.value), "{}", m.key);
        }
    }

    #[test]
    fn push_all_appends_every_part_in_turn() {
        for start in ["", "{", "x".repeat(63).as_str()] {
            for cap in [0, start.len(), start.len() + 3, 256] {
                let mut out = String::with_capacity(cap);
                out.push_str(start);
                push_all(&mut out, [",\"k\":\"", "é ü", "", "\""]);
                assert_eq!(out, format!("{start},\"k\":\"é ü\""));
                push_all(&mut out, ["", ""]);
                assert_eq!(out, format!("{start},\"k\":\"é ü\""));
            }
        }
    }

    #[test]
    fn plain_until_tells_every_byte_value_apart_at_every_place() {
        let needs_escape = |c: u8| c == b'"' || c == b'\\' || c < 0x20;
        for c in 0..=255u8 {
            // As the filler of a whole text, and alone among plain bytes at every place.
            let all = vec![c; 17];
            let first = if needs_escape(c) { 0 } else { all.len() };
            assert_eq!(plain_until(&all, 0), first, "byte {c:#04x} everywhere");
            for at in 0..17 {
                let mut b = vec![b'a'; 17];
                b[at] = c;
                for from in 0..=at {
                    let want = if needs_escape(c) { at } else { b.len() };
                    assert_eq!(
                        plain_until(&b, from),
                        want,
                        "byte {c:#04x} at {at} from {from}"
                    );
                }
            }
        }
    }

    #[test]
    fn both_scans_find_the_lowest_special_byte_with_any_byte_above_it() {
        // Every byte value at every place of two words, then every byte value after it:
        // a subtraction's borrow out of the first may mark the second, never a byte below.
        let needs_escape = |c: u8| c == b'"' || c == b'\\' || c < 0x20;
        let slow = |b: &[u8], high: bool| {
            (0..b.len())
                .find(|&i| needs_escape(b[i]) || (high && b[i] >= 0x80))
                .unwrap_or(b.len())
        };
        for c in 0..=255u8 {
            for next in 0..=255u8 {
                for at in [0, 3, 6, 7, 8, 14] {
                    let mut b = vec![b'a'; 16];
                    b[at] = c;
                    b[at + 1] = next;
                    assert_eq!(
                        plain_until(&b, 0),
                        slow(&b, false),
                        "{c:#04x} {next:#04x} at {at}"
                    );
                    assert_eq!(
                        plain_ascii_until(&b, 0),
                        slow(&b, true),
                        "{c:#04x} {next:#04x} at {at}"
                    );
                }
            }
        }
    }

    #[test]
    fn plain_until_finds_the_first_byte_to_escape_at_every_offset() {
        let slow = |b: &[u8], from: usize| {
            (from..b.len())
                .find(|&i| b[i] == b'"' || b[i] == b'\\' || b[i] < 0x20)
                .unwrap_or(b.len())
        };
        let fillers: [u8; 5] = [b'a', b' ', 0x7f, 0x80, 0xff];
        let specials: [u8; 6] = [b'"', b'\\', 0x00, 0x1f, b'\n', b'\t'];
        for &fill in &fillers {
            for len in 0..24 {
                let plain = vec![fill; len];
                for from in 0..=len {
                    assert_eq!(plain_until(&plain, from), slow(&plain, from));
                }
                for at in 0..len {
                    for &sp in &specials {
                        let mut b = plain.clone();
                        b[at] = sp;
                        for from in 0..=len {
                            assert_eq!(plain_until(&b, from), slow(&b, from), "{b:?} from {from}");
                        }
                    }
                }
            }
        }
    }

    fn keys<'a>(members: &'a [Member<'a>]) -> Vec<&'a str> {
        members.iter().map(|m| m.key.as_ref()).collect()
    }

    #[test]
    fn splits_members_as_raw_spans() {
        let src = r#" {"log":"boom\n","n":-1.5e3,"k":{"a":[1,{"b":null}]},"t":true} "#;
        let members = parse_object(src).unwrap();
        assert_eq!(keys(&members), ["log", "n", "k", "t"]);
        assert_eq!(members[0].value, r#""boom\n""#);
        assert_eq!(members[1].value, "-1.5e3");
        assert_eq!(members[2].value, r#"{"a":[1,{"b":null}]}"#);
        assert_eq!(members[3].value, "true");
    }

    #[test]
    fn keys_borrow_unless_escaped() {
        let members = parse_object(r#"{"plain":1,"esc\u0041\"":2}"#).unwrap();
        assert!(matches!(members[0].key, Cow::Borrowed("plain")));
        assert!(matches!(&members[1].key, Cow::Owned(k) if k == "escA\""));
    }

    #[test]
    fn empty_object_has_no_members() {
        assert!(parse_object("{}").unwrap().is_empty());
        assert!(parse_object(" \n{ \t}\r\n").unwrap().is_empty());
    }

    #[test]
    fn reports_offset_and_reason_of_first_error() {
        let err = parse_object(r#"{"a":1}x"#).unwrap_err();
        assert_eq!((err.offset, err.reason), (7, "trailing characters"));
        let err = parse_object(r#"{"a":[1,2,}"#).unwrap_err();
        assert_eq!((err.offset, err.reason), (10, "expected a value"));
        let err = parse_object(r#"{"a":"x\qy"}"#).unwrap_err();
        assert_eq!((err.offset, err.reason), (7, "invalid escape"));
        let err = parse_object(r#"{"a":01}"#).unwrap_err();
        assert_eq!(err.offset, 6);
        let err = parse_object("[1]").unwrap_err();
        assert_eq!((err.offset, err.reason), (0, "expected '{'"));
        let err = parse_object(r#"{"a":"\ud800"}"#).unwrap_err();
        assert_eq!(err.offset, 6);
        assert_eq!(
            err.to_string(),
            "invalid \\u escape or lone surrogate at byte 6"
        );
    }

    #[test]
    fn rejects_nesting_beyond_the_limit_without_overflowing() {
        let ok = format!(
            "{{\"a\":{}{}}}",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert!(parse_object(&ok).is_ok());
        let deep = format!(
            "{{\"a\":{}{}}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        assert_eq!(parse_object(&deep).unwrap_err().reason, "nesting too deep");
        let hostile = format!("{{\"a\":{}", "[".repeat(1_000_000));
        assert_eq!(
            parse_object(&hostile).unwrap_err().reason,
            "nesting too deep"
        );
    }

    #[test]
    fn deep_mixed_nesting_closes_in_order() {
        // Alternating objects and arrays, `levels` deep inside the record's object.
        let nest = |levels: usize| {
            let (mut open, mut close) = (String::new(), String::new());
            for i in 0..levels {
                if i % 2 == 0 {
                    open.push_str("{\"k\":");
                    close.insert(0, '}');
                } else {
                    open.push('[');
                    close.insert(0, ']');
                }
            }
            (open, close)
        };
        let (open, close) = nest(MAX_DEPTH - 1);
        let deepest = format!("{{\"a\":{open}1{close},\"b\":2}}");
        let members = parse_object(&deepest).unwrap();
        assert_eq!(keys(&members), ["a", "b"]);
        assert_eq!(members[0].value.len(), open.len() + 1 + close.len());
        // serde_json's own limit is a level lower, so compare below both limits.
        let (open, close) = nest(100);
        let deep = format!("{{\"a\":{open}1{close},\"b\":2}}");
        assert_agrees_with_serde(&deep);
        let swapped: String = close
            .chars()
            .map(|c| if c == '}' { ']' } else { '}' })
            .collect();
        let swapped = format!("{{\"a\":{open}1{swapped}}}");
        assert!(parse_object(&swapped).is_err());
        assert_agrees_with_serde(&swapped);
        let err = parse_object(r#"{"a":{"b":1]}"#).unwrap_err();
        assert_eq!((err.offset, err.reason), (11, "expected ',' or '}'"));
        let err = parse_object(r#"{"a":[1}"#).unwrap_err();
        assert_eq!((err.offset, err.reason), (7, "expected ',' or ']'"));
    }

    #[test]
    fn string_value_unescapes_and_rejects_non_strings() {
        assert_eq!(string_value(r#""plain""#).as_deref(), Some("plain"));
        assert!(matches!(string_value(r#""plain""#), Some(Cow::Borrowed(_))));
        assert_eq!(
            string_value(r#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00""#).as_deref(),
            Some("a\"b\\c/d\u{8}\u{c}\n\r\té😀")
        );
        assert_eq!(string_value(" \"x\" ").as_deref(), Some("x"));
        assert_eq!(string_value("12"), None);
        assert_eq!(string_value("null"), None);
        assert_eq!(string_value(r#""open"#), None);
        assert_eq!(string_value(r#""a" "b""#), None);
        assert_eq!(string_value(r#""\udc00""#), None);
    }

    #[test]
    fn escapes_next_to_each_other_and_at_the_ends_decode_as_serde_json_does() {
        let pieces = [
            r#"\""#,
            r#"\\"#,
            r#"\/"#,
            r#"\n"#,
            r#"\u00e9"#,
            "a",
            "bc",
            " ",
        ];
        let mut rng = Rng(0x5eed);
        for _ in 0..2000 {
            let n = (rng.next() % 8) as usize;
            let body: String = (0..n)
                .map(|_| pieces[(rng.next() % pieces.len() as u64) as usize])
                .collect();
            let quoted = format!("\"{body}\"");
            let expected: String = serde_json::from_str(&quoted).unwrap();
            assert_eq!(
                string_value(&quoted).as_deref(),
                Some(expected.as_str()),
                "{quoted}"
            );
        }
    }

    #[test]
    fn lookup_follows_nested_keys() {
        let src = r#"{"kubernetes":{"labels":{"app":"pay","x":1}},"error":{"stack":"s"},"n":3}"#;
        assert_eq!(
            lookup(src, &["kubernetes", "labels", "app"]),
            Some(r#""pay""#)
        );
        assert_eq!(lookup(src, &["error", "stack"]), Some(r#""s""#));
        assert_eq!(lookup(src, &["n"]), Some("3"));
        assert_eq!(lookup(src, &["n", "deeper"]), None);
        assert_eq!(lookup(src, &["missing"]), None);
        assert_eq!(lookup(src, &[]), Some(src));
        assert_eq!(lookup(r#"{"k\u0065y":"v"}"#, &["key"]), Some(r#""v""#));
    }

    #[test]
    fn write_str_escapes_only_what_json_requires() {
        let mut out = String::new();
        write_str(&mut out, "a\"b\\c\nd\te\r\u{8}\u{c}\u{1}\u{1f}é😀/");
        assert_eq!(out, r#""a\"b\\c\nd\te\r\b\f\u0001\u001fé😀/""#);
        let mut out = String::from("x=");
        write_str(&mut out, "");
        assert_eq!(out, "x=\"\"");
    }

    #[test]
    fn write_str_round_trips_through_serde_json() {
        let samples = [
            "",
            "plain",
            "\u{0}\u{7f}\u{80}\u{ffff}",
            "tab\there\"quote\"\\",
            "multi\nline\r\nwith \u{1b}[31mansi\u{1b}[0m",
        ];
        for s in samples {
            let mut out = String::new();
            write_str(&mut out, s);
            let back: String = serde_json::from_str(&out).unwrap();
            assert_eq!(back, s);
            assert_eq!(string_value(&out).as_deref(), Some(s));
        }
    }

    /// A tiny deterministic generator (xorshift) so the comparison covers many inputs
    /// without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const PIECES: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        " ",
        "\n",
        "\"",
        "\"k\"",
        "\"v\"",
        "\"a\\nb\"",
        "\"\\u00e9\"",
        "\"\\ud83d\\ude00\"",
        "\"\\ud83d\"",
        "\"\\udc00x\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\t\"",
        "\"é😀\"",
        "0",
        "-0",
        "01",
        "1.",
        "1.5",
        "-2e10",
        "3E+2",
        "4e-",
        ".5",
        "-",
        "true",
        "tru",
        "false",
        "null",
        "nul",
        "x",
        "\\",
    ];

    fn generated_value(rng: &mut Rng, depth: usize) -> String {
        match if depth > 3 {
            rng.below(4)
        } else {
            rng.below(6)
        } {
            0 => PIECES[rng.below(PIECES.len())].to_string(),
            1 => ["1", "\"s\"", "null", "-0.25e-3", "\"\\\"q\\\\\""][rng.below(5)].to_string(),
            2 | 3 => {
                // Mostly well-formed scalars with an occasional broken piece.
                let mut s = String::new();
                for _ in 0..=rng.below(2) {
                    s.push_str(PIECES[rng.below(PIECES.len())]);
                }
                s
            }
            4 => {
                let n = rng.below(4);
                let items: Vec<String> = (0..n).map(|_| generated_value(rng, depth + 1)).collect();
                format!("[{}]", items.join(","))
            }
            _ => generated_object(rng, depth + 1),
        }
    }

    fn generated_object(rng: &mut Rng, depth: usize) -> String {
        let n = rng.below(4);
        let members: Vec<String> = (0..n)
            .map(|i| {
                let key = ["\"k\"", "\"a\\u0041\"", "\"é\"", "\"\"", "k"][rng.below(5)];
                let key = if rng.below(8) == 0 {
                    key.to_string()
                } else {
                    format!("\"m{i}\"")
                };
                format!("{key}:{}", generated_value(rng, depth))
            })
            .collect();
        let mut s = format!("{{{}}}", members.join(","));
        if rng.below(10) == 0 {
            s.push_str(PIECES[rng.below(PIECES.len())]);
        }
        s
    }

    fn assert_agrees_with_serde(src: &str) {
        let ours = parse_object(src);
        let theirs: Result<serde_json::Value, _> = serde_json::from_str(src);
        match (&ours, &theirs) {
            (Ok(members), Ok(serde_json::Value::Object(map))) => {
                // Duplicate keys: serde keeps the last one; compare against that.
                let mut last = std::collections::HashMap::new();
                for m in members {
                    last.insert(m.key.as_ref(), m.value);
                }
                assert_eq!(last.len(), map.len(), "member count differs for {src:?}");
                for (k, v) in map {
                    let raw = last
                        .get(k.as_str())
                        .unwrap_or_else(|| panic!("{k:?} in {src:?}"));
                    let reparsed: serde_json::Value = serde_json::from_str(raw).unwrap();
                    assert_eq!(&reparsed, v, "value of {k:?} differs for {src:?}");
                    if let serde_json::Value::String(s) = v {
                        assert_eq!(string_value(raw).as_deref(), Some(s.as_str()));
                    }
                }
            }
            (Err(_), Ok(v)) if !v.is_object() => {}
            (Err(_), Err(_)) => {}
            // The one intended difference: JSON's grammar allows any exponent, serde_json
            // refuses numbers beyond f64; CALI never reads numbers that large.
            (Ok(_), Err(e)) if e.to_string().starts_with("number out of range") => {}
            _ => panic!("accept/reject differs for {src:?}: ours {ours:?}, serde {theirs:?}"),
        }
    }

    #[test]
    fn agrees_with_serde_json_on_edge_cases() {
        let cases = [
            "{}",
            " { } ",
            "{\"a\":1,}",
            "{,}",
            "{\"a\" 1}",
            "{\"a\":}",
            "{\"a\":1 \"b\":2}",
            "{\"a\":1}}",
            "{\"a\":1",
            "{\"a\":\"\u{1}\"}",
            "{\"a\":\"\\u0000\"}",
            "{\"a\":\"\\uD834\\uDD1E\"}",
            "{\"a\":\"\\uD834\\u0041\"}",
            "{\"a\":\"\\uDD1E\"}",
            "{\"a\":\"\\uD834\"}",
            "{\"a\":[]}",
            "{\"a\":[[],[{}]]}",
            "{\"a\":-}",
            "{\"a\":-01}",
            "{\"a\":1e5}",
            "{\"a\":1E-5}",
            "{\"a\":0.0e+0}",
            "{\"a\":1.e5}",
            "{\"a\":+1}",
            "{\"a\":NaN}",
            "{\"a\":truex}",
            "{\"a\":True}",
            "{'a':1}",
            "{\"a\":1}\u{0}",
            "{\"a\":1}\u{a0}",
            "\u{feff}{\"a\":1}",
            "{\"dup\":1,\"dup\":2}",
            "{\"a\":\"é😀\\u00e9\"}",
            // Multi-byte characters at both ends of keys and values: the scan slices there.
            "{\"é\":\"😀\",\"😀é\":1,\"k\":\"aé\",\"é😀\":[\"é\"],\"ü\":{\"ß\":\"€\"}}",
            "{\"a\":1}\n",
            "",
            "   ",
            "null",
            "[]",
            "\"s\"",
        ];
        for c in cases {
            assert_agrees_with_serde(c);
        }
    }

    #[test]
    fn agrees_with_serde_json_on_generated_inputs() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut accepted = 0;
        let total = 20_000;
        for _ in 0..total {
            let mut src = generated_object(&mut rng, 0);
            // Now and then cut or corrupt a byte to exercise the error paths.
            match rng.below(6) {
                0 if !src.is_empty() => {
                    let mut cut = rng.below(src.len());
                    while !src.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    src.truncate(cut);
                }
                1 => {
                    let mut at = rng.below(src.len() + 1);
                    while !src.is_char_boundary(at) {
                        at -= 1;
                    }
                    src.insert(at, ' ');
                }
                _ => {}
            }
            if parse_object(&src).is_ok() {
                accepted += 1;
            }
            assert_agrees_with_serde(&src);
        }
        // The generator must exercise both outcomes for the comparison to mean anything.
        assert!(
            accepted > total / 10 && accepted < total * 9 / 10,
            "accepted {accepted}"
        );
    }

    /// Members as `parse_object` reads them (those before an error too), with its verdict.
    fn members_of(src: &str) -> (Vec<Member<'_>>, bool) {
        let mut members = Vec::new();
        let ok = each_member(src, &[], |m| members.push(m)).is_ok();
        (members, ok)
    }

    /// Reading guided by recent objects' key layouts changes nothing: on sequences of
    /// objects that keep, change and drop their members' keys, values and the white space
    /// around colons and commas (valid and not), the guided reading hands out the members
    /// and verdict of the plain reading; where it says the keys were a guide's whole, every
    /// member came guided; and the layout it records, as the guide of the same object, is
    /// followed whole.
    #[test]
    fn guided_reading_hands_out_the_members_of_the_plain_reading() {
        const KEYS: &[&str] = &[
            "\"a\"",
            "\"level\"",
            "\"msg\"",
            "\"a\\u0041\"",
            "\"é\"",
            "\"ab\"",
        ];
        const COLONS: &[&str] = &[":", ": ", " :", " : ", ":\t", ":  "];
        const COMMAS: &[&str] = &[",", ", ", " ,", ",\n "];
        const VALUES: &[&str] = &[
            "1",
            "\"s\"",
            "\"x y\"",
            "null",
            "[1,\"]\"]",
            "{\"b\":{}}",
            "\"\\\"\"",
            "\"é\"",
        ];
        // Mostly valid values, now and then anything.
        let value = |rng: &mut Rng| match rng.below(8) {
            0 => generated_value(rng, 2),
            _ => VALUES[rng.below(VALUES.len())].to_string(),
        };
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let (mut whole, mut partly, mut invalid) = (0, 0, 0);
        for _ in 0..300 {
            let mut guides: Vec<KeyLayout> = Vec::new();
            // (key, colon, value) of the object being changed step by step.
            let mut members: Vec<(usize, usize, String)> = Vec::new();
            for _ in 0..40 {
                match rng.below(8) {
                    0 if !members.is_empty() => {
                        members.remove(rng.below(members.len()));
                    }
                    1 | 2 => {
                        let at = rng.below(members.len() + 1);
                        let v = value(&mut rng);
                        members.insert(at, (rng.below(KEYS.len()), 0, v));
                    }
                    3 if !members.is_empty() => {
                        let i = rng.below(members.len());
                        members[i].1 = rng.below(COLONS.len());
                    }
                    _ if !members.is_empty() => {
                        let i = rng.below(members.len());
                        members[i].2 = value(&mut rng);
                    }
                    _ => {}
                }
                let mut src = String::from(["{", " {", "{ "][rng.below(3)]);
                for (n, (k, c, v)) in members.iter().enumerate() {
                    if n > 0 {
                        src.push_str(COMMAS[rng.below(COMMAS.len())]);
                    }
                    src.push_str(KEYS[*k]);
                    src.push_str(COLONS[*c]);
                    src.push_str(v);
                }
                // Now and then a comma too many.
                src.push_str([",", ""][rng.below(8).min(1)]);
                src.push_str(["}", " }", "}\n"][rng.below(3)]);

                let (plain, ok) = members_of(&src);
                let mut record = KeyLayout::default();
                let mut got = Vec::new();
                let mut guided_all = true;
                let result = for_each_member_guided(&src, &guides, Some(&mut record), |at, m| {
                    guided_all &= at.is_some();
                    got.push(m);
                });
                assert_eq!(result.is_ok(), ok, "{src}");
                assert_eq!(got, plain, "{src}");
                let Ok(guided) = result else {
                    invalid += 1;
                    continue;
                };
                if guided.whole {
                    whole += 1;
                    assert!(guided_all, "{src}");
                    let followed = guided.followed.map(|(g, n)| (n, guides[g].len()));
                    assert_eq!(followed, Some((plain.len(), plain.len())), "{src}");
                    continue;
                }
                partly += usize::from(guided.followed.is_some_and(|(_, n)| n > 0));
                if record.is_empty() {
                    continue;
                }
                // Its own layout guides the object whole.
                let mut again = Vec::new();
                let result =
                    for_each_member_guided(&src, std::slice::from_ref(&record), None, |at, m| {
                        assert!(at.is_some(), "{src}");
                        again.push(m);
                    });
                assert_eq!(result.map(|g| g.whole), Ok(true), "{src}");
                assert_eq!(again, plain, "{src}");
                guides.insert(0, record);
                guides.truncate(3);
            }
        }
        // Each outcome is exercised.
        assert!(
            whole > 500 && partly > 500 && invalid > 500,
            "{whole} {partly} {invalid}"
        );
    }
}
