//! Reads the exception out of a grouped trace: its type, message, language and frames.
//! Works on a group's text (a header line may come first) and on a bare stack string
//! taken from a JSON log line. Chained traces report the FIRST exception printed (Java's
//! outer exception before `Caused by:`, .NET's outer exception before ` ---> `, Python's
//! first traceback) and the frames printed right after it.

use std::borrow::Cow;

use crate::bytes::{contains_str, find_str, rfind_str, rsplit_once_str, split_once_str};
use crate::grouper::{self, contains, indent};
use crate::language::{Language, LanguageSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Function or method (`charge`, `PaymentService.charge`, `main.main.func1`).
    pub function: Cow<'a, str>,
    /// Class, package or module (`com.acme.PaymentService`, `app.billing`), when known.
    pub module: Option<Cow<'a, str>>,
    pub file: Option<Cow<'a, str>>,
    pub line: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionInfo<'a> {
    /// `java.lang.IllegalStateException`, `ValueError`, `panic`, `TypeError`...
    pub kind: String,
    pub message: Cow<'a, str>,
    pub language: Option<Language>,
    /// Frames of the outermost trace, in the order printed.
    pub frames: Vec<Frame<'a>>,
    /// Byte offset in the text where the trace starts (after any header line).
    pub trace_start: usize,
}

/// At most this many frames are kept: the fingerprint and the alert need only the top.
const MAX_FRAMES: usize = 64;

/// Extracts the exception from a group's text (or from a JSON log line's stack field).
/// `hint` is the language the grouper recognized, if any.
pub fn extract(text: &str, hint: Option<Language>) -> Option<ExceptionInfo<'_>> {
    let lines = Lines::new(text);
    let lang = hint.or_else(|| detect(&lines))?;
    let mut info = match lang {
        Language::Java | Language::Dotnet => at_style(&lines, lang),
        Language::Node => at_style(&lines, lang),
        Language::Python => python(&lines),
        Language::Go => go(&lines),
        Language::Ruby => ruby(&lines),
        Language::Php => php(&lines),
        Language::Rust => rust(&lines),
        Language::Dart => dart(&lines),
    }?;
    info.language = Some(lang);
    info.frames.truncate(MAX_FRAMES);
    Some(info)
}

/// The lines of a text with their byte offsets, trailing '\r' and spaces trimmed.
struct Lines<'a> {
    items: Vec<(usize, &'a str)>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        // Trace lines are rarely shorter than this: one allocation for most traces.
        let mut items = Vec::with_capacity(text.len() / 32 + 1);
        let b = text.as_bytes();
        let mut offset = 0;
        loop {
            let end = crate::bytes::find(b, offset, b'\n');
            items.push((offset, text[offset..end].trim_end()));
            if end == b.len() {
                break;
            }
            offset = end + 1;
        }
        Self { items }
    }

    fn iter(&self) -> impl Iterator<Item = (usize, &'a str)> + '_ {
        self.items.iter().copied()
    }
}

/// Guesses the language of a bare stack string.
fn detect(lines: &Lines<'_>) -> Option<Language> {
    let all = LanguageSet::all();
    for (_, line) in lines.iter() {
        let b = line.as_bytes();
        let r = &b[indent(b)..];
        if b.ends_with(b"Traceback (most recent call last):") {
            return Some(Language::Python);
        }
        if r.starts_with(b"panic: ")
            || r.starts_with(b"fatal error: ")
            || r.starts_with(b"goroutine ")
        {
            return Some(Language::Go);
        }
        if r.starts_with(b"thread '") && contains(r, b"' panicked at") {
            return Some(Language::Rust);
        }
        if r == b"Unhandled exception:" {
            return Some(Language::Dart);
        }
        if grouper::php_fatal(r)
            || (r.starts_with(b"exception '") && contains(r, b"' with message '"))
        {
            return Some(Language::Php);
        }
        if grouper::ruby_exception_line(r) || (indent(b) > 0 && r.starts_with(b"from ")) {
            return Some(Language::Ruby);
        }
        if indent(b) > 0 && r.starts_with(b"at ") {
            return grouper::at_frame_language(r, None, all);
        }
    }
    for (_, line) in lines.iter() {
        if line.starts_with("System.") && grouper::exception_shape(line.as_bytes()).is_some() {
            return Some(Language::Dotnet);
        }
    }
    None
}

