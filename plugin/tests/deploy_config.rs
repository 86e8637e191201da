//! The shipped deployment files against what Fluent Bit and the filter really accept:
//! the `wasm` filter's keys, the tick record's settings, which tags reach which output
//! (rewrite_tag evaluated with Fluent Bit's string-only matching), the image paths, and
//! that the Kubernetes YAML parses and Terraform refers only to what it declares.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use cali_plugin::filter::Input;
use cali_plugin::settings::{Settings, TABLE, TICK_KEY};
use cali_plugin::timestamp::Timestamp;
use cali_plugin::Filter;
use serde_json::Value;

/// Keys Fluent Bit's `wasm` filter accepts (its config_map plus the keys every filter
/// has); any other key stops Fluent Bit at start-up.
const WASM_FILTER_KEYS: &[&str] = &[
    "name",
    "match",
    "match_regex",
    "alias",
    "wasm_path",
    "function_name",
    "event_format",
    "accessible_paths",
    "wasm_heap_size",
    "wasm_stack_size",
];

/// A tag as `tail` makes it from `Tag kube.*` and a container log path.
const CONTAINER_TAG: &str = "kube.var.log.containers.shop-7d9f_default_app-0123abcd.log";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> String {
    let path = repo().join(rel);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------
// Fluent Bit's classic configuration format, as much of it as the shipped files use.

#[derive(Debug, Clone)]
struct Section {
    name: String,
    entries: Vec<(String, String)>,
}

impl Section {
    /// The value of a key (keys are case-insensitive in Fluent Bit).
    fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, key: &str) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn plugin(&self) -> String {
        self.get("name").unwrap_or("").to_ascii_lowercase()
    }

    /// Whether this filter or output receives records of `tag`, as Fluent Bit routes:
    /// `Match_Regex` (a search) when set, else the `Match` wildcard.
    fn matches(&self, tag: &str) -> bool {
        if let Some(re) = self.get("match_regex") {
            return Regex::parse(re).search(tag);
        }
        self.get("match")
            .is_some_and(|pattern| wildcard(pattern, tag))
    }
}

fn parse_conf(text: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push(Section {
                name: name.to_ascii_uppercase(),
                entries: Vec::new(),
            });
            continue;
        }
        assert!(
            raw.starts_with(' '),
            "line {}: an entry must be indented: {raw:?}",
            n + 1
        );
        let (key, value) = line
            .split_once(char::is_whitespace)
            .unwrap_or_else(|| panic!("line {}: key without value", n + 1));
        let section = sections
            .last_mut()
            .unwrap_or_else(|| panic!("line {}: entry outside a section", n + 1));
        section
            .entries
            .push((key.to_string(), value.trim().to_string()));
    }
    sections
}

fn sections<'a>(conf: &'a [Section], kind: &str, plugin: &str) -> Vec<&'a Section> {
    conf.iter()
        .filter(|s| s.name == kind && s.plugin() == plugin)
        .collect()
}

fn one<'a>(conf: &'a [Section], kind: &str, plugin: &str) -> &'a Section {
    let found = sections(conf, kind, plugin);
    assert_eq!(found.len(), 1, "expected exactly one [{kind}] {plugin}");
    found[0]
}

/// Fluent Bit's size values (`4M`, `512K`, `1MB`, `64k`) in bytes.
fn size(value: &str) -> u64 {
    let v = value.trim().to_ascii_uppercase();
    let v = v.strip_suffix('B').unwrap_or(&v);
    let (digits, unit) = match v.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&v[..i], &v[i..]),
        None => (v, ""),
    };
    let n: u64 = digits
        .parse()
        .unwrap_or_else(|_| panic!("not a size: {value:?}"));
    n * match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        other => panic!("unknown size unit {other:?} in {value:?}"),
    }
}

/// Fluent Bit's `Match` wildcard: `*` matches any run of characters.
fn wildcard(pattern: &str, tag: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == tag,
        Some((head, rest)) => {
            tag.starts_with(head)
                && (0..=tag.len() - head.len()).any(|i| wildcard(rest, &tag[head.len() + i..]))
        }
    }
}

// ---------------------------------------------------------------------------------------
// A small backtracking regex for the patterns the configuration uses: literals, `\` escapes,
// `.`, `*`, `+`, `?`, groups with `|`, `^` and `$`. Unsupported syntax fails the test
// rather than being guessed at.

#[derive(Debug, Clone)]
enum Node {
    Char(char),
    Any,
    Start,
    End,
    Group(Vec<Vec<Node>>),
    Repeat(Box<Node>, usize, usize),
}

struct Regex {
    alternatives: Vec<Vec<Node>>,
}

impl Regex {
    fn parse(pattern: &str) -> Regex {
        let chars: Vec<char> = pattern.chars().collect();
        let mut at = 0;
        let alternatives = parse_alternatives(&chars, &mut at, pattern);
        assert_eq!(at, chars.len(), "unbalanced ')' in {pattern:?}");
        Regex { alternatives }
    }

    /// Like Onigmo's search: the pattern may match anywhere unless anchored.
    fn search(&self, text: &str) -> bool {
        let t: Vec<char> = text.chars().collect();
        (0..=t.len()).any(|start| {
            self.alternatives
                .iter()
                .any(|alt| match_seq(alt, &t, start, &mut |_| true))
        })
    }
}

