//! The offline analyst: deterministic rules for common failure classes, each quoting the
//! incident line that triggered it, plus the nearest resolved incidents and runbook
//! sections from retrieval. With no matching rule it says what happened and claims no cause.

use regex::Regex;

use crate::retrieved::Retrieved;
use crate::seam::{Analysis, IncidentInput};

/// Lines quoted as evidence, at most.
const MAX_EVIDENCE: usize = 3;
/// A past incident at least this similar counts as "seen before".
const SEEN_BEFORE_SCORE: f32 = 0.75;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    OutOfMemory,
    DiskFull,
    PoolExhausted,
    TlsCertificate,
    Deadlock,
    RateLimited,
    QueueLag,
    AuthFailure,
    DnsResolution,
    ConnectionRefused,
    Timeout,
    NullDereference,
    MissingConfig,
    FileNotFound,
    StackOverflow,
    Deserialization,
}

struct Rule {
    class: FailureClass,
    pattern: &'static str,
    cause: &'static str,
    actions: &'static [&'static str],
}

/// Most specific first: the first rule with a matching line wins (a pool timeout is a
/// pool problem before it is a timeout).
const RULES: &[Rule] = &[
    Rule {
        class: FailureClass::OutOfMemory,
        pattern: r"(?i)OutOfMemoryError|Java heap space|GC overhead limit exceeded|OOMKilled|Out of memory: Kill|\bMemoryError\b|runtime: out of memory|fatal error: out of memory|cannot allocate memory|JavaScript heap out of memory|memory allocation of \d+ bytes failed|std::bad_alloc|exit code 137|OutOfMemoryException",
        cause: "The process ran out of memory (heap exhausted or killed by the container's memory limit).",
        actions: &[
            "Check the container's memory limit and recent usage (kubectl describe pod: Last State OOMKilled).",
            "Look for unbounded caches, large result sets or a leak introduced by the latest version.",
            "Raise the limit or the heap size (-Xmx, GOMEMLIMIT, --max-old-space-size) only after finding what grew.",
        ],
    },
    Rule {
        class: FailureClass::DiskFull,
        pattern: r"(?i)\bENOSPC\b|No space left on device|disk (is )?full|DiskFull|not enough space on the disk|could not extend file|insufficient disk space|quota exceeded on volume",
        cause: "A volume is full: writes fail with no space left on device.",
        actions: &[
            "Find the full volume (df -h in the pod or node) and what fills it (logs, temp files, data).",
            "Free space or grow the volume; add log rotation or retention for whatever grew.",
        ],
    },
    Rule {
        class: FailureClass::PoolExhausted,
        pattern: r"(?i)Connection is not available, request timed out|HikariPool.*(not available|exhausted)|connection pool.{0,40}(exhausted|full|timed? ?out|not available)|pool (is )?exhausted|QueuePool limit of size|Cannot get a connection, pool error|Timeout waiting for idle object|too many clients|remaining connection slots are reserved|too many connections|ResourceRequest timed out|failed to acquire connection|Unable to acquire JDBC Connection|Failed to obtain JDBC Connection|Timeout acquiring a connection|obtaining a connection from the pool|could not obtain a connection from the pool|ConnectionTimeoutError",
        cause: "The database connection pool is exhausted: every connection is busy or leaked, so requests time out waiting for one.",
        actions: &[
            "Compare active connections with the pool's maximum and the database's max_connections.",
            "Look for slow queries or transactions holding connections, and for connections not returned (leaks).",
            "Size the pool for replicas x pool size <= database limit; add a leak detection threshold.",
        ],
    },
    Rule {
        class: FailureClass::TlsCertificate,
        pattern: r"(?i)x509:|SSLHandshakeException|PKIX path building failed|unable to find valid certification path|CERTIFICATE_VERIFY_FAILED|certificate verify failed|certificate (has )?expired|self[- ]signed certificate|unknown (certificate )?authority|UNABLE_TO_VERIFY_LEAF_SIGNATURE|ERR_TLS_CERT|tls: (handshake failure|bad certificate)|SSLError|AuthenticationException: The remote certificate",
        cause: "A TLS handshake fails: the peer's certificate is expired, self-signed, for another name, or its CA is not trusted.",
        actions: &[
            "Check the peer certificate's dates, names and chain (openssl s_client -connect host:443 -showcerts).",
            "Renew the certificate or add the issuing CA to the client's trust store.",
        ],
    },
    Rule {
        class: FailureClass::Deadlock,
        pattern: r"(?i)deadlock|Lock wait timeout exceeded|all goroutines are asleep|could not serialize access|CannotAcquireLockException|LockAcquisitionException|lock timeout",
        cause: "Transactions or threads wait on each other's locks (deadlock or lock wait timeout).",
        actions: &[
            "Find the competing statements (database deadlock log, SHOW ENGINE INNODB STATUS, pg_locks) or thread dump.",
            "Take locks in one consistent order and keep transactions short; retry deadlock victims.",
        ],
    },
    Rule {
        class: FailureClass::RateLimited,
        pattern: r"(?i)(status|code|http|response)[^0-9\n]{0,12}\b429\b|\b429 Too Many|Too Many Requests|TooManyRequests|rate[- ]?limit(ed|ing| exceeded)?|Throttling(Exception)?|throttled|Rate exceeded|SlowDown|RequestLimitExceeded|ProvisionedThroughputExceeded|RESOURCE_EXHAUSTED",
        cause: "A downstream service rate-limits the calls (429 or throttling).",
        actions: &[
            "Check the caller's request rate against the downstream quota.",
            "Back off and retry with jitter (honour Retry-After); batch or cache requests; ask for a higher quota.",
        ],
    },
    Rule {
        class: FailureClass::QueueLag,
        pattern: r"(?i)consumer lag|\blag(ging)? (of|is|behind)|records behind|messages behind|IteratorAge|backlog|queue (is )?full|QueueFullException|BufferExhaustedException|max\.poll\.interval\.ms|CommitFailedException|falling behind",
        cause: "The consumer falls behind its queue or stream: messages arrive faster than they are processed.",
        actions: &[
            "Compare the consumer's processing rate with the producer's rate; check for a slow dependency per message.",
            "Scale consumers (up to the partition or shard count) or speed up processing; check for a poison message retried forever.",
        ],
    },
    Rule {
        class: FailureClass::AuthFailure,
        pattern: r"(?i)(status|code|http|response)[^0-9\n]{0,12}\b40[13]\b|\b401 Unauthori|\b403 Forbidden|Unauthori[sz]ed|Forbidden|access denied|AccessDenied|authentication failed|invalid credentials|bad credentials|BadCredentials|token (has |is )?expired|ExpiredJwtException|jwt expired|TokenExpiredError|ExpiredToken|invalid[_ ]token|invalid_grant|InvalidClientTokenId|SignatureDoesNotMatch|Login failed for user|password authentication failed|NotAuthorized|PermissionError|permission denied",
        cause: "Authentication or authorization fails: credentials are wrong, expired or lack permission.",
        actions: &[
            "Check which credential the service uses (secret, token, role) and when it was last rotated or expires.",
            "Verify the identity's permissions for the resource named in the error.",
        ],
    },
    Rule {
        class: FailureClass::DnsResolution,
        pattern: r"(?i)UnknownHostException|Name or service not known|nodename nor servname|no such host|getaddrinfo|\bENOTFOUND\b|EAI_AGAIN|Temporary failure in name resolution|NameResolutionError|could not resolve host|server misbehaving",
        cause: "A host name does not resolve (wrong name, missing Service, or DNS unavailable).",
        actions: &[
            "Check the configured host name and that the Service or record exists (kubectl get svc; nslookup from the pod).",
            "Check CoreDNS health if several names fail at once.",
        ],
    },
    Rule {
        class: FailureClass::ConnectionRefused,
        pattern: r"(?i)connection refused|\bECONNREFUSED\b|actively refused|No route to host|EHOSTUNREACH|connection reset|\bECONNRESET\b|broken pipe|\bEPIPE\b|Connection closed by peer|server closed the connection unexpectedly",
        cause: "The dependency refuses or drops connections: it is down, restarting, or not listening on that port.",
        actions: &[
            "Check that the target is running and ready, and that the host and port are right (endpoints behind the Service).",
            "Look at the target's own restarts and logs at the same time.",
        ],
    },
    Rule {
        class: FailureClass::Timeout,
        pattern: r"(?i)timed? ?out|timeout|deadline exceeded|DEADLINE_EXCEEDED|\bETIMEDOUT\b|i/o timeout|\b504\b|Gateway Time-?out",
        cause: "Calls to a dependency time out: it is slow or unreachable, or the timeout is too tight.",
        actions: &[
            "Find which call times out and the dependency's latency at the time.",
            "Check the dependency's load and the network path; tune timeouts and retries so they do not pile up.",
        ],
    },
    Rule {
        class: FailureClass::NullDereference,
        pattern: r"(?i)NullPointerException|'NoneType' object|NoneType|nil pointer dereference|invalid memory address|Cannot read propert(y|ies) of (undefined|null)|undefined is not an object|is not a function|NullReferenceException|Object reference not set to an instance|undefined method .* for nil|on a `None` value|Call to a member function .* on null",
        cause: "Code uses a value that is null/None/nil/undefined (a missing field or an unhandled empty result).",
        actions: &[
            "Open the top application frame and find which value is missing.",
            "Check the input that produced it (request, record, config) and handle the empty case.",
        ],
    },
    Rule {
        class: FailureClass::MissingConfig,
        pattern: r"(?i)(environment variable|env var|config(uration)? (key|property|value|setting)?).{0,40}(not set|missing|required|undefined|not found|is empty)|Could not resolve placeholder|missing required|must be set|ImproperlyConfigured|ConfigurationException|NoSuchBeanDefinitionException|KeyError: '[A-Z][A-Z0-9_]+'|required key .{0,40} missing",
        cause: "A required setting (environment variable or configuration key) is missing or empty.",
        actions: &[
            "Compare the deployment's environment and config maps with what this version expects.",
            "Check whether a recent rollout renamed or dropped the setting.",
        ],
    },
    Rule {
        class: FailureClass::FileNotFound,
        pattern: r"(?i)FileNotFoundException|FileNotFoundError|No such file or directory|\bENOENT\b|cannot find the (file|path)",
        cause: "A file or directory the code expects does not exist.",
        actions: &["Check the path, the image contents and the volume mounts of the pod."],
    },
    Rule {
        class: FailureClass::StackOverflow,
        pattern: r"(?i)StackOverflowError|RecursionError|maximum recursion depth|Maximum call stack size exceeded|stack overflow|goroutine stack exceeds",
        cause: "Unbounded recursion exhausted the stack.",
        actions: &["Find the repeating frames in the trace and the input that makes the recursion unbounded."],
    },
    Rule {
        class: FailureClass::Deserialization,
        pattern: r"(?i)JsonParseException|JsonMappingException|MismatchedInputException|InvalidFormatException|UnrecognizedPropertyException|JSONDecodeError|Unexpected token .{0,20} in JSON|Unexpected end of JSON input|cannot unmarshal|invalid character .{0,20} looking for|SerializationException|InvalidProtocolBufferException|could not deserialize|failed to deserialize",
        cause: "A message or response cannot be parsed: its format differs from what the code expects (schema change, wrong content type, truncated body).",
        actions: &[
            "Capture one failing payload (redacted) and compare it with the expected schema or DTO.",
            "Check whether the producer or upstream API was deployed with a changed format.",
        ],
    },
];

