#!/usr/bin/env python3
"""Writes redaction.jsonl: log events with planted secrets (labelled spans) around stack
frames and exception types that redaction must leave exactly as they are.

Deterministic (fixed seed): `python3 analysis/testdata/gen_redaction.py` rewrites the same
file. Each line: {"id", "text", "secrets": [{"kind", "value", "start", "end"}],
"keep": [lines that must survive unchanged]}.
"""

import json
import os
import random
import string

rng = random.Random(20240604)
UP = string.ascii_uppercase
LOW = string.ascii_lowercase
DIG = string.digits
ALNUM = UP + LOW + DIG
B64 = ALNUM + "/+"
URLSAFE = ALNUM + "-_"


def pick(chars, n):
    return "".join(rng.choice(chars) for _ in range(n))


def luhn_complete(prefix, length):
    digits = [int(c) for c in prefix]
    while len(digits) < length - 1:
        digits.append(rng.randrange(10))
    for check in range(10):
        cand = digits + [check]
        total = 0
        for i, d in enumerate(reversed(cand)):
            if i % 2 == 1:
                d *= 2
                if d > 9:
                    d -= 9
            total += d
        if total % 10 == 0:
            return "".join(map(str, cand))
    raise AssertionError("unreachable")


def card():
    prefix, length = rng.choice(
        [("4", 16), ("4", 13), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15),
         ("6011", 16), ("65", 16), ("3530", 16), ("36", 14)]
    )
    number = luhn_complete(prefix, length)
    style = rng.choice(["plain", "space", "dash"])
    if style == "plain" or length not in (16,):
        return number
    sep = " " if style == "space" else "-"
    return sep.join(number[i:i + 4] for i in range(0, 16, 4))


def aws_secret():
    while True:
        s = pick(B64, 40)
        if (sum(c.isupper() for c in s) >= 3 and sum(c.islower() for c in s) >= 3
                and sum(c.isdigit() for c in s) >= 2):
            return s


def jwt():
    import base64
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    body = base64.urlsafe_b64encode(
        json.dumps({"sub": pick(DIG, 8), "exp": 1700000000 + rng.randrange(10**6)}).encode()
    ).decode().rstrip("=")
    return f"{header}.{body}.{pick(URLSAFE, 43)}"


def pem():
    kind = rng.choice(["RSA ", "EC ", "", "OPENSSH ", "ENCRYPTED "])
    body = "\n".join(pick(B64, 64) for _ in range(rng.randrange(3, 8)))
    return f"-----BEGIN {kind}PRIVATE KEY-----\n{body}\n-----END {kind}PRIVATE KEY-----"


def password():
    return pick(ALNUM, rng.randrange(8, 16)) + rng.choice(["!", "#", "$", "%", "", "9"])


def email():
    user = rng.choice(["jane.doe", "ops", "billing+alerts", "k.smith", "admin_42", "x"])
    user += pick(DIG, rng.randrange(0, 3))
    dom = rng.choice(["example.com", "acme.io", "corp.example.org", "mail.co.uk", "shop.de"])
    return f"{user}@{dom}"


def ipv4():
    first = rng.choice([10, 172, 192, 34, 52, 100, 8, 203])
    return ".".join(str(x) for x in [first, rng.randrange(256), rng.randrange(256), rng.randrange(1, 255)])


def ipv6():
    groups = [format(rng.randrange(1, 65536), "x") for _ in range(8)]
    style = rng.choice(["full", "compressed", "link"])
    if style == "full":
        return ":".join(groups)
    if style == "compressed":
        return f"2001:db8:{groups[2]}::{groups[7]}"
    return f"fe80::{groups[4]}:{groups[5]}:{groups[6]}:{rng.randrange(1, 9)}{groups[7][:3]}"