fn parse_alternatives(chars: &[char], at: &mut usize, pattern: &str) -> Vec<Vec<Node>> {
    let mut alternatives = vec![Vec::new()];
    while *at < chars.len() {
        let c = chars[*at];
        *at += 1;
        let node = match c {
            '|' => {
                alternatives.push(Vec::new());
                continue;
            }
            ')' => {
                *at -= 1;
                break;
            }
            '(' => {
                let inner = parse_alternatives(chars, at, pattern);
                assert_eq!(chars.get(*at), Some(&')'), "unclosed '(' in {pattern:?}");
                *at += 1;
                Node::Group(inner)
            }
            '\\' => {
                let escaped = *chars
                    .get(*at)
                    .unwrap_or_else(|| panic!("trailing '\\' in {pattern:?}"));
                *at += 1;
                assert!(
                    !escaped.is_ascii_alphanumeric(),
                    "class escapes unsupported in {pattern:?}"
                );
                Node::Char(escaped)
            }
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '*' | '+' | '?' => {
                let current = alternatives.last_mut().expect("at least one alternative");
                let atom = current
                    .pop()
                    .unwrap_or_else(|| panic!("nothing to repeat in {pattern:?}"));
                let (min, max) = match c {
                    '*' => (0, usize::MAX),
                    '+' => (1, usize::MAX),
                    _ => (0, 1),
                };
                current.push(Node::Repeat(Box::new(atom), min, max));
                continue;
            }
            '[' | ']' | '{' | '}' => {
                panic!("character classes and counted repeats unsupported in {pattern:?}")
            }
            other => Node::Char(other),
        };
        alternatives
            .last_mut()
            .expect("at least one alternative")
            .push(node);
    }
    alternatives
}

/// Matches `seq` at `pos`, then hands the end position to `rest` (continuation passing
/// keeps backtracking through groups and repeats correct).
fn match_seq(seq: &[Node], t: &[char], pos: usize, rest: &mut dyn FnMut(usize) -> bool) -> bool {
    let Some((first, tail)) = seq.split_first() else {
        return rest(pos);
    };
    match_node(first, t, pos, &mut |next| match_seq(tail, t, next, rest))
}

fn match_node(node: &Node, t: &[char], pos: usize, rest: &mut dyn FnMut(usize) -> bool) -> bool {
    match node {
        Node::Char(c) => t.get(pos) == Some(c) && rest(pos + 1),
        Node::Any => pos < t.len() && t[pos] != '\n' && rest(pos + 1),
        Node::Start => pos == 0 && rest(pos),
        Node::End => pos == t.len() && rest(pos),
        Node::Group(alternatives) => alternatives.iter().any(|alt| match_seq(alt, t, pos, rest)),
        Node::Repeat(atom, min, max) => match_repeat(atom, *min, *max, t, pos, rest),
    }
}

fn match_repeat(
    atom: &Node,
    min: usize,
    max: usize,
    t: &[char],
    pos: usize,
    rest: &mut dyn FnMut(usize) -> bool,
) -> bool {
    // Greedy: one more repetition first (only if it consumes input), then stop here.
    if max > 0
        && match_node(atom, t, pos, &mut |next| {
            next > pos && match_repeat(atom, min.saturating_sub(1), max - 1, t, next, rest)
        })
    {
        return true;
    }
    min == 0 && rest(pos)
}

#[test]
fn the_regex_matcher_behaves_like_a_regex() {
    let re = Regex::parse(r"^(kube\..*|cali\.tick)$");
    assert!(re.search("kube.a"));
    assert!(re.search("cali.tick"));
    assert!(!re.search("cali.ticks"));
    assert!(!re.search("kubeXa"));
    assert!(!re.search("x.kube.a"));
    assert!(Regex::parse("b+c").search("aabbbcd"));
    assert!(!Regex::parse("^b+c").search("aabbbcd"));
    assert!(Regex::parse("^a?b$").search("b"));
    assert!(Regex::parse("^.*$").search(""));
    assert!(wildcard("kube.*", "kube.x.y"));
    assert!(!wildcard("kube.*", "cali.tick"));
    assert!(wildcard("cali.alert", "cali.alert"));
}

// ---------------------------------------------------------------------------------------
// The wasm filter and the tick.

fn production() -> Vec<Section> {
    parse_conf(&read("fluent-bit/fluent-bit.conf"))
}

fn local() -> Vec<Section> {
    parse_conf(&read("fluent-bit/fluent-bit.local.conf"))
}

fn dummy_tag(conf: &[Section]) -> String {
    one(conf, "INPUT", "dummy")
        .get("tag")
        .expect("the dummy input has a Tag")
        .to_string()
}

/// The lines of the Dockerfile's last stage: the image.
fn image_stage(dockerfile: &str) -> Vec<&str> {
    let lines: Vec<&str> = dockerfile.lines().collect();
    let last_from = lines
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .expect("the Dockerfile has a FROM");
    lines[last_from..].to_vec()
}

/// Where the image gets its one file ending in `ext`: the destination of that COPY.
fn image_copy_destination(ext: &str) -> String {
    let dockerfile = read("fluent-bit/Dockerfile");
    let copies: Vec<&str> = image_stage(&dockerfile)
        .into_iter()
        .filter(|l| l.trim_start().starts_with("COPY") && l.trim_end().ends_with(ext))
        .collect();
    assert_eq!(
        copies.len(),
        1,
        "one COPY of a {ext} file into the image: {copies:?}"
    );
    copies[0]
        .split_whitespace()
        .last()
        .expect("COPY has a destination")
        .to_string()
}

/// Where the Dockerfile puts the module: the destination of the image's COPY of a `.wasm`.
fn dockerfile_wasm_destination() -> String {
    image_copy_destination(".wasm")
}

#[test]
fn wasm_filter_uses_only_keys_fluent_bit_accepts() {
    for (file, conf) in [
        ("fluent-bit.conf", production()),
        ("fluent-bit.local.conf", local()),
    ] {
        let filter = one(&conf, "FILTER", "wasm");
        for (key, _) in &filter.entries {
            assert!(
                WASM_FILTER_KEYS.contains(&key.to_ascii_lowercase().as_str()),
                "{file}: Fluent Bit's wasm filter rejects the key {key}"
            );
        }
        assert_eq!(filter.get("function_name"), Some("cali_filter"), "{file}");
        assert_eq!(
            filter
                .get("event_format")
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("json"),
            "{file}"
        );
    }
}