impl FailureClass {
    pub fn name(self) -> &'static str {
        match self {
            FailureClass::OutOfMemory => "out_of_memory",
            FailureClass::DiskFull => "disk_full",
            FailureClass::PoolExhausted => "pool_exhausted",
            FailureClass::TlsCertificate => "tls_certificate",
            FailureClass::Deadlock => "deadlock",
            FailureClass::RateLimited => "rate_limited",
            FailureClass::QueueLag => "queue_lag",
            FailureClass::AuthFailure => "auth_failure",
            FailureClass::DnsResolution => "dns_resolution",
            FailureClass::ConnectionRefused => "connection_refused",
            FailureClass::Timeout => "timeout",
            FailureClass::NullDereference => "null_dereference",
            FailureClass::MissingConfig => "missing_config",
            FailureClass::FileNotFound => "file_not_found",
            FailureClass::StackOverflow => "stack_overflow",
            FailureClass::Deserialization => "deserialization",
        }
    }
}

/// What a rule found: the class and the incident lines that show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnosis {
    pub class: FailureClass,
    pub cause: &'static str,
    pub evidence: Vec<String>,
}

#[derive(Debug)]
pub struct OfflineAnalyst {
    rules: Vec<(Regex, usize)>,
}

impl Default for OfflineAnalyst {
    fn default() -> Self {
        Self::new()
    }
}