# (kind, value generator, templates where {} is the secret)
SECRETS = {
    "AWS_ACCESS_KEY": (lambda: rng.choice(["AKIA", "ASIA"]) + pick(UP + DIG, 16), [
        "aws: using access key {} for s3 upload",
        "AWS_ACCESS_KEY_ID={}",
        "credentials provider returned AccessKeyId: {} (expired)",
        '{{"accessKeyId": "{}", "region": "eu-west-1"}}',
    ]),
    "AWS_SECRET_KEY": (aws_secret, [
        "aws_secret_access_key = {}",
        "AWS_SECRET_ACCESS_KEY={}",
        'config {{"aws_secret_key": "{}"}}',
        "loaded secret {} from env",
    ]),
    "TOKEN": (lambda: pick(URLSAFE + ".", rng.randrange(24, 48)), [
        "Authorization: Bearer {}",
        "request headers: {{authorization=Bearer {}, accept=*/*}}",
        "curl -H 'Authorization: bearer {}' https://api.internal/v1",
    ]),
    "JWT": (jwt, [
        "token rejected: {}",
        "Authorization header was {}",
        "cookie session={}; Path=/",
    ]),
    "URL_PASSWORD": (password, [
        "connect to postgres://orders:{}@db-primary.svc:5432/orders failed",
        "amqp://guest:{}@rabbitmq:5672/ unreachable",
        "redis://default:{}@cache.prod.internal:6379/0 timed out",
        "jdbc:mysql://app:{}@mysql.acme.io:3306/app?useSSL=true",
        "mongodb+srv://svc:{}@cluster0.example.net/test",
    ]),
    "CONN_PASSWORD": (password, [
        "Server=sql01;Database=shop;User Id=sa;Password={};",
        "host=db port=5432 user=app password={} sslmode=require",
        "Data Source=ora;User ID=scott;Pwd={};",
        'settings: {{"db_password": "{}", "pool": 10}}',
        "DB_PASSWORD={}",
        "login with passwd={} failed",
    ]),
    "API_KEY": (lambda: rng.choice([
        lambda: "sk-" + pick(ALNUM, 48),
        lambda: "sk-proj-" + pick(URLSAFE, 40),
        lambda: "xoxb-" + pick(DIG, 11) + "-" + pick(DIG, 12) + "-" + pick(ALNUM, 24),
        lambda: "xoxp-" + pick(DIG, 11) + "-" + pick(ALNUM, 30),
        lambda: "ghp_" + pick(ALNUM, 36),
        lambda: "AIza" + pick(URLSAFE, 35),
        lambda: "sk_live_" + pick(ALNUM, 24),
    ])(), [
        "openai request failed with key {}",
        "slack client init: token {} invalid_auth",
        "git clone https://github.com/acme/app using {} failed",
        "maps api key {} over quota",
        "export KEY={}",
    ]),
    "GENERIC_SECRET": (lambda: pick(ALNUM, rng.randrange(16, 40)), [
        "calling https://api.partner.com/v2/orders?api_key={}&page=2",
        "api-key: {}",
        '{{"client_secret": "{}", "grant_type": "client_credentials"}}',
        "X-API-Key: {}",
        "webhook secret={} mismatch",
        "refresh_token={}",
        "apikey='{}'",
    ]),
    "PRIVATE_KEY": (pem, [
        "failed to parse key material:\n{}",
        "TLS config dump key=\n{}\nend of dump",
    ]),
    "EMAIL": (email, [
        "password reset mail to {} bounced",
        "user {} not found",
        "From: <{}>",
        "notify={},oncall@acme.io",
    ]),
    "IPV4": (ipv4, [
        "java.net.ConnectException: Connection refused: /{}:5432",
        "upstream {}:8080 returned 502",
        "client_ip={} rate limited",
        "dial tcp {}:443: i/o timeout",
        "peer [{}] closed connection",
    ]),
    "IPV6": (ipv6, [
        "dial tcp [{}]:443: connect: connection refused",
        "client address {} blocked",
        "listening on {} failed",
    ]),
    "CARD": (card, [
        "payment declined for card {}",
        "charge {{\"number\": \"{}\", \"cvc\": \"***\"}} failed",
        "PAN={} rejected by issuer",
    ]),
}