#[test]
fn wasm_path_is_where_the_image_puts_the_module() {
    let destination = dockerfile_wasm_destination();
    let production = production();
    assert_eq!(
        one(&production, "FILTER", "wasm").get("wasm_path"),
        Some(destination.as_str())
    );
    // The local variant takes the module from $CALI_WASM, which the image sets to the same path.
    assert_eq!(
        one(&local(), "FILTER", "wasm").get("wasm_path"),
        Some("${CALI_WASM}")
    );
    let dockerfile = read("fluent-bit/Dockerfile");
    assert!(
        dockerfile
            .lines()
            .any(|l| l.trim() == format!("ENV CALI_WASM={destination}")),
        "the Dockerfile sets CALI_WASM={destination}"
    );
}

/// The image's AOT module: the destination of the COPY of a `.aot`, and what it is made of.
#[test]
fn the_image_carries_the_module_compiled_ahead_of_time_beside_it() {
    let dockerfile = read("fluent-bit/Dockerfile");
    let wasm = dockerfile_wasm_destination();
    let aot = image_copy_destination(".aot");
    assert_eq!(
        aot,
        wasm.replace(".wasm", ".aot"),
        "the AOT module lies beside the module"
    );
    // Compiled from the module the image carries, by the wamrc of the pinned WAMR, for the
    // image's architecture.
    for part in [
        "COPY --from=module /cali.wasm /cali.wasm",
        "--branch WAMR-${WAMR_VERSION}",
        "amd64) target=\"--target=x86_64",
        "arm64) target=\"--target=aarch64",
        "-o /cali.aot /cali.wasm",
    ] {
        assert!(
            dockerfile.contains(part),
            "the Dockerfile's AOT stage lacks {part}"
        );
    }
    let pinned = |arg: &str| {
        dockerfile
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("ARG {arg}=")))
            .unwrap_or_else(|| panic!("the Dockerfile pins {arg}"))
            .to_string()
    };
    // Fluent Bit 4.1 to 5.1.1 embed WAMR 2.4.1; an AOT file loads only in its own version.
    assert_eq!(pinned("FLUENT_BIT_VERSION"), "5.1.1");
    assert_eq!(pinned("WAMR_VERSION"), "2.4.1");
    // The chart's switch points the production filter at it, and at nothing else.
    let helpers = read("k8s/helm/cali/templates/_helpers.tpl");
    let switch = format!("replace \"{wasm}\" \"{aot}\" $conf");
    assert!(
        helpers.contains(&switch),
        "the chart's aot switch: {switch}"
    );
    let conf = read("fluent-bit/fluent-bit.conf");
    assert_eq!(
        conf.matches(wasm.as_str()).count(),
        1,
        "one {wasm} in fluent-bit.conf"
    );
    let values = read("k8s/helm/cali/values.yaml");
    assert!(
        values.contains("\n  aot: false\n"),
        "fluentBit.aot in the chart's values, off by default"
    );
}

#[test]
fn the_cali_filter_sees_container_records_and_ticks_but_not_its_own_copies() {
    for conf in [production(), local()] {
        let filter = one(&conf, "FILTER", "wasm");
        assert!(filter.matches(CONTAINER_TAG));
        assert!(filter.matches(&dummy_tag(&conf)));
        assert!(!filter.matches("cali.alert"));
        assert!(!filter.matches("cali.fault"));
    }
}

#[test]
fn heap_holds_the_largest_record_tail_lets_through() {
    let conf = production();
    let service = conf
        .iter()
        .find(|s| s.name == "SERVICE")
        .expect("a [SERVICE] section");
    let tail = one(&conf, "INPUT", "tail");
    assert_eq!(
        tail.get("skip_long_lines")
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("on")
    );
    let longest_line = size(tail.get("buffer_max_size").expect("Buffer_Max_Size"))
        .max(size(service.get("multiline_buffer_limit").unwrap_or("2MB")));
    let heap = size(
        one(&conf, "FILTER", "wasm")
            .get("wasm_heap_size")
            .expect("Wasm_Heap_Size"),
    );
    // Fluent Bit's JSON writer turns a control character into 6 bytes (\u0001): the line
    // escaped at worst, plus room for the kubernetes metadata and the tag.
    assert!(
        heap >= 6 * longest_line + (64 << 10),
        "Wasm_Heap_Size {heap} < 6 x {longest_line} + 64 KiB"
    );
    let stack = size(
        one(&conf, "FILTER", "wasm")
            .get("wasm_stack_size")
            .expect("Wasm_Stack_Size"),
    );
    assert!(
        stack > 8 << 10,
        "Wasm_Stack_Size must be raised above the 8 KiB default"
    );
}

#[test]
fn no_input_runs_in_its_own_thread() {
    // One module instance holds all state; it must only be called from the engine thread.
    for conf in [production(), local()] {
        for input in conf.iter().filter(|s| s.name == "INPUT") {
            let threaded = input.get("threaded").map(str::to_ascii_lowercase);
            assert!(
                !matches!(threaded.as_deref(), Some("on" | "true" | "yes")),
                "input {} is threaded",
                input.plugin()
            );
        }
    }
}