/// Java, Kotlin, Scala, .NET and Node.js: an exception line and `at ...` frames.
fn at_style<'a>(lines: &Lines<'a>, lang: Language) -> Option<ExceptionInfo<'a>> {
    let mut exc: Option<(usize, &str)> = None;
    let mut exc_index = 0;
    for (i, (offset, line)) in lines.iter().enumerate() {
        let b = line.as_bytes();
        let ind = indent(b);
        let r = &line[ind..];
        if ind > 0 && r.starts_with("at ") {
            break;
        }
        if ind == 0 {
            if let Some(rest) = r.strip_prefix("Exception in thread \"") {
                if let Some(q) = rest.find("\" ") {
                    let start = offset + "Exception in thread \"".len() + q + 2;
                    exc = Some((start, &rest[q + 2..]));
                    exc_index = i;
                    break;
                }
            }
            let unwrapped = r
                .strip_prefix("Unhandled exception. ")
                .or_else(|| r.strip_prefix("Uncaught "));
            if let Some(u) = unwrapped {
                if grouper::exception_shape(u.as_bytes()).is_some() {
                    exc = Some((offset + (r.len() - u.len()), u));
                    exc_index = i;
                    break;
                }
            }
            if grouper::exception_shape(r.as_bytes()).is_some() {
                exc = Some((offset, r));
                exc_index = i;
                break;
            }
        }
    }
    let first_frame = lines
        .iter()
        .position(|(_, l)| indent(l.as_bytes()) > 0 && l.trim_start().starts_with("at "));
    if exc.is_none() {
        // The exception may sit inside the header line (`... MakeLog: RuntimeException: msg`).
        let (offset, header) = match first_frame {
            Some(0) | None => lines.iter().next()?,
            Some(f) => lines.items[f - 1],
        };
        exc = embedded_exception(header).map(|(at, e)| (offset + at, e));
        exc_index = lines
            .iter()
            .position(|(o, _)| o == offset)
            .unwrap_or_default();
    }
    if exc.is_none() && lang == Language::Node {
        if let Some(info) = node_bracketed_error(lines) {
            return Some(info);
        }
    }
    let (trace_start, exc_line) = match exc {
        Some(e) => e,
        None => {
            let f = first_frame?;
            (lines.items[f].0, "")
        }
    };
    let (kind, mut message) = split_exception(exc_line);
    if lang == Language::Dotnet {
        if let Some(p) = find_str(&message, " ---> ") {
            message = truncated(message, p);
        }
    }
    // Frameless lines between the exception line and the first frame belong to the message.
    let mut frames = Vec::new();
    let mut in_message = exc.is_some();
    for (_, line) in lines.iter().skip(exc_index + 1) {
        let b = line.as_bytes();
        let ind = indent(b);
        let r = line[ind..].trim_end();
        if r.starts_with("at ") && ind > 0 {
            in_message = false;
            if frames.len() < MAX_FRAMES {
                frames.push(match lang {
                    Language::Node => node_frame(&r[3..]),
                    Language::Dotnet => dotnet_frame(&r[3..]),
                    _ => java_frame(&r[3..]),
                });
            }
            if lang == Language::Node && r.ends_with('{') {
                break;
            }
            continue;
        }
        if r.starts_with("---> ") && in_message {
            in_message = false;
            continue;
        }
        if r.starts_with("Caused by:")
            || r.starts_with("Suppressed:")
            || r.starts_with("--- End of inner exception")
        {
            break;
        }
        if in_message && !r.is_empty() && r != "^" {
            if ind == 0 && grouper::exception_shape(r.as_bytes()).is_some() {
                in_message = false;
                continue;
            }
            let m = message.to_mut();
            m.push('\n');
            m.push_str(r);
            continue;
        }
        if !frames.is_empty()
            && ind == 0
            && !r.is_empty()
            && !r.starts_with("--- End of stack trace")
            && !r.starts_with("...")
        {
            break;
        }
    }
    let kind = if kind.is_empty() {
        match lang {
            Language::Dotnet => "Exception".into(),
            Language::Node => "Error".into(),
            _ => "Throwable".into(),
        }
    } else {
        kind
    };
    Some(ExceptionInfo {
        kind: kind.into_owned(),
        message: trimmed(message),
        language: Some(lang),
        frames,
        trace_start,
    })
}

/// `[UnhandledPromiseRejection: This error originated ...] {`: an error Node prints by
/// its `[Name: message]` inspection, without frames.
fn node_bracketed_error<'a>(lines: &Lines<'a>) -> Option<ExceptionInfo<'a>> {
    let (offset, line) = lines.iter().find(|(_, l)| {
        l.starts_with('[') && contains_str(l, ": ") && l.trim_end_matches(" {").ends_with(']')
    })?;
    let inner = line.trim_end_matches(" {");
    let inner = &inner[1..inner.len() - 1];
    let (kind, message) = split_once_str(inner, ": ")?;
    Some(ExceptionInfo {
        kind: kind.into(),
        message: message.into(),
        language: Some(Language::Node),
        frames: Vec::new(),
        trace_start: offset,
    })
}

/// Finds `SomeException: msg` inside a header line; the offset of the name and the rest.
fn embedded_exception(line: &str) -> Option<(usize, &str)> {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let at_word = i == 0 || matches!(b[i - 1], b' ' | b'\t' | b'[' | b'(');
        if at_word && grouper::exception_shape(&b[i..]).is_some() {
            return Some((i, &line[i..]));
        }
        i += 1;
    }
    // `IndexNotFoundException[no such index]`: a name ending in Exception/Error anywhere.
    for (start, word) in words(line) {
        let name_len = word
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'$'))
            .count();
        let name = &word[..name_len];
        if name.ends_with("Exception") || name.ends_with("Error") {
            return Some((start, &line[start..]));
        }
    }
    None
}

fn words(line: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    line.split(' ').map(move |w| {
        let start = offset;
        offset += w.len() + 1;
        (start, w)
    })
}