impl OfflineAnalyst {
    pub fn new() -> Self {
        let rules = RULES
            .iter()
            .enumerate()
            .filter_map(|(i, rule)| match Regex::new(rule.pattern) {
                Ok(re) => Some((re, i)),
                Err(err) => {
                    // The patterns are constants covered by tests; skip rather than panic.
                    tracing::error!(class = rule.class.name(), error = %err, "offline rule does not compile");
                    None
                }
            })
            .collect();
        OfflineAnalyst { rules }
    }

    /// The first rule that matches a line of the incident, with up to three matching lines.
    pub fn diagnose(&self, incident: &IncidentInput) -> Option<Diagnosis> {
        let lines = incident_lines(incident);
        for (regex, index) in &self.rules {
            let evidence: Vec<String> = lines
                .iter()
                .filter(|line| regex.is_match(line))
                .take(MAX_EVIDENCE)
                .map(|line| line.to_string())
                .collect();
            if !evidence.is_empty() {
                let rule = &RULES[*index];
                return Some(Diagnosis {
                    class: rule.class,
                    cause: rule.cause,
                    evidence,
                });
            }
        }
        None
    }

    /// Explains a (redacted) incident with the rules and the retrieved documents.
    pub fn analyze(&self, incident: &IncidentInput, retrieved: &[Retrieved]) -> Analysis {
        let diagnosis = self.diagnose(incident);
        let mut ordered: Vec<&Retrieved> = retrieved.iter().collect();
        // Resolved incidents first: a known fix is the most useful pointer.
        ordered.sort_by_key(|r| !r.is_resolved_incident());

        let mut actions: Vec<String> = Vec::new();
        let seen_before: Vec<&&Retrieved> = ordered
            .iter()
            .filter(|r| r.is_resolved_incident() && r.score >= SEEN_BEFORE_SCORE)
            .collect();
        for past in &seen_before {
            actions.push(format!(
                "Seen before ({}, similarity {:.2}); resolved with: {}",
                past.id,
                past.score,
                past.resolution.as_deref().unwrap_or("").trim()
            ));
        }
        let rule = diagnosis
            .as_ref()
            .and_then(|d| RULES.iter().find(|r| r.class == d.class));
        if let Some(rule) = rule {
            actions.extend(rule.actions.iter().map(|a| a.to_string()));
        }
        for runbook in ordered.iter().filter(|r| r.is_runbook()) {
            actions.push(format!("Runbook: {} ({})", runbook.title, runbook.id));
        }

        let what = what_failed(incident);
        let service = incident
            .service
            .as_deref()
            .or(incident.sample.service.as_deref())
            .unwrap_or("unknown service");
        let mut summary = format!("{what} in {service}, {} event(s)", incident.count);
        if !incident.first_seen.is_empty() {
            summary.push_str(&format!(" since {}", incident.first_seen));
        }
        let (likely_cause, evidence, confidence) = match diagnosis {
            Some(d) => {
                summary.push_str(&format!(" [{}]", d.class.name().replace('_', " ")));
                let mut confidence: f32 = 0.6;
                if !seen_before.is_empty() {
                    confidence += 0.2;
                }
                if ordered.iter().any(|r| r.is_runbook() && r.score >= 0.5) {
                    confidence += 0.1;
                }
                (Some(d.cause.to_string()), d.evidence, confidence.min(0.9))
            }
            None => (None, Vec::new(), 0.1),
        };
        Analysis {
            summary,
            likely_cause,
            evidence,
            actions,
            related: ordered.iter().map(|r| r.to_related()).collect(),
            confidence,
            source: "offline".to_string(),
        }
    }
}