#[test]
fn container_files_are_read_in_runs_not_on_every_write() {
    // With inotify, tail reads a file on each of the runtime's one-line writes, and the
    // interpreted filter then runs a line or two at a time, each run cold: about twice its
    // cost per line (docs/fluent-bit-check.md, "Tailing files while they are written").
    let conf = production();
    let tail = one(&conf, "INPUT", "tail");
    let watcher = tail.get("inotify_watcher").map(str::to_ascii_lowercase);
    assert!(
        matches!(watcher.as_deref(), Some("false" | "off" | "no")),
        "the containers' tail uses the stat watcher (Inotify_Watcher false), found {watcher:?}"
    );
}

#[test]
fn tick_record_carries_every_setting_with_its_default() {
    for (file, conf) in [
        ("fluent-bit.conf", production()),
        ("fluent-bit.local.conf", local()),
    ] {
        let dummy = one(&conf, "INPUT", "dummy");
        let rate = dummy
            .get("rate")
            .map(|r| r.parse::<u32>().expect("Rate is a number"));
        assert!(
            rate.is_some_and(|r| r > 1),
            "{file}: ticks more than once a second"
        );
        let record: Value = serde_json::from_str(dummy.get("dummy").expect("a Dummy record"))
            .expect("Dummy is JSON");
        let members = record.as_object().expect("the tick is a JSON object");
        assert!(
            members.contains_key(TICK_KEY),
            "{file}: the tick has {TICK_KEY}"
        );
        let mut seen = BTreeSet::new();
        for (key, value) in members {
            if key == TICK_KEY {
                continue;
            }
            let spec = TABLE
                .iter()
                .find(|s| s.key == key)
                .unwrap_or_else(|| panic!("{file}: unknown setting {key}"));
            let text = value
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| value.to_string());
            assert_eq!(text, spec.default, "{file}: {key} is not its default");
            let mut settings = Settings::default();
            settings
                .apply(key, &value.to_string())
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            seen.insert(key.as_str());
        }
        let all: BTreeSet<&str> = TABLE.iter().map(|s| s.key).collect();
        assert_eq!(seen, all, "{file}: the tick lists every setting");
    }
}

#[test]
fn every_setting_is_documented_in_the_production_configuration() {
    let text = read("fluent-bit/fluent-bit.conf");
    for spec in TABLE {
        assert!(
            text.lines().any(|l| l
                .trim_start_matches(['#', ' '])
                .starts_with(&format!("{} ", spec.key))),
            "fluent-bit.conf's settings comment lacks {}",
            spec.key
        );
    }
}

// ---------------------------------------------------------------------------------------
// Routing: rewrite_tag as Fluent Bit evaluates it, then the outputs' Match.

/// One rewrite_tag rule: `$key['sub'] REGEX NEW_TAG KEEP`.
struct Rule {
    path: Vec<String>,
    regex: Regex,
    tag: String,
    keep: bool,
}

fn rules(filter: &Section) -> Vec<Rule> {
    filter
        .all("rule")
        .into_iter()
        .map(|rule| {
            let parts: Vec<&str> = rule.split_whitespace().collect();
            assert_eq!(parts.len(), 4, "rule {rule:?}: $KEY REGEX TAG KEEP");
            let accessor = parts[0].strip_prefix('$').expect("a record accessor");
            let mut path = Vec::new();
            let (head, subs) = accessor
                .split_once('[')
                .map_or((accessor, ""), |(h, s)| (h, s));
            path.push(head.to_string());
            if !subs.is_empty() {
                for sub in format!("[{subs}").split('[').filter(|s| !s.is_empty()) {
                    path.push(sub.trim_end_matches(']').trim_matches('\'').to_string());
                }
            }
            assert!(!parts[2].contains('$'), "tags are fixed here");
            Rule {
                path,
                regex: Regex::parse(parts[1]),
                tag: parts[2].to_string(),
                keep: parts[3] == "true",
            }
        })
        .collect()
}

/// The tags a record leaves the filter chain with, after rewrite_tag. As in Fluent Bit's
/// `flb_ra_key_regex_match`, a rule only ever matches a STRING value.
fn route(filter: &Section, tag: &str, event: &Value) -> Vec<String> {
    if !filter.matches(tag) {
        return vec![tag.to_string()];
    }
    for rule in rules(filter) {
        let value = rule.path.iter().try_fold(event, |v, key| v.get(key));
        if let Some(Value::String(s)) = value {
            if rule.regex.search(s) {
                return if rule.keep {
                    vec![tag.to_string(), rule.tag]
                } else {
                    vec![rule.tag]
                };
            }
        }
    }
    vec![tag.to_string()]
}

fn outputs_for(conf: &[Section], tag: &str) -> Vec<String> {
    conf.iter()
        .filter(|s| s.name == "OUTPUT" && s.matches(tag))
        .map(Section::plugin)
        .collect()
}

#[test]
fn a_boolean_never_matches_a_rewrite_tag_rule() {
    // Why the configuration cannot use `$alertable`: Fluent Bit only matches strings.
    let section = Section {
        name: "FILTER".into(),
        entries: vec![
            ("Name".into(), "rewrite_tag".into()),
            ("Match".into(), "*".into()),
            ("Rule".into(), "$alertable ^true$ cali.alert true".into()),
        ],
    };
    let event = serde_json::json!({"alertable": true});
    assert_eq!(
        route(&section, "kube.a", &event),
        vec!["kube.a".to_string()]
    );
}