/// The first `len` bytes of `s`, without copying borrowed text.
fn truncated(s: Cow<'_, str>, len: usize) -> Cow<'_, str> {
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(&b[..len]),
        Cow::Owned(mut o) => {
            o.truncate(len);
            Cow::Owned(o)
        }
    }
}

/// `s` without leading and trailing whitespace, without copying borrowed text.
fn trimmed(s: Cow<'_, str>) -> Cow<'_, str> {
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
        Cow::Owned(o) if o.trim().len() == o.len() => Cow::Owned(o),
        Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
    }
}

/// `pkg.Type: message` → (`pkg.Type`, `message`); `Name [CODE]: msg` → (`Name`, `msg`).
fn split_exception(line: &str) -> (Cow<'_, str>, Cow<'_, str>) {
    let b = line.as_bytes();
    let name_end = match grouper::exception_shape(b) {
        Some(s) => s.name_end,
        None => b
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'$'))
            .count(),
    };
    let kind = line[..name_end].into();
    let rest = &line[name_end..];
    let message = match find_str(rest, ": ") {
        Some(p) => rest[p + 2..].into(),
        None => rest.trim_start_matches(':').trim().into(),
    };
    (kind, message)
}

/// `com.acme.Billing.charge(Billing.java:42)`, `java.base/java.lang.Thread.run(...)`.
fn java_frame(s: &str) -> Frame<'_> {
    let (qual, loc) = match s.find('(') {
        Some(p) => (&s[..p], s[p + 1..].trim_end_matches(')')),
        None => (s.trim_end_matches('.'), ""),
    };
    let qual = qual.rsplit('/').next().unwrap_or(qual);
    let (module, function) = split_last(qual, '.');
    let (file, line) = file_line(loc);
    Frame {
        function: function.into(),
        module: module.map(Cow::Borrowed),
        file,
        line,
    }
}

/// `Ns.Type.Method(args) in c:/src/File.cs:line 33`, Mono's
/// `Ns.Type.Method (args) [0x00007] in /src/File.cs:27`.
fn dotnet_frame(s: &str) -> Frame<'_> {
    let paren = s.find('(').unwrap_or(s.len());
    let qual = s[..paren].trim_end();
    let (file, line) = match rfind_str(s, " in ") {
        Some(p) => {
            let loc = &s[p + 4..];
            match rfind_str(loc, ":line ") {
                Some(q) => (Some(loc[..q].into()), loc[q + 6..].trim().parse().ok()),
                None => file_line(loc),
            }
        }
        None => (None, None),
    };
    let (module, function) = split_last_outside_brackets(qual);
    Frame {
        function: function.into(),
        module: module.map(Cow::Borrowed),
        file,
        line,
    }
}

/// `fn (file:line:col)`, `file:line:col`, `async fn (...)`, `new X (...)`, `fn [as m] (...)`.
fn node_frame(s: &str) -> Frame<'_> {
    let s = s.strip_prefix("async ").unwrap_or(s);
    let s = s.trim_end_matches('{').trim_end();
    let (function, loc) = match (find_str(s, " ("), s.ends_with(')')) {
        (Some(p), true) => (&s[..p], &s[p + 2..s.len() - 1]),
        _ if s.contains(':') || s.starts_with('/') => ("<anonymous>", s),
        _ => (s, ""),
    };
    let function = match find_str(function, " [as ") {
        Some(p) => &function[..p],
        None => function,
    };
    let (file, line) = file_line_col(loc);
    Frame {
        function: function.into(),
        module: file.clone(),
        file,
        line,
    }
}

/// `path:line` → (path, line).
fn file_line(loc: &str) -> (Option<Cow<'_, str>>, Option<u32>) {
    match loc.rsplit_once(':') {
        Some((file, line)) if !file.is_empty() && line.trim().parse::<u32>().is_ok() => {
            (Some(file.into()), line.trim().parse().ok())
        }
        _ if loc.is_empty() || loc == "Native Method" || loc == "Unknown Source" => (None, None),
        _ => (Some(loc.into()), None),
    }
}

/// `path:line:col` (or `path:line`) → (path without query, line).
fn file_line_col(loc: &str) -> (Option<Cow<'_, str>>, Option<u32>) {
    if loc.is_empty() || loc == "native" || loc == "<anonymous>" {
        return (None, None);
    }
    let mut parts = loc.rsplitn(3, ':');
    let last = parts.next().unwrap_or("");
    let mid = parts.next();
    let head = parts.next();
    let (file, line) = match (head, mid) {
        (Some(h), Some(m)) if m.parse::<u32>().is_ok() && last.parse::<u32>().is_ok() => {
            (h, m.parse().ok())
        }
        _ => match loc.rsplit_once(':') {
            Some((f, l)) if l.parse::<u32>().is_ok() => (f, l.parse().ok()),
            _ => (loc, None),
        },
    };
    let file = file.split('?').next().unwrap_or(file);
    let file = file.strip_prefix("file://").unwrap_or(file);
    (Some(file.into()), line)
}

fn split_last(qual: &str, sep: char) -> (Option<&str>, &str) {
    match qual.rfind(sep) {
        Some(p) if p > 0 => (Some(&qual[..p]), &qual[p + 1..]),
        _ => (None, qual),
    }
}