# Lines redaction must not alter: frames, exception types, versions in jar names.
KEEP = [
    "java.lang.IllegalStateException: Connection pool exhausted",
    "\tat com.acme.orders.OrderService.place(OrderService.java:128)",
    "\tat com.acme.auth.TokenService.validate(TokenService.java:42)",
    "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:897) ~[spring-webmvc-5.3.27.jar:5.3.27]",
    "\tat com.google.common.cache.LocalCache.get(LocalCache.java:3951) ~[guava-31.1.0.1.jar:na]",
    "\tat io.netty.channel.nio.NioEventLoop.run(NioEventLoop.java:569) [netty-transport-4.1.94.1.jar:4.1.94.1]",
    "\tat jdk.internal.reflect.GeneratedMethodAccessor123.invoke(Unknown Source)",
    "Caused by: java.net.SocketTimeoutException: Read timed out",
    "org.postgresql.util.PSQLException: FATAL: password authentication failed for user \"orders\"",
    "Traceback (most recent call last):",
    '  File "/usr/local/lib/python3.11/site-packages/sqlalchemy/engine/base.py", line 1965, in _exec_single_context',
    '  File "/app/billing/tasks.py", line 77, in charge_card',
    "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server failed",
    "KeyError: 'secret_name'",
    "goroutine 17 [running]:",
    "main.(*Server).handle(0xc000134000, {0x7f2c1a0, 0xc0001a4e00})",
    "\t/go/src/app/server.go:212 +0x1d",
    "github.com/acme/payments/internal/ledger.(*Store).Commit(...)",
    "panic: runtime error: invalid memory address or nil pointer dereference",
    "    at Object.<anonymous> (/srv/app/node_modules/pg-pool/index.js:45:11)",
    "    at processTicksAndRejections (node:internal/process/task_queues:95:5)",
    "TypeError: Cannot read properties of undefined (reading 'token')",
    "   at Acme.Billing.PaymentService.Charge(Decimal amount) in /src/Billing/PaymentService.cs:line 57",
    "System.Data.SqlClient.SqlException (0x80131904): Login failed for user 'sa'.",
    "/app/vendor/bundle/ruby/3.2.0/gems/activerecord-7.0.4.3/lib/active_record/base.rb:88:in `find'",
    "ActiveRecord::RecordNotFound: Couldn't find User with 'id'=42",
    "thread 'tokio-runtime-worker' panicked at src/store.rs:41:9:",
    "   4: tokio::runtime::task::harness::Harness<T,S>::poll",
    "loaded plugin cali-filter 1.2.3.4-SNAPSHOT (build 2024.06.01)",
    "using driver mysql-connector-j-8.0.33.jar",
]

HEADERS = [
    "2024-06-04T10:{:02d}:{:02d}.123Z ERROR [orders,{}] c.a.o.OrderService - ",
    "2024-06-04 10:{:02d}:{:02d},456 ERROR billing.tasks: ",
    "E0604 10:{:02d}:{:02d}.789012       1 handler.go:88] ",
    "[2024-06-04T10:{:02d}:{:02d}Z] error: ",
]


def header():
    h = rng.choice(HEADERS)
    if "{}" in h:
        return h.format(rng.randrange(60), rng.randrange(60), pick(LOW + DIG, 16))
    return h.format(rng.randrange(60), rng.randrange(60))


LABEL = {"URL_PASSWORD": "PASSWORD", "CONN_PASSWORD": "PASSWORD", "GENERIC_SECRET": "SECRET",
         "IPV4": "IP", "IPV6": "IP"}


def event(i):
    parts = []
    secrets = []
    keep = rng.sample(KEEP, rng.randrange(2, 6))
    n_secrets = rng.randrange(1, 4)
    kinds = [list(SECRETS)[(i + k * 5) % len(SECRETS)] for k in range(n_secrets)]
    text = ""
    for k, kind in enumerate(kinds):
        gen, templates = SECRETS[kind]
        value = gen()
        template = rng.choice(templates)
        line = template.format(value)
        prefix = header() if k == 0 else ""
        offset_in_line = len(prefix) + template.index("{}") - template[:template.index("{}")].count("{{")
        start = len(text) + offset_in_line
        text += prefix + line + "\n"
        secrets.append({"kind": LABEL.get(kind, kind), "value": value, "start": start,
                        "end": start + len(value)})
        # The same secret again later in the event: it must be replaced the same way.
        if rng.random() < 0.15:
            again = f"retry with {value} failed\n"
            start = len(text) + len("retry with ")
            text += again
            secrets.append({"kind": LABEL.get(kind, kind), "value": value, "start": start,
                            "end": start + len(value)})
        for line in keep[k::n_secrets]:
            text += line + "\n"
    for s in secrets:
        assert text[s["start"]:s["end"]] == s["value"], (text, s)
    return {"id": f"r{i:04d}", "text": text.rstrip("\n"), "secrets": secrets, "keep": keep}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "redaction.jsonl")
    with open(out, "w") as f:
        for i in range(400):
            f.write(json.dumps(event(i)) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