/// Every event the real filter makes of the sample log and of broken records, with the tag
/// it leaves under.
fn sample_events() -> Vec<(String, Value)> {
    let tick = one(&production(), "INPUT", "dummy")
        .get("dummy")
        .expect("tick")
        .to_string();
    let mut filter = Filter::new(Settings::default());
    let mut out = Vec::new();
    let mut now_ms = 0;
    let time = Timestamp::new(1_795_000_000, 0);
    let mut push = |tag: &str, produced: Option<&str>| {
        if let Some(json) = produced {
            out.push((
                tag.to_string(),
                serde_json::from_str::<Value>(json).expect("the filter emits JSON"),
            ));
        }
    };
    for line in read("fluent-bit/sample.log").lines() {
        let record = serde_json::json!({"log": format!("{line}\n"), "stream": "stdout", "kubernetes": {"labels": {"app": "shop"}}});
        now_ms += 1;
        push(
            CONTAINER_TAG,
            filter.process(
                CONTAINER_TAG.as_bytes(),
                time,
                Input::Record(record.to_string().as_bytes()),
                now_ms,
            ),
        );
    }
    for broken in [&b"not json"[..], b"[1,2]", b"{\"log\":\"\xff\xfe bad\"}"] {
        push(
            CONTAINER_TAG,
            filter.process(
                CONTAINER_TAG.as_bytes(),
                time,
                Input::Record(broken),
                now_ms,
            ),
        );
    }
    push(
        CONTAINER_TAG,
        filter.process(
            CONTAINER_TAG.as_bytes(),
            time,
            Input::LostInHost { len: 9_000_000 },
            now_ms,
        ),
    );
    // Quiet streams: ticks release what is still held, under the tick's tag.
    for _ in 0..20 {
        now_ms += 10_000;
        push(
            "cali.tick",
            filter.process(b"cali.tick", time, Input::Record(tick.as_bytes()), now_ms),
        );
    }
    assert_eq!(filter.held_streams(), 0, "the ticks released every stream");
    assert_eq!(
        filter.waiting(),
        0,
        "the ticks released every waiting event"
    );
    out
}

#[test]
fn alertable_events_and_only_they_reach_kinesis_streams_and_all_reach_firehose() {
    let conf = production();
    let rewrite = one(&conf, "FILTER", "rewrite_tag");
    let events = sample_events();
    assert!(
        events.iter().any(|(tag, _)| tag == "cali.tick"),
        "some events leave under the tick's tag"
    );
    let mut alerts = 0;
    let mut quiet = 0;
    for (tag, event) in &events {
        let alertable = event
            .get("alertable")
            .and_then(Value::as_bool)
            .expect("every event has alertable");
        let mut outputs: Vec<String> = route(rewrite, tag, event)
            .iter()
            .flat_map(|t| outputs_for(&conf, t))
            .collect();
        outputs.sort();
        let expected: Vec<String> = if alertable {
            alerts += 1;
            vec!["kinesis_firehose".into(), "kinesis_streams".into()]
        } else {
            quiet += 1;
            vec!["kinesis_firehose".into()]
        };
        assert_eq!(outputs, expected, "tag {tag}: {event}");
    }
    // The sample has both kinds, and faults (level ERROR, not alertable) among the quiet.
    assert!(
        alerts >= 2 && quiet >= 2,
        "alertable {alerts}, not alertable {quiet}"
    );
    assert!(
        events
            .iter()
            .any(|(_, e)| e.get("fault").is_some_and(|f| !f.is_null())),
        "faults were routed too"
    );
}

#[test]
fn kinesis_streams_receives_only_the_rewritten_tag() {
    let conf = production();
    let streams = one(&conf, "OUTPUT", "kinesis_streams");
    let rewritten: BTreeSet<String> = rules(one(&conf, "FILTER", "rewrite_tag"))
        .into_iter()
        .filter(|r| r.keep)
        .map(|r| r.tag)
        .collect();
    assert_eq!(rewritten.len(), 1, "one alert tag");
    let alert_tag = rewritten.iter().next().expect("one alert tag");
    assert!(streams.matches(alert_tag));
    for tag in [CONTAINER_TAG, "cali.tick", "cali.fault"] {
        assert!(
            !streams.matches(tag),
            "kinesis_streams must not receive {tag}"
        );
    }
    let firehose = one(&conf, "OUTPUT", "kinesis_firehose");
    for tag in [CONTAINER_TAG, "cali.tick", "cali.fault"] {
        assert!(firehose.matches(tag), "kinesis_firehose must receive {tag}");
    }
    assert!(
        !firehose.matches(alert_tag),
        "the alert copy must not be archived twice"
    );
    // The local variant prints events of both kinds of tag.
    let local = local();
    let stdout = one(&local, "OUTPUT", "stdout");
    assert!(stdout.matches(CONTAINER_TAG) && stdout.matches(&dummy_tag(&local)));
}

#[test]
fn outputs_take_stream_names_and_region_from_the_environment() {
    let conf = production();
    let firehose = one(&conf, "OUTPUT", "kinesis_firehose");
    let streams = one(&conf, "OUTPUT", "kinesis_streams");
    assert_eq!(firehose.get("region"), Some("${AWS_REGION}"));
    assert_eq!(streams.get("region"), Some("${AWS_REGION}"));
    assert_eq!(
        firehose.get("delivery_stream"),
        Some("${CALI_FIREHOSE_STREAM}")
    );
    assert_eq!(streams.get("stream"), Some("${CALI_KINESIS_STREAM}"));
}

// ---------------------------------------------------------------------------------------
// Kubernetes manifests: parsed by PyYAML (the project's .venv has it through moto), then
// checked against the Fluent Bit configuration and the Terraform names.