fn what_failed(incident: &IncidentInput) -> String {
    let s = &incident.sample;
    match &s.exception_type {
        Some(kind) if !kind.trim().is_empty() => kind.trim().to_string(),
        _ => {
            let first = s.message.lines().next().unwrap_or("").trim();
            let mut out: String = first.chars().take(120).collect();
            if first.chars().count() > 120 {
                out.push('…');
            }
            out
        }
    }
}

/// Lines of the incident in the order they say most: the log content as received (header
/// and trace), then the stack, the message, and the exception line.
fn incident_lines(incident: &IncidentInput) -> Vec<String> {
    let s = &incident.sample;
    let mut lines: Vec<String> = Vec::new();
    let mut push = |line: &str| {
        let line = line.trim();
        if !line.is_empty() && !lines.iter().any(|l| l == line) {
            lines.push(line.to_string());
        }
    };
    s.log_content.lines().for_each(&mut push);
    if let Some(trace) = &s.stack_trace {
        trace.lines().for_each(&mut push);
    }
    s.message.lines().for_each(&mut push);
    if let (Some(kind), Some(msg)) = (&s.exception_type, &s.exception_message) {
        push(&format!("{kind}: {msg}"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seam::SampleEvent;

    fn incident(log: &str) -> IncidentInput {
        IncidentInput {
            fingerprint: "1111222233334444".into(),
            service: Some("checkout".into()),
            count: 3,
            first_seen: "2024-06-04T10:00:00Z".into(),
            sample: SampleEvent {
                level: "ERROR".into(),
                message: log.lines().next().unwrap_or("").to_string(),
                log_content: log.to_string(),
                ..SampleEvent::default()
            },
            ..IncidentInput::default()
        }
    }

    /// (class, language, log)
    const CASES: &[(FailureClass, &str, &str)] = &[
        (FailureClass::PoolExhausted, "java", "ERROR o.h.e.j.s.SqlExceptionHelper - HikariPool-1 - Connection is not available, request timed out after 30000ms.\n\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)"),
        (FailureClass::PoolExhausted, "python", "Traceback (most recent call last):\n  File \"/app/db.py\", line 12, in get\nsqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00"),
        (FailureClass::PoolExhausted, "go", "failed to acquire connection: pool exhausted (max 20)\ngoroutine 1 [running]:"),
        (FailureClass::ConnectionRefused, "java", "java.net.ConnectException: Connection refused (Connection refused)\n\tat java.base/sun.nio.ch.Net.connect0(Native Method)"),
        (FailureClass::ConnectionRefused, "node", "Error: connect ECONNREFUSED 127.0.0.1:6379\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)"),
        (FailureClass::ConnectionRefused, "go", "dial tcp <IP_1>:5432: connect: connection refused"),
        (FailureClass::DnsResolution, "java", "java.net.UnknownHostException: payments.internal: Name or service not known\n\tat java.base/java.net.Inet6AddressImpl.lookupAllHostAddr(Native Method)"),
        (FailureClass::DnsResolution, "go", "dial tcp: lookup payments.svc on 10.96.0.10:53: no such host"),
        (FailureClass::DnsResolution, "node", "Error: getaddrinfo ENOTFOUND payments.svc\n    at GetAddrInfoReqWrap.onlookup [as oncomplete] (node:dns:107:26)"),
        (FailureClass::Timeout, "java", "java.net.SocketTimeoutException: Read timed out\n\tat java.base/java.net.SocketInputStream.socketRead0(Native Method)"),
        (FailureClass::Timeout, "go", "rpc error: code = DeadlineExceeded desc = context deadline exceeded"),
        (FailureClass::Timeout, "python", "requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='api.partner.com', port=443): Read timed out. (read timeout=10)"),
        (FailureClass::OutOfMemory, "java", "java.lang.OutOfMemoryError: Java heap space\n\tat java.base/java.util.Arrays.copyOf(Arrays.java:3512)"),
        (FailureClass::OutOfMemory, "k8s", "Last State: Terminated Reason: OOMKilled Exit Code: 137"),
        (FailureClass::OutOfMemory, "python", "Traceback (most recent call last):\n  File \"/app/etl.py\", line 40, in load\nMemoryError"),
        (FailureClass::OutOfMemory, "go", "fatal error: runtime: out of memory\n\nruntime stack:"),
        (FailureClass::DiskFull, "java", "java.io.IOException: No space left on device\n\tat java.base/java.io.FileOutputStream.writeBytes(Native Method)"),
        (FailureClass::DiskFull, "node", "Error: ENOSPC: no space left on device, write\n    at Object.writeSync (node:fs:927:3)"),
        (FailureClass::DiskFull, "python", "OSError: [Errno 28] No space left on device: '/data/tmp/chunk-0001'"),
        (FailureClass::AuthFailure, "java", "org.springframework.security.authentication.BadCredentialsException: Bad credentials\n\tat org.springframework.security.authentication.dao.DaoAuthenticationProvider.additionalAuthenticationChecks(DaoAuthenticationProvider.java:79)"),
        (FailureClass::AuthFailure, "python", "botocore.exceptions.ClientError: An error occurred (ExpiredToken) when calling the GetObject operation: The provided token has expired."),
        (FailureClass::AuthFailure, "node", "Error: Request failed with status code 401\n    at createError (/srv/app/node_modules/axios/lib/core/createError.js:16:15)"),
        (FailureClass::AuthFailure, "go", "pq: password authentication failed for user \"orders\""),
        (FailureClass::NullDereference, "java", "java.lang.NullPointerException: Cannot invoke \"com.acme.Cart.total()\" because \"cart\" is null\n\tat com.acme.CheckoutService.pay(CheckoutService.java:88)"),
        (FailureClass::NullDereference, "python", "Traceback (most recent call last):\n  File \"/app/cart.py\", line 7, in total\nAttributeError: 'NoneType' object has no attribute 'price'"),
        (FailureClass::NullDereference, "go", "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a1b2c]"),
        (FailureClass::NullDereference, "node", "TypeError: Cannot read properties of undefined (reading 'id')\n    at handler (/srv/app/routes/cart.js:14:22)"),
        (FailureClass::QueueLag, "java", "WARN o.a.k.c.c.i.ConsumerCoordinator - consumer lag of 125000 records on orders-3\norg.apache.kafka.clients.consumer.CommitFailedException: Commit cannot be completed since the group has already rebalanced"),
        (FailureClass::QueueLag, "go", "kinesis consumer falling behind: IteratorAgeMilliseconds=3600000 on shard-0001"),
        (FailureClass::QueueLag, "python", "celery.exceptions: queue full, backlog 50000 tasks"),
        (FailureClass::RateLimited, "python", "openai.RateLimitError: Error code: 429 - {'error': {'message': 'Rate limit reached'}}"),
        (FailureClass::RateLimited, "java", "software.amazon.awssdk.services.dynamodb.model.ProvisionedThroughputExceededException: The level of configured provisioned throughput for the table was exceeded\n\tat software.amazon.awssdk.core.internal.http.CombinedResponseHandler.handleErrorResponse(CombinedResponseHandler.java:125)"),
        (FailureClass::RateLimited, "go", "ThrottlingException: Rate exceeded\n\tstatus code: 400, request id: 1c2d"),
        (FailureClass::TlsCertificate, "java", "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target"),
        (FailureClass::TlsCertificate, "go", "Get \"https://api.partner.com\": x509: certificate has expired or is not yet valid"),
        (FailureClass::TlsCertificate, "python", "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self signed certificate in certificate chain (_ssl.c:1006)"),
        (FailureClass::Deadlock, "java", "com.mysql.cj.jdbc.exceptions.MySQLTransactionRollbackException: Deadlock found when trying to get lock; try restarting transaction"),
        (FailureClass::Deadlock, "go", "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:"),
        (FailureClass::Deadlock, "python", "psycopg2.errors.DeadlockDetected: deadlock detected\nDETAIL:  Process 4242 waits for ShareLock on transaction 991; blocked by process 4243."),
        (FailureClass::MissingConfig, "python", "Traceback (most recent call last):\n  File \"/app/settings.py\", line 3, in <module>\nKeyError: 'DATABASE_URL'"),
        (FailureClass::MissingConfig, "java", "java.lang.IllegalArgumentException: Could not resolve placeholder 'payments.api.url' in value \"${payments.api.url}\""),
        (FailureClass::MissingConfig, "go", "config: environment variable STRIPE_KEY is not set"),
        (FailureClass::FileNotFound, "java", "java.io.FileNotFoundException: /etc/app/keystore.jks (No such file or directory)"),
        (FailureClass::FileNotFound, "python", "FileNotFoundError: [Errno 2] No such file or directory: '/models/v3.bin'"),
        (FailureClass::StackOverflow, "java", "java.lang.StackOverflowError\n\tat com.acme.Tree.walk(Tree.java:40)"),
        (FailureClass::StackOverflow, "python", "RecursionError: maximum recursion depth exceeded while calling a Python object"),
        (FailureClass::Deserialization, "java", "com.fasterxml.jackson.databind.exc.MismatchedInputException: Cannot deserialize value of type `java.util.ArrayList<com.acme.Item>` from Object value"),
        (FailureClass::Deserialization, "python", "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)"),
        (FailureClass::Deserialization, "go", "json: cannot unmarshal string into Go struct field Order.total of type float64"),
        (FailureClass::Deserialization, "node", "SyntaxError: Unexpected token < in JSON at position 0"),
        (FailureClass::PoolExhausted, "dotnet", "System.InvalidOperationException: Timeout expired. The timeout period elapsed prior to obtaining a connection from the pool."),
        (FailureClass::PoolExhausted, "ruby", "ActiveRecord::ConnectionTimeoutError: could not obtain a connection from the pool within 5.000 seconds"),
    ];

    #[test]
    fn each_failure_class_is_recognized_across_languages() {
        let analyst = OfflineAnalyst::new();
        let mut wrong = Vec::new();
        for (class, language, log) in CASES {
            let inc = incident(log);
            let got = analyst.diagnose(&inc);
            if got.as_ref().map(|d| d.class) != Some(*class) {
                wrong.push(format!(
                    "{language} {class:?}: got {:?} for {log:?}",
                    got.map(|d| d.class)
                ));
                continue;
            }
            for line in got.iter().flat_map(|d| &d.evidence) {
                assert!(
                    log.lines().any(|l| l.trim() == line),
                    "evidence {line:?} is not a line of the incident"
                );
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn every_class_has_two_languages() {
        for rule in RULES {
            let languages: std::collections::HashSet<&str> = CASES
                .iter()
                .filter(|c| c.0 == rule.class)
                .map(|c| c.1)
                .collect();
            assert!(
                languages.len() >= 2,
                "{:?} has {} language(s)",
                rule.class,
                languages.len()
            );
        }
    }

    #[test]
    fn stack_line_numbers_are_not_http_statuses() {
        let analyst = OfflineAnalyst::new();
        let inc = incident("java.lang.IllegalStateException: order closed\n\tat com.acme.Orders.close(Orders.java:401)\n\tat com.acme.Api.call(Api.java:429)");
        assert_eq!(analyst.diagnose(&inc), None);
    }

    #[test]
    fn no_rule_means_no_cause_and_low_confidence() {
        let analyst = OfflineAnalyst::new();
        let inc = incident("ValueError: unexpected shipping zone 'XQ'");
        let a = analyst.analyze(&inc, &[]);
        assert_eq!(a.likely_cause, None);
        assert!(a.evidence.is_empty());
        assert!(a.confidence <= 0.2);
        assert_eq!(a.source, "offline");
    }

    #[test]
    fn a_resolved_similar_incident_is_offered_first() {
        let analyst = OfflineAnalyst::new();
        let inc = incident("java.net.SocketTimeoutException: Read timed out");
        let retrieved = vec![
            Retrieved {
                id: "runbook:net.md#timeouts".into(),
                title: "Timeouts".into(),
                text: String::new(),
                resolution: None,
                score: 0.9,
            },
            Retrieved {
                id: "incident:aaaabbbbccccdddd".into(),
                title: "SocketTimeoutException in checkout".into(),
                text: String::new(),
                resolution: Some("raised partner timeout to 5s".into()),
                score: 0.88,
            },
        ];
        let a = analyst.analyze(&inc, &retrieved);
        assert_eq!(a.related[0].id, "incident:aaaabbbbccccdddd");
        assert!(
            a.actions[0].contains("raised partner timeout to 5s"),
            "{:?}",
            a.actions
        );
        assert!(a
            .actions
            .iter()
            .any(|x| x.contains("runbook:net.md#timeouts")));
        assert!(a.confidence > 0.6);
    }
}