/// Splits `A.B`1[X.Y].Method` at the last '.' outside brackets.
fn split_last_outside_brackets(qual: &str) -> (Option<&str>, &str) {
    let mut depth = 0i32;
    let mut split = None;
    for (i, c) in qual.char_indices() {
        match c {
            '[' | '<' => depth += 1,
            ']' | '>' => depth -= 1,
            '.' if depth == 0 => split = Some(i),
            _ => {}
        }
    }
    match split {
        Some(p) if p > 0 => (Some(&qual[..p]), &qual[p + 1..]),
        _ => (None, qual),
    }
}

/// Strips an ExceptionGroup margin (`  | `) so the line keeps its own indentation.
fn python_unmargin(line: &str) -> &str {
    let t = line.trim_start();
    match t.strip_prefix('|') {
        Some(rest) => rest.strip_prefix(' ').unwrap_or(rest),
        None if t.starts_with("+-") || t.starts_with("+ ") => "",
        None => line,
    }
}

fn python<'a>(lines: &Lines<'a>) -> Option<ExceptionInfo<'a>> {
    let tb = b"Traceback (most recent call last):";
    let (start_index, (offset, line)) = lines
        .iter()
        .enumerate()
        .find(|(_, (_, l))| l.as_bytes().ends_with(tb))?;
    // `  + Exception Group Traceback ...` starts at its margin; a logging prefix before a
    // plain `Traceback` is not part of the trace.
    let at = match find_str(line, "Exception Group Traceback") {
        Some(_) => indent(line.as_bytes()),
        None => find_str(line, "Traceback").unwrap_or(0),
    };
    let trace_start = offset + at;
    let mut frames = Vec::new();
    let mut kind = Cow::Borrowed("");
    let mut message = Cow::Borrowed("");
    for (_, raw) in lines.iter().skip(start_index + 1) {
        let line = python_unmargin(raw);
        if line.trim().is_empty() {
            continue;
        }
        let ind = indent(line.as_bytes());
        let r = &line[ind..];
        if let Some(rest) = r.strip_prefix("File \"") {
            if let Some(q) = rest.find('"') {
                let file = &rest[..q];
                let after = &rest[q + 1..];
                let line_no = after
                    .strip_prefix(", line ")
                    .map(|s| s.bytes().take_while(u8::is_ascii_digit).count())
                    .and_then(|n| after[7..7 + n].parse().ok());
                let function = after
                    .rsplit(", in ")
                    .next()
                    .filter(|_| contains_str(after, ", in "));
                frames.push(Frame {
                    function: function.unwrap_or("<module>").into(),
                    module: Some(python_module(file)),
                    file: Some(file.into()),
                    line: line_no,
                });
            }
            continue;
        }
        if ind > 0 {
            continue;
        }
        match r.find(':') {
            Some(p) if !r[..p].contains(' ') => {
                kind = r[..p].into();
                message = r[p + 1..].trim().into();
            }
            _ => kind = r.into(),
        }
        break;
    }
    if kind.is_empty() {
        kind = "Exception".into();
    }
    Some(ExceptionInfo {
        kind: kind.into_owned(),
        message,
        language: Some(Language::Python),
        frames,
        trace_start,
    })
}

/// `/usr/lib/python3.10/http/client.py` → `http.client`; `/app/billing/charge.py` → `charge`.
fn python_module(file: &str) -> Cow<'_, str> {
    let file = file.strip_suffix(".py").unwrap_or(file);
    for marker in ["site-packages/", "dist-packages/"] {
        if let Some(p) = file.rfind(marker) {
            return file[p + marker.len()..].replace('/', ".").into();
        }
    }
    if let Some(p) = find_str(file, "/lib/python") {
        let rest = &file[p + 11..];
        if let Some(slash) = rest.find('/') {
            return rest[slash + 1..].replace('/', ".").into();
        }
    }
    file.rsplit('/').next().unwrap_or(file).into()
}

fn go<'a>(lines: &Lines<'a>) -> Option<ExceptionInfo<'a>> {
    let mut kind = Cow::Borrowed("");
    let mut message = Cow::Borrowed("");
    let mut trace_start = None;
    let mut frames = Vec::new();
    let mut in_stack = false;
    let mut pending: Option<Frame> = None;
    let mut prev_line = "";
    for (offset, line) in lines.iter() {
        let b = line.as_bytes();
        let ind = indent(b);
        let r = &line[ind..];
        if !in_stack {
            if kind.is_empty() {
                for (prefix, k) in [("panic: ", "panic"), ("fatal error: ", "fatal error")] {
                    if let Some(m) = r.strip_prefix(prefix) {
                        kind = k.into();
                        message = m.trim_end_matches(" [recovered]").into();
                        trace_start = Some(offset);
                    }
                }
                if kind.is_empty() && r.starts_with("SIG") {
                    if let Some((sig, m)) = split_once_str(r, ": ") {
                        kind = sig.into();
                        message = m.into();
                        trace_start = Some(offset);
                    }
                }
            }
            if r.starts_with("goroutine ") || r.starts_with("runtime stack:") {
                in_stack = true;
                if kind.is_empty() {
                    kind = "panic".into();
                    trace_start = Some(offset);
                    // `http: panic serving 1.2.3.4:5: msg` in the header line before.
                    message = match find_str(prev_line, "panic serving ") {
                        Some(p) => {
                            let after = &prev_line[p + 14..];
                            split_once_str(after, ": ").map_or(after, |(_, m)| m).into()
                        }
                        None => prev_line.into(),
                    };
                }
            }
            prev_line = line;
            continue;
        }
        if r.is_empty() || r.starts_with("goroutine ") {
            break;
        }
        if ind > 0 {
            if let Some(f) = pending.as_mut() {
                let token = r.split(' ').next().unwrap_or(r);
                let (file, line) = file_line(token);
                f.file = file;
                f.line = line;
            }
            continue;
        }
        if let Some(f) = pending.take() {
            frames.push(f);
        }
        if r.starts_with("created by ") {
            continue;
        }
        if let Some(p) = r.rfind('(') {
            let (module, function) = go_symbol(&r[..p]);
            pending = Some(Frame {
                function: function.into(),
                module: module.map(Cow::Borrowed),
                file: None,
                line: None,
            });
        }
    }
    frames.extend(pending);
    Some(ExceptionInfo {
        kind: if kind.is_empty() {
            "panic".into()
        } else {
            kind.into_owned()
        },
        message,
        language: Some(Language::Go),
        frames,
        trace_start: trace_start?,
    })
}