/// Every YAML file under k8s/ except Helm templates (Go templates, not YAML), each as the
/// JSON list of its documents. `None` when no Python with PyYAML is available.
fn k8s_yaml() -> Option<Vec<(PathBuf, Vec<Value>)>> {
    let root = repo();
    let mut files = Vec::new();
    collect_files(&root.join("k8s"), &mut files);
    files.retain(|p| {
        matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
            && !p.components().any(|c| c.as_os_str() == "templates")
    });
    files.sort();
    let script = "import json, sys, yaml\n\
                  print(json.dumps([list(yaml.safe_load_all(open(p))) for p in sys.argv[1:]]))";
    let venv = root.join(".venv/bin/python");
    let pythons = [venv.to_string_lossy().into_owned(), "python3".to_string()];
    for python in pythons {
        let Ok(out) = Command::new(&python)
            .arg("-c")
            .arg(script)
            .args(&files)
            .output()
        else {
            continue;
        };
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if stderr.contains("No module named 'yaml'") {
                continue;
            }
            panic!("YAML under k8s/ does not parse:\n{stderr}");
        }
        let parsed: Vec<Vec<Value>> =
            serde_json::from_slice(&out.stdout).expect("python printed JSON");
        return Some(files.into_iter().zip(parsed).collect());
    }
    println!("skipped: no Python with PyYAML (run scripts/setup to create .venv)");
    None
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn k8s_object<'a>(docs: &'a [(PathBuf, Vec<Value>)], kind: &str, name: &str) -> &'a Value {
    let found: Vec<&Value> = docs
        .iter()
        .flat_map(|(_, d)| d.iter())
        .filter(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {kind} {name} under k8s/ (Helm templates aside)"
    );
    found[0]
}

#[test]
fn k8s_manifests_parse_and_are_kubernetes_objects() {
    let Some(docs) = k8s_yaml() else { return };
    assert!(docs.len() >= 5, "manifests found: {}", docs.len());
    // Chart.yaml, values.yaml and kustomization.yaml are configuration, not objects.
    let objects = docs.iter().filter(|(path, _)| {
        !path
            .file_name()
            .is_some_and(|n| n == "values.yaml" || n == "Chart.yaml" || n == "kustomization.yaml")
    });
    for (path, documents) in objects {
        for doc in documents.iter().filter(|d| !d.is_null()) {
            for field in ["apiVersion", "kind"] {
                assert!(
                    doc[field].is_string(),
                    "{}: a document without {field}",
                    path.display()
                );
            }
            assert!(
                doc["metadata"]["name"].is_string(),
                "{}: a document without metadata.name",
                path.display()
            );
        }
    }
}

#[test]
fn the_configmap_is_the_shipped_fluent_bit_configuration() {
    let Some(docs) = k8s_yaml() else { return };
    let config = k8s_object(&docs, "ConfigMap", "fluent-bit-config");
    for file in ["fluent-bit.conf", "parsers.conf"] {
        assert_eq!(
            config["data"][file].as_str(),
            Some(read(&format!("fluent-bit/{file}")).as_str()),
            "k8s/fluent-bit/configmap.yaml's {file} differs from fluent-bit/{file}"
        );
    }
}

#[test]
fn the_daemonset_runs_the_configuration_it_mounts() {
    let Some(docs) = k8s_yaml() else { return };
    let conf = production();
    let daemonset = k8s_object(&docs, "DaemonSet", "fluent-bit");
    let pod = &daemonset["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let port = conf
        .iter()
        .find(|s| s.name == "SERVICE")
        .and_then(|s| s.get("http_port"))
        .expect("HTTP_Port");
    assert_eq!(container["ports"][0]["containerPort"].to_string(), port);
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(
            container[probe]["httpGet"]["path"], "/api/v1/health",
            "{probe}"
        );
    }
    // The config directory is the ConfigMap; the module stays where the image put it.
    let mounts = container["volumeMounts"].as_array().expect("volume mounts");
    let mount_of = |name: &str| {
        mounts
            .iter()
            .find(|m| m["name"] == name)
            .and_then(|m| m["mountPath"].as_str())
    };
    assert_eq!(mount_of("config"), Some("/fluent-bit/etc/"));
    let wasm_path = dockerfile_wasm_destination();
    assert!(
        !wasm_path.starts_with("/fluent-bit/etc/"),
        "the ConfigMap mount would hide the module"
    );
    // tail's DB and the filesystem buffer are on the node's state volume.
    let state = mount_of("state").expect("a state volume");
    let tail = one(&conf, "INPUT", "tail");
    assert!(
        tail.get("db").is_some_and(|db| db.starts_with(state)),
        "tail DB under {state}"
    );
    let storage = conf
        .iter()
        .find(|s| s.name == "SERVICE")
        .and_then(|s| s.get("storage.path"))
        .expect("storage.path");
    assert!(storage.starts_with(state), "storage.path under {state}");
    assert!(tail
        .get("path")
        .is_some_and(|p| p.starts_with(mount_of("varlog").expect("/var/log mount"))));
    // Its own log file is excluded: <pod>_<namespace>_<container>-<id>.log.
    let namespace = daemonset["metadata"]["namespace"]
        .as_str()
        .expect("namespace");
    let own_log = format!(
        "/var/log/containers/fluent-bit-x7k2p_{namespace}_{}-0123abcd.log",
        container["name"].as_str().expect("container name")
    );
    assert!(
        tail.get("exclude_path")
            .is_some_and(|p| wildcard(p, &own_log)),
        "Exclude_Path misses {own_log}"
    );
    // The environment the outputs read comes from the cali-aws ConfigMap.
    let env_source = container["envFrom"][0]["configMapRef"]["name"]
        .as_str()
        .expect("envFrom configMap");
    let settings = k8s_object(&docs, "ConfigMap", env_source);
    for var in ["AWS_REGION", "CALI_KINESIS_STREAM", "CALI_FIREHOSE_STREAM"] {
        assert!(
            settings["data"][var].is_string(),
            "{env_source} lacks {var}"
        );
    }
    assert_eq!(pod["serviceAccountName"], "fluent-bit");
}

/// The consumer's settings the Deployment sets (`CALI_<SECTION>_<KEY>` of the consumer's
/// configuration: source.kind, kinesis.lease_store, state.kind, dead_letter.kind, http.addr).
const CONSUMER_ENV: &[&str] = &[
    "CALI_SOURCE_KIND",
    "CALI_KINESIS_LEASE_STORE",
    "CALI_STATE_KIND",
    "CALI_DEAD_LETTER_KIND",
    "CALI_HTTP_ADDR",
    "CALI_SLACK_WEBHOOK_URL",
];

/// The consumer's AWS names, from the `cali-aws` ConfigMap (kinesis.stream_name,
/// kinesis.lease_table, state.table_prefix, dead_letter.bucket, dead_letter.prefix).
const CONSUMER_AWS_ENV: &[&str] = &[
    "CALI_KINESIS_STREAM_NAME",
    "CALI_KINESIS_LEASE_TABLE",
    "CALI_STATE_TABLE_PREFIX",
    "CALI_DEAD_LETTER_BUCKET",
    "CALI_DEAD_LETTER_PREFIX",
];

#[test]
fn the_consumer_deployment_has_its_settings_probes_and_budget() {
    let Some(docs) = k8s_yaml() else { return };
    let deployment = k8s_object(&docs, "Deployment", "cali-consumer");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["args"][0], "run");
    let env = container["env"].as_array().expect("env");
    let value_of = |name: &str| {
        env.iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["value"].as_str())
    };
    for var in CONSUMER_ENV {
        assert!(
            env.iter().any(|e| e["name"] == *var),
            "consumer env lacks {var}"
        );
    }
    assert_eq!(value_of("CALI_SOURCE_KIND"), Some("kinesis"));
    assert_eq!(value_of("CALI_KINESIS_LEASE_STORE"), Some("dynamodb"));
    assert_eq!(value_of("CALI_STATE_KIND"), Some("dynamodb"));
    assert_eq!(value_of("CALI_DEAD_LETTER_KIND"), Some("s3"));
    let settings = k8s_object(&docs, "ConfigMap", "cali-aws");
    for var in CONSUMER_AWS_ENV {
        assert!(settings["data"][var].is_string(), "cali-aws lacks {var}");
    }
    // Both halves name the same stream.
    assert_eq!(
        settings["data"]["CALI_KINESIS_STREAM_NAME"],
        settings["data"]["CALI_KINESIS_STREAM"]
    );
    let port = value_of("CALI_HTTP_ADDR")
        .and_then(|a| a.rsplit(':').next())
        .expect("host:port");
    assert_eq!(container["ports"][0]["containerPort"].to_string(), port);
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        assert_eq!(container[probe]["httpGet"]["path"], path);
    }
    let budget = k8s_object(&docs, "PodDisruptionBudget", "cali-consumer");
    assert_eq!(
        budget["spec"]["selector"]["matchLabels"],
        deployment["spec"]["selector"]["matchLabels"]
    );
    let service = k8s_object(&docs, "Service", "cali-consumer");
    assert_eq!(service["spec"]["ports"][0]["port"].to_string(), port);
}

#[test]
fn the_aws_names_are_the_ones_terraform_creates_by_default() {
    let Some(docs) = k8s_yaml() else { return };
    let data = &k8s_object(&docs, "ConfigMap", "cali-aws")["data"];
    let variables = read("terraform/variables.tf");
    let name = terraform_default(&variables, "name");
    let tables = read("terraform/dynamodb.tf");
    for table in ["leases", "dedupe", "incidents", "outbox"] {
        assert!(
            tables.contains(&format!("    {table} ")),
            "terraform/dynamodb.tf lacks the {table} table"
        );
    }
    assert_eq!(
        data["CALI_KINESIS_LEASE_TABLE"].as_str(),
        Some(format!("{name}-leases").as_str())
    );
    assert_eq!(
        data["CALI_STATE_TABLE_PREFIX"].as_str(),
        Some(name.as_str())
    );
    assert_eq!(
        data["CALI_KINESIS_STREAM"].as_str(),
        Some(format!("{name}-events").as_str())
    );
    assert_eq!(
        data["CALI_FIREHOSE_STREAM"].as_str(),
        Some(format!("{name}-archive").as_str())
    );
    assert!(read("terraform/kinesis.tf").contains("name             = \"${var.name}-events\""));
    assert!(read("terraform/firehose.tf").contains("name        = \"${var.name}-archive\""));
    let prefix = data["CALI_DEAD_LETTER_PREFIX"].as_str().expect("prefix");
    assert!(read("terraform/main.tf").contains(&format!("dead_letter_prefix = \"{prefix}\"")));
}

/// A string variable's default in variables.tf.
fn terraform_default(variables: &str, name: &str) -> String {
    let block = variables
        .split(&format!("variable \"{name}\""))
        .nth(1)
        .unwrap_or_else(|| panic!("variable {name}"));
    let line = block
        .lines()
        .find(|l| l.trim_start().starts_with("default"))
        .expect("a default");
    line.split('"')
        .nth(1)
        .expect("a string default")
        .to_string()
}

// ---------------------------------------------------------------------------------------
// Terraform, without a terraform binary: everything referenced is declared, and every
// variable is documented with a default.

fn terraform_sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    collect_files(&repo().join("terraform"), &mut files);
    files.retain(|p| p.extension().is_some_and(|e| e == "tf"));
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (
                name,
                fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
            )
        })
        .collect()
}

/// Names in `text` that follow `prefix` (`var.`, `aws_s3_bucket.`), as identifiers.
fn references(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let boundary = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'));
        let name: String = rest[at + prefix.len()..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        if boundary && !name.is_empty() {
            found.insert(name);
        }
        rest = &rest[at + prefix.len()..];
    }
    found
}