/// `net/http.(*conn).serve.func1` → (`net/http`, `(*conn).serve.func1`).
fn go_symbol(sym: &str) -> (Option<&str>, &str) {
    let pkg_start = sym.rfind('/').map_or(0, |p| p + 1);
    match sym[pkg_start..].find('.') {
        Some(d) => (Some(&sym[..pkg_start + d]), &sym[pkg_start + d + 1..]),
        None => (None, sym),
    }
}

fn ruby<'a>(lines: &Lines<'a>) -> Option<ExceptionInfo<'a>> {
    let mut kind = Cow::Borrowed("");
    let mut message = Cow::Borrowed("");
    let mut trace_start = None;
    let mut frames = Vec::new();
    for (offset, raw) in lines.iter() {
        let (line, base) = match grouper::rails_payload(raw) {
            Some(p) => (p, offset + (raw.len() - p.len())),
            None => (raw, offset),
        };
        let ind = indent(line.as_bytes());
        let r = line[ind..].trim_end();
        if r.is_empty() {
            continue;
        }
        if kind.is_empty() {
            if grouper::ruby_exception_line(r.as_bytes()) {
                // `file.rb:6:in `meth': message (Class)`
                trace_start = Some(base + ind);
                if let (Some(open), true) = (rfind_str(r, " ("), r.ends_with(')')) {
                    kind = r[open + 2..r.len() - 1].into();
                    let head = &r[..open];
                    message = match find_str(head, "': ") {
                        Some(q) => head[q + 3..].into(),
                        None => Cow::Borrowed(""),
                    };
                    frames.push(ruby_frame(head));
                }
                continue;
            }
            if let Some(open) = find_str(r, " (") {
                if r.ends_with("):")
                    && r[..open]
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b':' || c == b'_')
                {
                    kind = r[..open].into();
                    message = r[open + 2..r.len() - 2].into();
                    trace_start = Some(base + ind);
                    continue;
                }
            }
        }
        if contains(r.as_bytes(), b".rb:") {
            let r = r.strip_prefix("from ").unwrap_or(r);
            frames.push(ruby_frame(r));
            if trace_start.is_none() {
                trace_start = Some(base + ind);
            }
        }
    }
    Some(ExceptionInfo {
        kind: if kind.is_empty() {
            "RuntimeError".into()
        } else {
            kind.into_owned()
        },
        message,
        language: Some(Language::Ruby),
        frames,
        trace_start: trace_start?,
    })
}

/// `app/models/user.rb:12:in `save'`, `actionpack (5.1.4) lib/x.rb:63:in `call'`.
fn ruby_frame(r: &str) -> Frame<'_> {
    let (gem, path_part) = match find_str(r, ") ") {
        Some(p) if r[..p].contains(" (") => (r.split(" (").next(), &r[p + 2..]),
        _ => (None, r),
    };
    let rb = find_str(path_part, ".rb:").map_or(path_part.len(), |p| p + 3);
    let file = &path_part[..rb];
    let after = path_part.get(rb + 1..).unwrap_or("");
    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
    let line = after[..digits].parse().ok();
    // `in `meth'` (Ruby < 3.4) or `in 'Class#meth'`: up to the closing quote.
    let function = after[digits..]
        .strip_prefix(":in ")
        .map(|f| f.trim_start_matches(['`', '\'']))
        .map(|f| f.split('\'').next().unwrap_or(f))
        .unwrap_or("");
    let module = match (gem, rfind_str(file, "/gems/")) {
        (Some(g), _) => g.into(),
        // `/var/lib/gems/3.0.0/gems/actionpack-7.0.4/lib/...`: the gem, without its version.
        (None, Some(p)) => {
            let gem_dir = file[p + 6..].split('/').next().unwrap_or("");
            match gem_dir.rfind('-') {
                Some(d) => gem_dir[..d].into(),
                None => gem_dir.into(),
            }
        }
        (None, None) => file.strip_suffix(".rb").unwrap_or(file).into(),
    };
    Frame {
        function: function.into(),
        module: Some(module),
        file: Some(file.into()),
        line,
    }
}