/// Block labels: `resource "type" "name"` gives "type.name", `variable "x"` gives "x".
fn declarations(text: &str, keyword: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix(&format!("{keyword} ")))
        .map(|l| {
            l.split('"')
                .skip(1)
                .step_by(2)
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect()
}

#[test]
fn terraform_refers_only_to_what_it_declares() {
    let sources = terraform_sources();
    assert!(sources.len() >= 5, "terraform files: {}", sources.len());
    let all: String = sources
        .iter()
        .map(|(_, t)| t.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for (name, text) in &sources {
        let opens = text.matches('{').count();
        let closes = text.matches('}').count();
        assert_eq!(opens, closes, "{name}: unbalanced braces");
    }
    let variables = declarations(&all, "variable");
    for used in references(&all, "var.") {
        assert!(variables.contains(&used), "var.{used} is not declared");
    }
    let modules = declarations(&all, "module");
    for used in references(&all, "module.") {
        assert!(modules.contains(&used), "module.{used} is not declared");
    }
    let locals: BTreeSet<String> = all
        .split("locals {")
        .skip(1)
        .flat_map(|block| {
            block
                .lines()
                .skip(1)
                .take_while(|l| !l.starts_with('}'))
                .filter_map(|l| {
                    let l = l.strip_prefix("  ")?;
                    (!l.starts_with(' ') && !l.starts_with('#'))
                        .then(|| l.split('=').next().unwrap_or("").trim().to_string())
                })
        })
        .filter(|n| !n.is_empty())
        .collect();
    for used in references(&all, "local.") {
        assert!(locals.contains(&used), "local.{used} is not declared");
    }
    let resources = declarations(&all, "resource");
    let data = declarations(&all, "data");
    let types: BTreeSet<&str> = resources
        .iter()
        .filter_map(|r| r.split('.').next())
        .collect();
    for ty in types {
        for used in references(&all, &format!("{ty}.")) {
            assert!(
                resources.contains(&format!("{ty}.{used}")),
                "{ty}.{used} is not declared"
            );
        }
        for used in references(&all, &format!("data.{ty}.")) {
            assert!(
                data.contains(&format!("{ty}.{used}")),
                "data.{ty}.{used} is not declared"
            );
        }
    }
    for declared in &data {
        let ty = declared.split('.').next().unwrap_or("");
        for used in references(&all, &format!("data.{ty}.")) {
            assert!(
                data.contains(&format!("{ty}.{used}")),
                "data.{ty}.{used} is not declared"
            );
        }
    }
}

#[test]
fn every_terraform_variable_has_a_description_and_a_default() {
    let text = read("terraform/variables.tf");
    let blocks: Vec<&str> = text.split("\nvariable ").skip(1).collect();
    assert!(!blocks.is_empty());
    for block in blocks {
        let body = block.split("\n}").next().unwrap_or("");
        let name = block.split('"').nth(1).unwrap_or("?");
        assert!(
            body.contains("description ="),
            "variable {name} has no description"
        );
        assert!(body.contains("default"), "variable {name} has no default");
    }
}

#[test]
fn terraform_irsa_roles_trust_the_service_accounts_of_the_manifests() {
    let Some(docs) = k8s_yaml() else { return };
    let variables = read("terraform/variables.tf");
    let default_of = |name: &str| terraform_default(&variables, name);
    let namespace = default_of("k8s_namespace");
    for (variable, account) in [
        ("fluent_bit_service_account", "fluent-bit"),
        ("consumer_service_account", "cali-consumer"),
    ] {
        assert_eq!(default_of(variable), account);
        let sa = k8s_object(&docs, "ServiceAccount", account);
        assert_eq!(
            sa["metadata"]["namespace"].as_str(),
            Some(namespace.as_str())
        );
        assert!(
            sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].is_string(),
            "{account} has an IRSA role"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The Helm chart: its copy of the configuration, the text its templates rewrite, and its
// settings values.

#[test]
fn the_helm_chart_carries_the_shipped_configuration() {
    for file in ["fluent-bit.conf", "parsers.conf"] {
        assert_eq!(
            read(&format!("k8s/helm/cali/files/{file}")),
            read(&format!("fluent-bit/{file}")),
            "k8s/helm/cali/files/{file} differs from fluent-bit/{file}"
        );
    }
    // What the chart's template rewrites must be there, once each.
    let conf = read("fluent-bit/fluent-bit.conf");
    let helpers = read("k8s/helm/cali/templates/_helpers.tpl");
    for anchor in ["$level ^(ERROR|FATAL)$", "_cali_fluent-bit-"] {
        assert!(
            helpers.contains(anchor),
            "the chart no longer rewrites {anchor}"
        );
        assert_eq!(
            conf.matches(anchor).count(),
            1,
            "fluent-bit.conf must hold {anchor} once"
        );
    }
    for key in ["dummy", "rate"] {
        let lines = production()
            .iter()
            .flat_map(|s| s.all(key).into_iter().map(String::from).collect::<Vec<_>>())
            .count();
        assert_eq!(lines, 1, "the chart rewrites the one {key} line");
    }
}

#[test]
fn the_helm_values_list_every_setting_with_its_default() {
    let Some(docs) = k8s_yaml() else { return };
    let values = docs
        .iter()
        .find(|(p, _)| p.ends_with("helm/cali/values.yaml"))
        .map(|(_, d)| &d[0])
        .expect("k8s/helm/cali/values.yaml");
    let settings = values["settings"].as_object().expect("values.settings");
    let keys: BTreeSet<&str> = settings.keys().map(String::as_str).collect();
    let all: BTreeSet<&str> = TABLE.iter().map(|s| s.key).collect();
    assert_eq!(keys, all);
    for spec in TABLE {
        let value = &settings[spec.key];
        let text = value
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| value.to_string());
        assert_eq!(text, spec.default, "values.settings.{}", spec.key);
    }
    assert_eq!(values["consumer"]["replicas"], 2);
}