fn php<'a>(lines: &Lines<'a>) -> Option<ExceptionInfo<'a>> {
    let mut kind = Cow::Borrowed("");
    let mut message = Cow::Borrowed("");
    let mut trace_start = None;
    let mut frames = Vec::new();
    for (offset, line) in lines.iter() {
        let r = line.trim_start();
        if kind.is_empty() {
            let body = if let Some(p) = find_str(r, "Uncaught ") {
                Some(&r[p + 9..])
            } else if r.starts_with("exception '") {
                Some(r)
            } else {
                None
            };
            if let Some(body) = body {
                trace_start = Some(offset + (line.len() - r.len()));
                if let Some(rest) = body.strip_prefix("exception '") {
                    // PHP 5: exception 'X' with message 'm' in /f.php:5
                    let q = rest.find('\'').unwrap_or(rest.len());
                    kind = rest[..q].into();
                    if let Some(m) = find_str(rest, "with message '") {
                        let m = &rest[m + 14..];
                        let end = rfind_str(m, "' in ").unwrap_or(m.len());
                        message = m[..end].into();
                    }
                } else {
                    let (k, m) = split_exception(body);
                    kind = k;
                    message = match rfind_str(&m, " in /") {
                        Some(p) => truncated(m, p),
                        None => m,
                    };
                }
                continue;
            }
        }
        if let Some(rest) = r.strip_prefix('#') {
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            if n > 0 {
                frames.push(php_frame(rest[n..].trim_start()));
            }
        }
    }
    Some(ExceptionInfo {
        kind: if kind.is_empty() {
            "Error".into()
        } else {
            kind.into_owned()
        },
        message,
        language: Some(Language::Php),
        frames,
        trace_start: trace_start?,
    })
}

/// `/f.php(9): Class->method(args)`, `[internal function]: X::{closure}()`, `{main}`.
fn php_frame(s: &str) -> Frame<'_> {
    let (loc, call) = match find_str(s, "): ").or_else(|| find_str(s, "]: ")) {
        Some(p) => (&s[..=p], &s[p + 3..]),
        None => ("", s),
    };
    let (file, line) = match loc.rfind('(') {
        Some(p) => (
            Some(loc[..p].into()),
            loc[p + 1..loc.len() - 1].parse().ok(),
        ),
        None => (None, None),
    };
    let call = match call.find('(') {
        Some(p) if p > 0 => &call[..p],
        _ => call,
    };
    let (module, function) = match find_str(call, "->").or_else(|| find_str(call, "::")) {
        Some(p) => (Some(call[..p].into()), &call[p + 2..]),
        None => (None, call),
    };
    Frame {
        function: function.into(),
        module,
        file,
        line,
    }
}

fn rust<'a>(lines: &Lines<'a>) -> Option<ExceptionInfo<'a>> {
    let items = &lines.items;
    let (index, (offset, line)) = items
        .iter()
        .copied()
        .enumerate()
        .find(|(_, (_, l))| l.trim_start().starts_with("thread '"))?;
    let trace_start = offset + (line.len() - line.trim_start().len());
    let after = split_once_str(line, "panicked at ").map_or("", |(_, a)| a);
    let message = if let Some(old) = after.strip_prefix('\'') {
        rsplit_once_str(old, "', ").map_or(old, |(m, _)| m).into()
    } else {
        items
            .get(index + 1)
            .map(|(_, l)| Cow::Borrowed(*l))
            .filter(|l| !l.starts_with("note: ") && !l.starts_with("stack backtrace:"))
            .unwrap_or_default()
    };
    let mut frames: Vec<Frame> = Vec::new();
    for (_, l) in items.iter().skip(index + 1) {
        let r = l.trim_start();
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n > 0 && r[n..].starts_with(": ") {
            let sym = r[n + 2..].trim();
            let sym = match rfind_str(sym, "::h") {
                Some(p) if sym.len() - p == 19 => &sym[..p],
                _ => sym,
            };
            let (module, function) = match rfind_str(sym, "::") {
                Some(p) => (Some(sym[..p].into()), &sym[p + 2..]),
                None => (None, sym),
            };
            frames.push(Frame {
                function: function.into(),
                module,
                file: None,
                line: None,
            });
        } else if let (Some(at), Some(f)) = (r.strip_prefix("at "), frames.last_mut()) {
            let (file, line) = file_line_col(at);
            f.file = file;
            f.line = line;
        }
    }
    Some(ExceptionInfo {
        kind: "panic".into(),
        message,
        language: Some(Language::Rust),
        frames,
        trace_start,
    })
}

fn dart<'a>(lines: &Lines<'a>) -> Option<ExceptionInfo<'a>> {
    let items = &lines.items;
    let index = items
        .iter()
        .position(|(_, l)| l.trim() == "Unhandled exception:")?;
    let trace_start = items[index].0;
    let first = items.get(index + 1).map_or("", |(_, l)| *l).trim();
    let (kind, message) = if let Some(rest) = first.strip_prefix("Instance of '") {
        (rest.trim_end_matches('\'').into(), Cow::Borrowed(""))
    } else if grouper::exception_shape(first.as_bytes()).is_some() {
        split_exception(first)
    } else {
        ("UnhandledException".into(), first.into())
    };
    let mut frames = Vec::new();
    for (_, l) in items.iter().skip(index + 1) {
        let Some(rest) = l.trim_start().strip_prefix('#') else {
            continue;
        };
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            continue;
        }
        let body = rest[n..].trim();
        let (function, loc) = match (rfind_str(body, " ("), body.ends_with(')')) {
            (Some(p), true) => (&body[..p], &body[p + 2..body.len() - 1]),
            _ => (body, ""),
        };
        let (file, line) = file_line_col(loc);
        frames.push(Frame {
            function: function.into(),
            module: file.clone(),
            file,
            line,
        });
    }
    Some(ExceptionInfo {
        kind: kind.into_owned(),
        message,
        language: Some(Language::Dart),
        frames,
        trace_start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(text: &str, hint: Option<Language>) -> ExceptionInfo<'_> {
        extract(text, hint).unwrap_or_else(|| panic!("no exception in {text:?}"))
    }

    #[test]
    fn java_chain_reports_the_first_exception_and_its_frames() {
        let text = "2026-11-20 10:00:00 ERROR c.a.Billing - charge failed\n\
            java.lang.IllegalStateException: charge failed\n\
            \tat com.acme.Billing.charge(Billing.java:42)\n\
            \tat java.base/java.lang.Thread.run(Thread.java:833)\n\
            Caused by: java.net.SocketTimeoutException: Read timed out\n\
            \tat java.net.SocketInputStream.read(SocketInputStream.java:1)\n\
            \t... 2 more";
        let e = get(text, Some(Language::Java));
        assert_eq!(e.kind, "java.lang.IllegalStateException");
        assert_eq!(e.message, "charge failed");
        assert_eq!(e.frames.len(), 2);
        assert_eq!(e.frames[0].module.as_deref(), Some("com.acme.Billing"));
        assert_eq!(e.frames[0].function, "charge");
        assert_eq!(e.frames[0].file.as_deref(), Some("Billing.java"));
        assert_eq!(e.frames[0].line, Some(42));
        assert_eq!(e.frames[1].module.as_deref(), Some("java.lang.Thread"));
        assert!(text[e.trace_start..].starts_with("java.lang.IllegalStateException"));
    }

    #[test]
    fn exception_in_thread_and_multi_line_messages() {
        let e = get(
            "Exception in thread \"main\" java.sql.SQLException: refused:\nORA-12521, listener\n    at oracle.jdbc.T4C.logon(T4C.java:698)",
            Some(Language::Java),
        );
        assert_eq!(e.kind, "java.sql.SQLException");
        assert_eq!(e.message, "refused:\nORA-12521, listener");
        assert_eq!(e.frames.len(), 1);
    }

    #[test]
    fn python_chain_reports_the_first_traceback() {
        let text = "Traceback (most recent call last):\n  File \"/app/db.py\", line 7, in load\n    open(p)\n\
            FileNotFoundError: [Errno 2] No such file\n\nDuring handling of the above exception, another exception occurred:\n\n\
            Traceback (most recent call last):\n  File \"/app/main.py\", line 3, in <module>\nRuntimeError: boom";
        let e = get(text, Some(Language::Python));
        assert_eq!(e.kind, "FileNotFoundError");
        assert_eq!(e.message, "[Errno 2] No such file");
        assert_eq!(e.frames.len(), 1);
        assert_eq!(e.frames[0].function, "load");
        assert_eq!(e.frames[0].module.as_deref(), Some("db"));
        assert_eq!(e.frames[0].line, Some(7));
    }

    #[test]
    fn python_modules_come_from_site_packages_paths() {
        assert_eq!(
            python_module("/usr/lib/python3.11/site-packages/requests/adapters.py"),
            "requests.adapters"
        );
        assert_eq!(
            python_module("/usr/lib/python3.10/http/client.py"),
            "http.client"
        );
    }

    #[test]
    fn dotnet_outer_exception_and_inner_frames() {
        let text = "System.InvalidOperationException: outer ---> System.IO.IOException: inner\n   \
            at Shop.Store.Read() in /src/Store.cs:line 33\n   \
            --- End of inner exception stack trace ---\n   \
            at Shop.Program.Main(String[] args) in /src/Program.cs:line 11";
        let e = get(text, Some(Language::Dotnet));
        assert_eq!(e.kind, "System.InvalidOperationException");
        assert_eq!(e.message, "outer");
        assert_eq!(e.frames.len(), 1);
        assert_eq!(e.frames[0].module.as_deref(), Some("Shop.Store"));
        assert_eq!(e.frames[0].function, "Read");
        assert_eq!(e.frames[0].file.as_deref(), Some("/src/Store.cs"));
        assert_eq!(e.frames[0].line, Some(33));
    }

    #[test]
    fn a_bare_node_stack_from_a_json_field_is_recognized() {
        let e = get(
            "TypeError: Cannot read properties of undefined (reading 'id')\n    at getUser (/app/src/users.js:14:22)\n    at async /app/src/routes.js:9:5",
            None,
        );
        assert_eq!(e.language, Some(Language::Node));
        assert_eq!(e.kind, "TypeError");
        assert_eq!(e.frames[0].function, "getUser");
        assert_eq!(e.frames[0].file.as_deref(), Some("/app/src/users.js"));
        assert_eq!(e.frames[0].line, Some(14));
        assert_eq!(e.frames[1].function, "<anonymous>");
    }

    #[test]
    fn go_panic_frames_of_the_first_goroutine() {
        let text = "panic: assignment to entry in nil map\n\ngoroutine 1 [running]:\n\
            main.(*Cache).Put(...)\n\t/app/cache.go:12\nmain.main()\n\t/app/main.go:8 +0x1d\n\n\
            goroutine 2 [sleep]:\nruntime.gopark(0x0)\n\t/usr/local/go/src/runtime/proc.go:1 +0x1";
        let e = get(text, None);
        assert_eq!(e.language, Some(Language::Go));
        assert_eq!(
            (e.kind.as_str(), e.message.as_ref()),
            ("panic", "assignment to entry in nil map")
        );
        assert_eq!(e.frames.len(), 2);
        assert_eq!(e.frames[0].module.as_deref(), Some("main"));
        assert_eq!(e.frames[0].function, "(*Cache).Put");
        assert_eq!(e.frames[0].file.as_deref(), Some("/app/cache.go"));
        assert_eq!(e.frames[0].line, Some(12));
    }

    #[test]
    fn ruby_php_rust_and_dart() {
        let rb = get(
            "app.rb:6:in `divide': divided by 0 (ZeroDivisionError)\n\tfrom app.rb:9:in `<main>'",
            Some(Language::Ruby),
        );
        assert_eq!(
            (rb.kind.as_str(), rb.message.as_ref()),
            ("ZeroDivisionError", "divided by 0")
        );
        assert_eq!(rb.frames[0].function, "divide");
        assert_eq!(rb.frames[1].function, "<main>");

        let php = get(
            "PHP Fatal error:  Uncaught InvalidArgumentException: bad id in /app/src/Repo.php:20\nStack trace:\n\
             #0 /app/src/Ctl.php(8): App\\Repo->find('x')\n#1 {main}\n  thrown in /app/src/Repo.php on line 20",
            Some(Language::Php),
        );
        assert_eq!(
            (php.kind.as_str(), php.message.as_ref()),
            ("InvalidArgumentException", "bad id")
        );
        assert_eq!(php.frames[0].module.as_deref(), Some("App\\Repo"));
        assert_eq!(php.frames[0].function, "find");
        assert_eq!(php.frames[0].line, Some(8));

        let rs = get(
            "thread 'main' panicked at src/main.rs:2:5:\nindex out of bounds\nstack backtrace:\n   \
             0: app::load::h0123456789abcdef\n             at ./src/main.rs:2:5",
            Some(Language::Rust),
        );
        assert_eq!(
            (rs.kind.as_str(), rs.message.as_ref()),
            ("panic", "index out of bounds")
        );
        assert_eq!(rs.frames[0].module.as_deref(), Some("app"));
        assert_eq!(rs.frames[0].function, "load");
        assert_eq!(rs.frames[0].line, Some(2));

        let dart = get(
            "Unhandled exception:\nInstance of 'MyError'\n#0      main (file:///app/bin/main.dart:15:20)",
            Some(Language::Dart),
        );
        assert_eq!(dart.kind, "MyError");
        assert_eq!(dart.frames[0].function, "main");
        assert_eq!(dart.frames[0].line, Some(15));
    }

    #[test]
    fn exception_groups_and_bare_java_stacks() {
        let text = "  + Exception Group Traceback (most recent call last):\n  |   File \"/app/run.py\", line 4, in main\n  \
            | ExceptionGroup: two failures (2 sub-exceptions)\n  +-+---------------- 1 ----------------\n    | ValueError: a";
        let e = get(text, None);
        assert_eq!(e.language, Some(Language::Python));
        assert_eq!(e.kind, "ExceptionGroup");
        assert_eq!(e.frames[0].function, "main");
        assert_eq!(e.trace_start, 2);

        // A `stack_trace` field of a JSON log line (logstash-logback-encoder).
        let e = get(
            "java.lang.IllegalArgumentException: bad sku\n\tat com.acme.Catalog.find(Catalog.java:31)",
            None,
        );
        assert_eq!(e.language, Some(Language::Java));
        assert_eq!(e.kind, "java.lang.IllegalArgumentException");
        assert_eq!(e.frames[0].module.as_deref(), Some("com.acme.Catalog"));
    }

    #[test]
    fn node_unhandled_rejection_without_frames() {
        let text = "node:internal/process/promises:288\n    triggerUncaughtException(err, true);\n    ^\n\n\
            [UnhandledPromiseRejection: reason \"boom\".] {\n  code: 'ERR_UNHANDLED_REJECTION'\n}";
        let e = get(text, Some(Language::Node));
        assert_eq!(e.kind, "UnhandledPromiseRejection");
        assert_eq!(e.message, "reason \"boom\".");
        assert!(text[e.trace_start..].starts_with("[Unhandled"));
    }

    #[test]
    fn text_without_a_trace_gives_nothing() {
        assert_eq!(extract("user 42 logged in", None), None);
        assert_eq!(extract("", None), None);
    }
}
