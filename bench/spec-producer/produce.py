#!/usr/bin/env python3
"""Synthetic, deliberately messy production event log for the
connector / sync / external-reference contracts (CONTRACTS.md 2.7.0).

Standard library only. Output is a pure function of the command-line options
(no wall clock, no hash-seed dependence, no uuid/os randomness).

    python3 produce.py --seed 5 --events 300000 --connectors 3000 --out log.jsonl

Writes OUT (JSONL, bytes) and OUT.meta.json (what was injected where: tag
counts, 1-based line numbers of invalid / ambiguous / CRLF / blank lines,
canary connector ids).  The meta file is a description of what the generator
*intended*; it is not an oracle for the reducers.
"""
import argparse
import copy
import json
import math
from collections import Counter
from decimal import Decimal
import random

NS = 10 ** 9
CROCK = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# 2023-12-27T00:00:00Z ; 70 days -> crosses the year boundary and 2024-02-29
T0 = 1703635200 * NS
SPAN = 70 * 86400 * NS
I63 = 2 ** 63 - 1

ENV_ORDER = ["event_id", "event_type", "aggregate_id", "payload", "timestamp",
             "node_id", "lamport_clock", "project_uuid", "correlation_id",
             "causation_id", "build_id", "project_slug", "schema_version",
             "data_tier"]
ALT_ORDER = ["event_type", "event_id", "timestamp", "lamport_clock", "node_id",
             "aggregate_id", "project_uuid", "correlation_id", "causation_id",
             "schema_version", "data_tier", "build_id", "project_slug"]


# --------------------------------------------------------------------------
# JSON text building blocks
class Raw:
    """Verbatim JSON text (used for invalid / edge values)."""
    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text


class Pairs:
    """Object whose items may repeat keys (invalid JSON per spec §8)."""
    __slots__ = ("items",)

    def __init__(self, items):
        self.items = items


def _sci(x):
    """shortest round-trip digits of |x| -> (digits, scientific exponent)."""
    sign, digits, exp = Decimal(repr(abs(x))).as_tuple()
    full = "".join(map(str, digits))
    core = full.lstrip("0")
    trail = len(core) - len(core.rstrip("0"))
    core = core.rstrip("0") or "0"
    return core, exp + trail + len(core) - 1


def _plain(D, e, keep_point):
    n = len(D)
    if e >= n - 1:
        s, frac = D + "0" * (e - (n - 1)), ""
    elif e >= 0:
        s, frac = D[:e + 1], D[e + 1:]
    else:
        s, frac = "0", "0" * (-e - 1) + D
    if frac:
        return s + "." + frac
    return s + ".0" if keep_point else s


def fmt_float(x, style):
    neg = math.copysign(1.0, x) < 0
    sg = "-" if neg else ""
    if style == "py":
        return repr(x)
    if x == 0.0:
        return {"js": "0", "go": sg + "0", "java": sg + "0.0", "dotnet": sg + "0",
                "rust": sg + "0.0", "ruby": sg + "0.0"}[style]
    D, e = _sci(x)
    mant = D[0] + ("." + D[1:] if len(D) > 1 else "")
    if style == "js":
        if -7 <= e < 21:
            return sg + _plain(D, e, False)
        return sg + mant + "e" + ("+" if e > 0 else "-") + str(abs(e))
    if style == "go":
        if e < -6 or e >= 21:
            return sg + mant + "e" + ("+" if e > 0 else "-") + "%02d" % abs(e)
        return sg + _plain(D, e, False)
    if style == "java":
        if -3 <= e < 7:
            return sg + _plain(D, e, True)
        return sg + D[0] + "." + (D[1:] or "0") + "E" + str(e)
    if style == "dotnet":
        if -5 <= e < 15:
            return sg + _plain(D, e, False)
        return sg + mant + "E" + ("+" if e >= 0 else "-") + "%02d" % abs(e)
    if style == "rust":
        if -5 <= e < 16:
            return sg + _plain(D, e, True)
        return sg + mant + "e" + str(e)
    if style == "ruby":
        if -4 <= e < 16:
            return sg + _plain(D, e, True)
        return sg + D[0] + "." + (D[1:] or "0") + "e" + ("+" if e >= 0 else "-") + "%02d" % abs(e)
    raise ValueError(style)


_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n",
          "\r": "\\r", "\t": "\\t"}


class Style:
    def __init__(self, name, ascii=False, slash=False, upper_hex=False,
                 html=False, dotnet=False, js_safe=False, item_sep=",",
                 key_sep=":", brace_space=False, order="insertion",
                 floatfmt="py", ctrl_short=True):
        self.name = name
        self.ascii = ascii
        self.slash = slash
        self.upper_hex = upper_hex
        self.html = html
        self.dotnet = dotnet
        self.js_safe = js_safe
        self.item_sep = item_sep
        self.key_sep = key_sep
        self.brace_space = brace_space
        self.order = order
        self.floatfmt = floatfmt
        self.ctrl_short = ctrl_short

    def variant(self, **kw):
        s = copy.copy(self)
        for k, v in kw.items():
            setattr(s, k, v)
        return s


def enc_str(s, st):
    hx = "\\u%04X" if st.upper_hex else "\\u%04x"
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"' or ch == "\\":
            out.append(_SHORT[ch])
        elif o < 0x20:
            out.append(_SHORT[ch] if (st.ctrl_short and ch in _SHORT) else hx % o)
        elif ch == "/" and st.slash:
            out.append("\\/")
        elif st.html and ch in "<>&":
            out.append(hx % o)
        elif st.dotnet and ch in "<>&+'`":
            out.append(hx % o)
        elif (st.js_safe or st.html) and o in (0x2028, 0x2029):
            out.append(hx % o)
        elif st.ascii and o > 0x7E and (o != 0x7F or st.dotnet):
            if o > 0xFFFF:
                v = o - 0x10000
                out.append(hx % (0xD800 + (v >> 10)))
                out.append(hx % (0xDC00 + (v & 0x3FF)))
            else:
                out.append(hx % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def encode(v, st, rng, top=True):
    out = []
    _enc(v, st, rng, out, top)
    return "".join(out)


def _obj(items, st, rng, out):
    if not items:
        out.append("{}")
        return
    out.append("{ " if st.brace_space else "{")
    first = True
    for k, val in items:
        if not first:
            out.append(st.item_sep)
        first = False
        out.append(enc_str(k, st))
        out.append(st.key_sep)
        _enc(val, st, rng, out, False)
    out.append(" }" if st.brace_space else "}")


def _enc(v, st, rng, out, top):
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, Raw):
        out.append(v.text)
    elif isinstance(v, int):
        out.append(str(v))
    elif isinstance(v, float):
        out.append(fmt_float(v, st.floatfmt))
    elif isinstance(v, str):
        out.append(enc_str(v, st))
    elif isinstance(v, Pairs):
        _obj(v.items, st, rng, out)
    elif isinstance(v, dict):
        items = list(v.items())
        if st.order == "sorted":
            items.sort(key=lambda kv: kv[0])
        elif st.order == "shuffled":
            rng.shuffle(items)
        elif st.order == "alt" and top:
            rank = {k: i for i, k in enumerate(ALT_ORDER)}
            items.sort(key=lambda kv: (kv[0] == "payload", rank.get(kv[0], 50)))
        elif st.order == "payload_first" and top:
            items.sort(key=lambda kv: 0 if kv[0] == "payload" else 1)
        _obj(items, st, rng, out)
    elif isinstance(v, (list, tuple)):
        if not v:
            out.append("[]")
            return
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(st.item_sep)
            _enc(x, st, rng, out, False)
        out.append("]")
    else:
        raise TypeError(type(v))


# --------------------------------------------------------------------------
# timestamps
def civil(days):
    """days since 1970-01-01 -> (y, m, d) (proleptic Gregorian)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + (m <= 2), m, d)


def render_ts(ns, off_min, digits, zulu, trim=False, lower_t=False, lower_z=False,
              sep="T"):
    """ns: UTC instant; off_min: offset in minutes; digits: fraction digits
    (0..9); zulu: write 'Z' instead of +00:00 when offset is 0."""
    local = ns + off_min * 60 * NS
    sec, frac = divmod(local, NS)
    days, sod = divmod(sec, 86400)
    y, mo, d = civil(days)
    hh, rem = divmod(sod, 3600)
    mm, ss = divmod(rem, 60)
    t = "t" if lower_t else sep
    s = "%04d-%02d-%02d%s%02d:%02d:%02d" % (y, mo, d, t, hh, mm, ss)
    if digits:
        f = ("%09d" % frac)[:digits]
        if trim:
            f = f.rstrip("0")
        if f:
            s += "." + f
    if off_min == 0 and zulu:
        s += "z" if lower_z else "Z"
    else:
        sign = "+" if off_min >= 0 else "-"
        a = abs(off_min)
        s += "%s%02d:%02d" % (sign, a // 60, a % 60)
    return s


# --------------------------------------------------------------------------
# producers
class Producer:
    def __init__(self, family, version, style, idfmt, tsmode, prec_ns,
                 schema_version, opt_null, data_tier, env_extra, pay_extra):
        self.family = family
        self.version = version
        self.style = style
        self.idfmt = idfmt          # event id format
        self.tsmode = tsmode        # java|py|go|js|rust|dotnet|ruby
        self.prec_ns = prec_ns      # clock precision
        self.schema_version = schema_version
        self.opt_null = opt_null    # True: write optional fields as null; False: omit
        self.data_tier = data_tier  # emit data_tier?
        self.env_extra = env_extra  # name of unknown-envelope-field recipe or None
        self.pay_extra = pay_extra  # name of unknown-payload-field recipe or None

    @property
    def tag(self):
        return "%s/%s" % (self.family, self.version)


S_JAVA = Style("java", ascii=True, slash=True, floatfmt="java")
S_PY = Style("py", ascii=True, item_sep=", ", key_sep=": ", floatfmt="py")
S_GO = Style("go", html=True, order="sorted", floatfmt="go")
S_JS = Style("js", js_safe=False, order="payload_first", floatfmt="js")
S_RUST = Style("rust", floatfmt="rust")
S_DOTNET = Style("dotnet", ascii=True, upper_hex=True, dotnet=True, floatfmt="dotnet",
                 ctrl_short=False)
S_RUBY = Style("ruby", item_sep=", ", key_sep=": ", brace_space=True, order="alt",
               floatfmt="ruby")

PRODUCERS = {
    "java": [Producer("collector-java", "1.8.2", S_JAVA, "ulid", "java", 1000, None, True, False, None, None),
             Producer("collector-java", "1.9.0", S_JAVA, "ulid", "java", 1000, "2.6.0", True, False, "java", "java")],
    "py": [Producer("sync-worker-py", "2.3.0", S_PY, "uuid4", "py", 1000, "2.7.0", True, True, None, None),
           Producer("sync-worker-py", "2.4.1", S_PY, "uuid4", "py", 1000, "2.7.0", True, True, "py", "py")],
    "go": [Producer("edge-go", "0.9.4", S_GO, "ulid", "go", 1, "2.7.0", False, True, None, None),
           Producer("edge-go", "0.10.0", S_GO, "ulid", "go", 1, "2.7.0", False, True, "go", "go")],
    "js": [Producer("gateway-node", "4.1.0", S_JS, "ulid_lower", "js", 10 ** 6, "2.7.0", False, False, None, None),
           Producer("gateway-node", "4.2.0-beta.1", S_JS.variant(order="insertion"), "uuid7", "js", 10 ** 6, "2.8.0", False, False, "js", "js")],
    "rust": [Producer("ingest-rs", "1.0.0", S_RUST.variant(order="shuffled"), "uuid7", "rust", 1, "2.7.0", True, True, None, None),
             Producer("ingest-rs", "1.1.0", S_RUST, "uuid7", "rust", 1, "2.7.1", True, True, "rust", "rust")],
    "dotnet": [Producer("hooks-dotnet", "8.0.3", S_DOTNET, "uuid_hex32", "dotnet", 100, "2.7.0", True, True, None, "dotnet")],
    "ruby": [Producer("ops-ruby", "3.2.2", S_RUBY, "uuid_upper", "ruby", 10 ** 6, None, False, False, "ruby", "ruby")],
}
FAMILY_POOLS = {  # which producer families run which service
    "conn": ["java", "rust", "go", "dotnet"],
    "sync": ["py", "go", "dotnet", "rust"],
    "link": ["js", "ruby", "py"],
    "other": ["java", "py", "go", "js", "rust", "dotnet", "ruby"],
}
OFFSETS = [0, 0, 0, 0, 60, 120, 330, 345, 540, 600, -300, -420, -480, -210, 840, -720, 330, 60]

# --------------------------------------------------------------------------
# text corpora
REASONS_DEGRADED = [
    "p95 latency 2300ms > SLO 800ms",
    "HTTP 503 from upstream; retry-after=30",
    "Rate limit exhausted (X-RateLimit-Remaining: 0) \U0001F6A6",
    "D\u00e9lai d'attente d\u00e9pass\u00e9 lors de la connexion \u00e0 l'API",
    "\u63a5\u7d9a\u304c\u30bf\u30a4\u30e0\u30a2\u30a6\u30c8\u3057\u307e\u3057\u305f (30s)",
    "\uc5f0\uacb0 \uc2dc\uac04 \ucd08\uacfc",
    "Zeit\u00fcberschreitung \u2013 Gegenstelle antwortet nicht",
    "\u041e\u0448\u0438\u0431\u043a\u0430 TLS: \u0441\u0435\u0440\u0442\u0438\u0444\u0438\u043a\u0430\u0442 \u0438\u0441\u0442\u0451\u043a",
    "\u0627\u0646\u062a\u0647\u062a \u0645\u0647\u0644\u0629 \u0627\u0644\u0627\u062a\u0635\u0627\u0644",
    "TLS handshake failed: x509: certificate signed by unknown authority\n  at dial tcp 10.0.3.7:443",
    "webhook queue backlog > 10k <warn> & growing",
    "path C:\\hooks\\inbox not writable",
    "\u26a0\ufe0f partial outage: 3/5 regions \U0001F525",
    "error: \"invalid_grant\"\tcode=400",
    "upstream said: \U0001D518\U0001D52B\U0001D526\U0001D520\U0001D52C\U0001D521\U0001D522 \U0002000B",
    "zero\u200bwidth + ZWJ \U0001F469\u200d\U0001F4BB and combining e\u0301",
    "DNS SERVFAIL for api.example.com/v3",
    "\u8fde\u63a5\u88ab\u91cd\u7f6e (ECONNRESET)",
]
REASONS_REVOKED = [
    "token revoked by user",
    "OAuth grant withdrawn \u2014 l'utilisateur a r\u00e9voqu\u00e9 l'acc\u00e8s",
    "App uninstalled from org 'acme-\u00df'",
    "credentials rotated; old secret invalidated",
    "\u30a2\u30af\u30bb\u30b9\u6a29\u9650\u304c\u53d6\u308a\u6d88\u3055\u308c\u307e\u3057\u305f \U0001F512",
    "security review: scope repo:admin no longer allowed <policy #42>",
    "Zugriff entzogen (Konto gel\u00f6scht)",
]
REASONS_REJECT = [
    "schema_mismatch: unknown field 'foo'",
    "payload too large (12.4 MiB > 10 MiB)",
    "signature verification failed: X-Hub-Signature-256 mismatch",
    "champ obligatoire manquant : \u00ab issue.key \u00bb",
    "\u7f72\u540d\u304c\u4e00\u81f4\u3057\u307e\u305b\u3093",
    "unsupported event type \"merge_group\"",
    "json: cannot unmarshal string into Go value of type int64",
    "\u274c duplicate of delivery already ingested",
]
REASONS_FAIL = [
    "max retries exhausted: HTTP 502 Bad Gateway",
    "consumer crashed: Traceback (most recent call last):\n  File \"ingest.py\", line 88, in <module>\nKeyError: 'id'",
    "timeout after 5 attempts (30s each)",
    "\u00c9chec d\u00e9finitif : le service distant a r\u00e9pondu 500",
    "\u30b5\u30fc\u30d0\u30fc\u30a8\u30e9\u30fc\u304c\u7d99\u7d9a",
    "poison message \u2620\ufe0f \u2013 moved to DLQ",
    "TLS: bad record MAC\r\n",
]
HUMANS = ["mar\u00eda.l\u00f3pez", "zo\u00eb.o'brien", "\u674e\u96f7", "bj\u00f6rn.\u00e4ngstr\u00f6m",
          "s\u00f8ren.kj\u00e6r", "amelie+ops@acme.example", "\u7528\u6237_42", "jdoe", "a.smith",
          "priya.r", "tom\u00e1\u0161.novák", "\u0418\u0432\u0430\u043d \u041f\u0435\u0442\u0440\u043e\u0432",
          "u_4821", "u_0007", "nadia.el-amrani", "kenji.\u5c71\u7530"]
SERVICES = ["svc-health-prober", "svc-connector-manager", "svc-sync-scheduler", "svc-linker",
            "ci-bot", "svc-reconciler"]
PROVIDERS = [  # provider, connector_types, external provider name, weight
    ("github", ["github_app", "webhook", "oauth_app"], "github", 30),
    ("jira", ["webhook", "polling", "api_token"], "jira", 20),
    ("slack", ["events_api", "webhook"], "slack", 12),
    ("gitlab", ["webhook", "api_token"], "gitlab", 10),
    ("linear", ["webhook", "oauth_app"], "linear", 8),
    ("circleci", ["polling", "webhook"], "circleci", 6),
    ("github-actions", ["webhook"], "github", 6),
    ("buildkite", ["webhook"], "buildkite", 4),
    ("pagerduty", ["webhook", "polling"], "pagerduty", 4),
]
OTHER_TYPES = ["MissionCreated", "WorkPackageStatusChanged", "GitCommitRecorded",
               "DossierArtifactIndexed", "MissionClosed", "BuildObserved"]
TYPO_TYPES = ["ConnectorDegraded ", "connector_health_checked", "SyncIngestAccepted.v2",
              "ConnectorHealthCheck", "syncDeadLettered"]
EXT_PROVIDER_CASE = {"github": "GitHub", "jira": "JIRA", "gitlab": "GitLab", "slack": "Slack",
                     "linear": "Linear", "circleci": "CircleCI", "buildkite": "Buildkite",
                     "pagerduty": "PagerDuty"}


# --------------------------------------------------------------------------
class Gen:
    def __init__(self, seed, n_events, n_conn):
        self.r = random.Random(seed)
        self.N = n_events
        self.K = n_conn
        self.events = []        # base events
        self.tags = Counter()   # generator-side tallies (intended)
        self.meta_lines = {}    # category -> list of line numbers (filled at write)
        self.canaries = []

    # ---------------- ids
    def rbits(self, n):
        return self.r.getrandbits(n)

    def ulid(self, t_ns):
        v = ((t_ns // 10 ** 6) & ((1 << 48) - 1)) << 80 | self.rbits(80)
        return "".join(CROCK[(v >> (5 * i)) & 31] for i in range(25, -1, -1))

    def uuid_hex(self, version=4, t_ns=0):
        if version == 7:
            v = ((t_ns // 10 ** 6) & ((1 << 48) - 1)) << 80 | self.rbits(80)
        else:
            v = self.rbits(128)
        v &= ~(0xF << 76)
        v |= version << 76
        v &= ~(0x3 << 62)
        v |= 0x2 << 62
        return "%032x" % v

    @staticmethod
    def hyph(h):
        return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])

    def new_id(self, fmt, t_ns):
        if fmt == "ulid":
            return self.ulid(t_ns)
        if fmt == "ulid_lower":
            return self.ulid(t_ns).lower()
        if fmt == "uuid4":
            return self.hyph(self.uuid_hex(4))
        if fmt == "uuid7":
            return self.hyph(self.uuid_hex(7, t_ns))
        if fmt == "uuid_hex32":
            return self.uuid_hex(4)
        if fmt == "uuid_upper":
            return self.hyph(self.uuid_hex(4)).upper()
        raise ValueError(fmt)

    def hexs(self, n):
        return "%0*x" % (n, self.rbits(4 * n))

    def b36(self, n):
        a = "0123456789abcdefghijklmnopqrstuvwxyz"
        return "".join(self.r.choice(a) for _ in range(n))

    # ---------------- world
    def setup(self):
        r = self.r
        n_nodes = max(14, self.K // 50)
        self.nodes = []
        fams = list(PRODUCERS)
        for i in range(n_nodes):
            fam = fams[i % len(fams)] if i < len(fams) * 2 else r.choice(fams)
            versions = PRODUCERS[fam]
            region = r.choice(["eu-west-1", "us-east-1", "ap-northeast-1", "ap-south-1", "sa-east-1"])
            node = {
                "id": "%s-%s-%02d-%s" % (versions[0].family.split("-")[0], region, i, self.hexs(4)),
                "fam": fam,
                "versions": versions,
                "upgrade_at": T0 + r.randint(int(SPAN * 0.1), int(SPAN * 1.2)) if len(versions) > 1 else None,
                "offset": r.choice(OFFSETS),
                "skew": int(r.gauss(0, 0.25) * NS) if r.random() < 0.9 else r.choice([-1, 1]) * r.randint(60, 600) * NS,
                "delay": int(r.lognormvariate(-1.0, 1.2) * NS),
                "clock": -1 if r.random() < 0.3 else r.choice([r.randint(0, 5000), r.randint(10 ** 6, 10 ** 7), r.randint(10 ** 9, 2 * 10 ** 9)]),
                "build": r.choice([None, self.hexs(40), "ci-2024.01.%02d-%s" % (r.randint(1, 28), self.hexs(7))]),
            }
            self.nodes.append(node)
        self.pools = {k: [n for n in self.nodes if n["fam"] in v] for k, v in FAMILY_POOLS.items()}
        n_proj = max(3, self.K // 75)
        slugs = ["acme-platform", "billing", "donn\u00e9es-client", "mobile-app", "infra", "search",
                 "\u30c7\u30fc\u30bf\u57fa\u76e4", "growth", "payments", "docs-site"]
        self.projects = [{"uuid": self.hyph(self.uuid_hex(4)),
                          "slug": "%s-%d" % (slugs[i % len(slugs)], i) if i >= len(slugs) else slugs[i]}
                         for i in range(n_proj)]
        n_mis = max(4, self.K // 4)
        self.missions = []
        for i in range(n_mis):
            mid = r.choice(["mission-%04d" % i, "m_%s" % self.b36(10), "%04d-%s" % (i, r.choice(["auth-revamp", "sso", "\u00e9t\u00e9-launch", "q1-okr"]))])
            self.missions.append({"id": mid, "project": r.choice(self.projects),
                                  "wps": ["WP%02d" % k for k in range(1, r.randint(3, 16))]})
        # connectors
        weights = [p[3] for p in PROVIDERS]
        self.connectors = []
        seen = set()
        total_budget = self.N * 0.985
        link_share = 0.30
        budgets = [r.lognormvariate(0, 0.8) for _ in range(self.K)]
        sb = sum(budgets)
        for i in range(self.K):
            prov = r.choices(PROVIDERS, weights)[0]
            m = r.choice(self.missions)
            while True:
                f = r.random()
                if f < 0.45:
                    cid = "conn_%s" % self.b36(10)
                elif f < 0.60:
                    cid = "%s:%s/%s" % (prov[0], r.choice(["acme", "initech", "globex", "umbrella"]), self.b36(6))
                elif f < 0.75:
                    cid = "%s-%s-%d" % (prov[0], r.choice(prov[1]), r.randint(1, 99999))
                elif f < 0.995:
                    cid = self.hyph(self.uuid_hex(4))
                else:
                    cid = "conn-m\u00fcnchen-%s" % self.b36(4)
                if cid not in seen:
                    seen.add(cid)
                    break
            start = T0 + r.randint(0, int(SPAN * 0.6))
            end = start + int((T0 + SPAN - start) * r.uniform(0.3, 1.0))
            self.connectors.append({
                "id": cid, "provider": prov[0], "ctype": r.choice(prov[1]), "ext": prov[2],
                "mission": m, "project": m["project"],
                "url": self.endpoint_url(prov[0]),
                "budget": max(1, int(round(budgets[i] / sb * total_budget * (1 - 0.015)))),
                "start": start, "end": end,
                "nodes": {k: r.choice(self.pools[k]) for k in ("conn", "sync", "link")},
                "clock": -1,
            })
        self.link_keys = []       # global list of (key, aggregate, link_id)
        self.link_key_map = {}
        self.link_ids = []

    def endpoint_url(self, prov):
        r = self.r
        f = r.random()
        org = r.choice(["acme", "initech", "globex", "umbrella", "hooli"])
        if f < 0.005:
            return "http://[fd00:%x::%x]:%d/hooks/in" % (r.randint(1, 0xffff), r.randint(1, 0xffff), r.choice([8080, 9000]))
        if f < 0.01:
            return "https://xn--bcher-kva.example/hooks/%s" % self.b36(8)
        if f < 0.02:
            base = "https://ingest.%s.example.com/v2/hooks?token_ref=%s&q=" % (org, self.b36(6))
            return base + "x" * r.randint(1200, 2000 - len(base))
        if f < 0.03:
            return "https://hooks.%s.example.com/%s?name=caf%%C3%%A9&tags=a%%2Cb#frag" % (org, self.b36(6))
        if f < 0.08:
            return "http://10.%d.%d.%d:%d/health" % (r.randint(0, 255), r.randint(0, 255), r.randint(1, 254), r.choice([80, 8080, 8443]))
        table = {
            "github": "https://api.github.com/repos/%s/%s/hooks/%d" % (org, self.b36(6), r.randint(10 ** 5, 10 ** 9)),
            "github-actions": "https://api.github.com/repos/%s/%s/actions/runs" % (org, self.b36(6)),
            "jira": "https://%s.atlassian.net/rest/api/3/webhook/%d" % (org, r.randint(1, 9999)),
            "slack": "https://hooks.slack.com/services/T%s/B%s/%s" % (self.b36(8).upper(), self.b36(8).upper(), self.b36(24)),
            "gitlab": "https://gitlab.%s.example.com:8443/api/v4/projects/%d/hooks" % (org, r.randint(1, 9999)),
            "linear": "https://api.linear.app/graphql",
            "circleci": "https://circleci.com/api/v2/project/gh/%s/%s" % (org, self.b36(6)),
            "buildkite": "https://api.buildkite.com/v2/organizations/%s/pipelines" % org,
            "pagerduty": "https://events.pagerduty.com/v2/enqueue?routing_key=%s" % self.b36(32),
        }
        return table[prov]

    # ---------------- time rendering per producer
    def producer_at(self, node, t):
        v = node["versions"]
        if node["upgrade_at"] is not None and t >= node["upgrade_at"]:
            return v[1]
        return v[0]

    def render(self, prod, node, ns, kind="env"):
        """render an instant in the producer's natural style."""
        r = self.r
        ns = ns - ns % prod.prec_ns
        if r.random() < 0.15:   # scheduler-aligned instants -> short fractions
            q = 10 ** r.randint(1, 9)
            ns -= ns % q
        m = prod.tsmode
        local_off = node["offset"]
        off = 0 if (kind == "payload" and r.random() < 0.7) else local_off
        if m == "java":
            frac = ns % NS
            d = 0 if frac == 0 else (3 if frac % 10 ** 6 == 0 else (6 if frac % 1000 == 0 else 9))
            s = render_ts(ns, 0, d, True)
        elif m == "py":
            frac = ns % NS
            s = render_ts(ns, off, 0 if frac // 1000 == 0 else 6, False)
        elif m == "go":
            s = render_ts(ns, off, 9, True, trim=True)
        elif m == "js":
            s = render_ts(ns, 0, 3, True)
        elif m == "rust":
            frac = ns % NS
            d = 0 if frac == 0 else (3 if frac % 10 ** 6 == 0 else (6 if frac % 1000 == 0 else 9))
            s = render_ts(ns, 0, d, False)
        elif m == "dotnet":
            s = render_ts(ns, off, 7, False)
        elif m == "ruby":
            s = render_ts(ns, off, 3, True)
        else:
            raise ValueError(m)
        if r.random() < 0.002:  # RFC 3339 §5.6 lower-case t / z (spec §8)
            s = s.replace("T", "t", 1)
            if s.endswith("Z") and r.random() < 0.7:
                s = s[:-1] + "z"
            self.tags["ts_lowercase"] += 1
        return s

    # ---------------- event construction
    def pick_node(self, c, kind):
        if self.r.random() < 0.05:   # failover to another node of the pool
            return self.r.choice(self.pools[kind])
        return c["nodes"][kind]

    def add(self, c, fam, etype, t, payload, node, chain=None, tags=()):
        ev = {"fam": fam, "etype": etype, "conn": c, "t": t, "payload": payload,
              "node": node, "chain": chain, "tags": list(tags), "lam": None}
        self.events.append(ev)
        return ev

    def conn_base(self, c, t, prod, node, actor_type=None, actor_id=None):
        r = self.r
        if actor_type is None:
            actor_type = r.choices(["service", "system", "human"], [6, 3, 1])[0]
        if actor_id is None:
            actor_id = {"human": r.choice(HUMANS), "service": r.choice(SERVICES),
                        "system": r.choice(["system", "scheduler", "kube-cronjob/health"])}[actor_type]
        rec = t - r.randint(0, 2 * NS)
        p = {
            "connector_id": c["id"], "connector_type": c["ctype"], "provider": c["provider"],
            "mission_id": c["mission"]["id"], "project_uuid": c["project"]["uuid"],
            "actor_id": actor_id, "actor_type": actor_type, "endpoint_url": c["url"],
            "recorded_at": self.render(prod, node, rec, "payload"),
        }
        return p, rec

    def latency(self, status):
        r = self.r
        if status == "healthy":
            v = r.lognormvariate(math.log(120), 0.6)
        elif status == "degraded":
            v = r.uniform(800, 5000)
        else:
            f = r.random()
            if f < 0.4:
                return 0.0
            if f < 0.7:
                return r.choice([30000.0, 10000, 5000.0])
            v = r.uniform(1000, 30000)
        f = r.random()
        if f < 0.15:
            return int(round(v))
        if f < 0.2:
            return round(v, 0)
        if f < 0.22:
            return v / 1e6   # tiny values -> exponent notation on some producers
        return round(v, r.choice([1, 2, 3, 3, 6]))

    def conn_event(self, c, st, etype, t, **kw):
        node = self.pick_node(c, "conn")
        prod = self.producer_at(node, t)
        r = self.r
        if etype == "ConnectorProvisioned":
            p, rec = self.conn_base(c, t, prod, node, actor_type=r.choice(["human", "human", "service"]))
        elif etype == "ConnectorHealthChecked":
            p, rec = self.conn_base(c, t, prod, node, actor_type=r.choice(["service", "system"]))
            status = kw["status"]
            p["health_status"] = status
            p["latency_ms"] = kw.get("latency", self.latency(status))
            if status == "healthy":
                st["last_healthy"] = rec
        elif etype == "ConnectorDegraded":
            p, rec = self.conn_base(c, t, prod, node)
            p["degradation_reason"] = r.choice(REASONS_DEGRADED)
            lh = st.get("last_healthy") or st.get("prov_at") or (rec - 3600 * NS)
            lh = min(lh, rec)
            if kw.get("semantic"):
                lh = rec + r.randint(1, 120) * NS
                self.tags["inj_conn_semantic_last_healthy_after_recorded"] += 1
            p["last_healthy_at"] = self.render(prod, node, lh, "payload")
        elif etype == "ConnectorRevoked":
            p, rec = self.conn_base(c, t, prod, node, actor_type=r.choice(["human", "system", "service"]))
            p["revocation_reason"] = r.choice(REASONS_REVOKED)
        elif etype == "ConnectorReconnected":
            strat = kw["strategy"]
            p, rec = self.conn_base(c, t, prod, node, actor_type="human" if strat == "manual" else r.choice(["system", "service"]))
            p["previous_state"] = kw["prev"]
            p["reconnect_strategy"] = strat
        else:
            raise ValueError(etype)
        if kw.get("identity"):
            if r.random() < 0.5:
                p["provider"] = EXT_PROVIDER_CASE.get(c["provider"], c["provider"].upper())
            else:
                p["connector_type"] = "polling" if c["ctype"] != "polling" else "webhook"
        if etype == "ConnectorProvisioned":
            st["prov_at"] = rec
        return self.add(c, "conn", etype, t, p, node, chain=("conn", c["id"]), tags=kw.get("tags", ()))

    # ---------------- connector lifecycle
    def sim_connector(self, c):
        r = self.r
        B = c["budget"]
        times = sorted(r.randint(c["start"], c["end"]) for _ in range(B))
        plan = r.choices(["none", "final", "mid"], [85, 8, 7])[0]
        flappy = r.random() < 0.012
        ident = r.random() < 0.006
        hc_first = r.random() < 0.008
        k_final = int(B * r.uniform(0.75, 0.98)) if plan == "final" else None
        k_mid = int(B * r.uniform(0.2, 0.6)) if plan == "mid" else None
        k_flap = int(B * r.uniform(0.1, 0.5)) if flappy else None
        st = {"state": None}
        sy = {"deliv": {}, "open": [], "term": [], "dead": [], "replayed": []}
        n_conn_ev = 0
        revoked_final = False
        mid_wait = None
        flap_script = []
        for i, t in enumerate(times):
            if revoked_final:
                # stragglers after a final revocation, then silence
                f = r.random()
                if f < 0.25 and sy["open"]:
                    self.sync_step(c, sy, t)
                elif f < 0.35:
                    self.tags["inj_conn_invalid_after_revoked"] += 1
                    self.conn_event(c, st, "ConnectorHealthChecked", t,
                                    status=r.choice(["healthy", "unreachable"]), tags=["inj:invalid_transition"])
                elif f < 0.38:
                    self.tags["inj_conn_invalid_after_revoked"] += 1
                    self.conn_event(c, st, "ConnectorRevoked", t, tags=["inj:invalid_transition"])
                break
            if i == 0:
                kind = "conn"
            elif flap_script:
                kind = "conn"
            else:
                kind = r.choices(["conn", "sync", "link"], [0.31, 0.39, 0.30])[0]
                if k_final is not None and i >= k_final:
                    kind = "conn"
                if k_mid is not None and i >= k_mid:
                    kind = "conn"
                if k_flap is not None and i >= k_flap:
                    kind = "conn"
            if kind == "sync":
                self.sync_step(c, sy, t)
                continue
            if kind == "link":
                self.link_step(c, t)
                continue
            # connector lifecycle
            n_conn_ev += 1
            s = st["state"]
            kw = {}
            if s is None:
                if hc_first:
                    hc_first = False
                    self.tags["inj_conn_invalid_before_provisioned"] += 1
                    self.conn_event(c, st, "ConnectorHealthChecked", t, status="healthy", tags=["inj:invalid_transition"])
                    continue
                self.conn_event(c, st, "ConnectorProvisioned", t, **kw)
                st["state"] = "provisioned"
                continue
            if flap_script:
                step = flap_script.pop(0)
                if step == "rec":
                    self.conn_event(c, st, "ConnectorReconnected", t, prev=s, strategy="backoff", **kw)
                    st["state"] = "reconnected"
                else:
                    self.conn_event(c, st, "ConnectorHealthChecked", t, status="unreachable", **kw)
                    st["state"] = "degraded"
                continue
            if k_flap is not None and i >= k_flap and s in ("healthy", "degraded", "reconnected", "provisioned"):
                k_flap = None
                n = r.randint(4, 6)
                self.tags["inj_conn_reconnect_loop_connectors"] += 1
                first = "ConnectorDegraded" if s != "degraded" else None
                flap_script = []
                for _ in range(n):
                    flap_script += ["rec", "deg"]
                if first:
                    self.conn_event(c, st, first, t, **kw)
                    st["state"] = "degraded"
                else:
                    flap_script.pop(0)
                    self.conn_event(c, st, "ConnectorReconnected", t, prev="degraded", strategy="backoff", **kw)
                    st["state"] = "reconnected"
                continue
            if k_final is not None and i >= k_final and s != "revoked":
                self.conn_event(c, st, "ConnectorRevoked", t, **kw)
                st["state"] = "revoked"
                revoked_final = True
                continue
            if k_mid is not None and i >= k_mid and s != "revoked":
                k_mid = None
                self.conn_event(c, st, "ConnectorRevoked", t, **kw)
                st["state"] = "revoked"
                mid_wait = r.randint(1, 4)
                continue
            if s == "revoked":
                mid_wait = (mid_wait or 1) - 1
                if mid_wait > 0:
                    if r.random() < 0.1:
                        self.tags["inj_conn_invalid_after_revoked"] += 1
                        self.conn_event(c, st, "ConnectorHealthChecked", t, status="healthy", tags=["inj:invalid_transition"])
                    continue
                prev = "revoked"
                tg = []
                if r.random() < 0.06:
                    prev = r.choice(["degraded", "healthy"])
                    tg = ["inj:previous_state_mismatch"]
                    self.tags["inj_conn_previous_state_mismatch"] += 1
                self.conn_event(c, st, "ConnectorReconnected", t, prev=prev, strategy="manual", tags=tg)
                st["state"] = "reconnected"
                continue
            # small rate of invalid transitions from buggy producers
            f = r.random()
            if s == "healthy" and f < 0.004:
                self.tags["inj_conn_invalid_reconnect_from_healthy"] += 1
                self.conn_event(c, st, "ConnectorReconnected", t, prev="healthy", strategy="manual", tags=["inj:invalid_transition"])
                continue
            if s in ("healthy", "degraded") and f < 0.006:
                self.tags["inj_conn_invalid_reprovision"] += 1
                self.conn_event(c, st, "ConnectorProvisioned", t, tags=["inj:invalid_transition"])
                continue
            if s == "provisioned" and f < 0.01:
                self.tags["inj_conn_invalid_reconnect_from_provisioned"] += 1
                self.conn_event(c, st, "ConnectorReconnected", t, prev="provisioned", strategy="automatic", tags=["inj:invalid_transition"])
                continue
            if s == "reconnected" and f < 0.01:
                self.tags["inj_conn_invalid_reconnect_twice"] += 1
                self.conn_event(c, st, "ConnectorReconnected", t, prev="reconnected", strategy="automatic", tags=["inj:invalid_transition"])
                continue
            # normal behaviour
            if ident and n_conn_ev > 2 and r.random() < 0.3:
                kw["identity"] = True
                ident = False
                kw["tags"] = ["inj:identity_changed"]
                self.tags["inj_conn_identity_changed"] += 1
            if s == "provisioned":
                ch = r.choices(["hh", "hd", "hu", "deg"], [85, 4, 3, 8])[0]
            elif s == "healthy":
                ch = r.choices(["hh", "hd", "hu", "deg"], [93, 2, 1.5, 3.5])[0]
            elif s == "degraded":
                ch = r.choices(["hd", "hu", "deg", "hh", "rec"], [25, 15, 8, 35, 17])[0]
            else:  # reconnected
                ch = r.choices(["hh", "hd", "hu", "deg"], [75, 8, 4, 8])[0]
            if ch == "hh":
                self.conn_event(c, st, "ConnectorHealthChecked", t, status="healthy", **kw)
                st["state"] = "healthy"
            elif ch in ("hd", "hu"):
                self.conn_event(c, st, "ConnectorHealthChecked", t, status="degraded" if ch == "hd" else "unreachable", **kw)
                st["state"] = "degraded"
            elif ch == "deg":
                sem = r.random() < 0.02
                self.conn_event(c, st, "ConnectorDegraded", t, semantic=sem, **kw)
                st["state"] = "degraded"
            else:
                prev = "degraded"
                tg = list(kw.pop("tags", []))
                if r.random() < 0.04:
                    prev = r.choice(["healthy", "revoked", "provisioned"])
                    tg.append("inj:previous_state_mismatch")
                    self.tags["inj_conn_previous_state_mismatch"] += 1
                self.conn_event(c, st, "ConnectorReconnected", t, prev=prev,
                                strategy=r.choice(["automatic", "backoff"]), tags=tg, **kw)
                st["state"] = "reconnected"

    # ---------------- sync deliveries
    def new_delivery(self, c):
        r = self.r
        f = r.random()
        if c["provider"] in ("github", "github-actions") or f < 0.3:
            did = self.hyph(self.uuid_hex(4))
        elif f < 0.6:
            did = "dlv_%s" % self.b36(16)
        else:
            did = "%s-wh-%d" % (c["provider"], r.randint(1, 10 ** 9))
        g = r.random()
        if g < 0.75:
            fp = "sha256:" + self.hexs(64)
        elif g < 0.9:
            fp = self.hexs(40)
        else:
            fp = "fp_" + self.hexs(16)
        return did, fp

    def sync_payload(self, c, d, t, prod, node):
        rec = t - self.r.randint(0, NS)
        p = {"delivery_id": d["id"], "source_event_fingerprint": d["fp"], "connector_id": c["id"],
             "mission_id": c["mission"]["id"], "recorded_at": self.render(prod, node, rec, "payload")}
        return p, rec

    def sync_emit(self, c, d, outcome, t, extra_tags=(), **kw):
        r = self.r
        node = self.pick_node(c, "sync")
        prod = self.producer_at(node, t)
        p, rec = self.sync_payload(c, d, t, prod, node)
        if outcome == "accepted":
            etype = "SyncIngestAccepted"
            p["ingest_batch_id"] = r.choice(["batch-%s-%06d" % (render_ts(t, 0, 0, True)[:10], r.randint(0, 999999)),
                                             self.ulid(t), "b/%s/%d" % (c["provider"], r.randint(1, 10 ** 6))])
            f = r.random()
            p["ingested_count"] = kw.get("count") or (1 if f < 0.5 else (r.randint(1, 50) if f < 0.9 else r.randint(50, 5000)))
        elif outcome == "rejected":
            etype = "SyncIngestRejected"
            p["rejection_reason"] = r.choice(REASONS_REJECT)
            p["rejected_payload_ref"] = r.choice([
                "s3://cs-rejects/%s/%s/%s.json" % (c["project"]["slug"], render_ts(t, 0, 0, True)[:10], d["id"]),
                "gs://sync-rejects/%s" % self.b36(12),
                "https://storage.example.com/rejects/%s?v=2&sig=%s" % (self.b36(10), self.b36(8))])
        elif outcome == "retry":
            etype = "SyncRetryScheduled"
            p["retry_attempt"] = kw["attempt"]
            p["max_retries"] = d["max"]
            delay = int((2 ** min(kw["attempt"], 10)) * r.uniform(0.5, 1.5) * NS)
            nra = rec + delay
            if kw.get("semantic"):
                nra = rec - r.randint(1, 300) * NS
                self.tags["inj_sync_semantic_next_retry_before_recorded"] += 1
            p["next_retry_at"] = self.render(prod, node, nra, "payload")
        elif outcome == "dead":
            etype = "SyncDeadLettered"
            p["failure_reason"] = r.choice(REASONS_FAIL)
            p["total_attempts"] = max(1, d["attempt"] + r.choice([0, 1, 1]))
            p["dead_letter_ref"] = r.choice(["dlq://sync-dead-letter/%d/%d" % (r.randint(0, 31), r.randint(0, 10 ** 7)),
                                             "arn:aws:sqs:eu-west-1:123456789012:sync-dlq/%s" % self.b36(10)])
        elif outcome == "replay":
            etype = "SyncReplayCompleted"
            p["replay_id"] = r.choice(["rpl-%s" % self.b36(10), self.ulid(t)])
            p["replay_source"] = r.choice(["dlq://sync-dead-letter", "s3://cs-archive/%s/" % c["project"]["slug"], "manual:ops-console"])
            p["replayed_count"] = r.choice([0, 1, 1, 1, r.randint(2, 400)])
        else:
            raise ValueError(outcome)
        return self.add(c, "sync", etype, t, p, node, chain=("dlv", d["id"], d["fp"]), tags=extra_tags)

    def sync_step(self, c, sy, t):
        r = self.r
        f = r.random()
        # --- injected anomalies
        if sy["term"] and f < 0.02:
            d = r.choice(sy["term"][-20:])
            self.tags["inj_sync_duplicate_terminal"] += 1
            self.sync_emit(c, d, d["status"], t, extra_tags=["inj:duplicate_delivery"])
            return
        f -= 0.02
        if sy["term"] and f < 0.003:
            d = r.choice(sy["term"][-20:])
            other = r.choice([o for o in ("accepted", "rejected", "dead") if o != d["status"]])
            self.tags["inj_sync_conflicting_outcome"] += 1
            self.sync_emit(c, d, other, t, extra_tags=["inj:conflicting_outcome"])
            return
        f -= 0.003
        if sy["term"] and f < 0.003:
            d = r.choice(sy["term"][-20:])
            self.tags["inj_sync_retry_after_terminal"] += 1
            self.sync_emit(c, d, "retry", t, attempt=d["attempt"] + 1, extra_tags=["inj:retry_after_terminal"])
            return
        f -= 0.003
        if sy["open"] and f < 0.006:
            d = r.choice(sy["open"])
            if d["attempt"] >= 2 and r.random() < 0.45:
                self.tags["inj_sync_retry_regressed"] += 1
                self.sync_emit(c, d, "retry", t, attempt=d["attempt"] - 1, extra_tags=["inj:retry_attempt_regressed"])
            else:
                self.tags["inj_sync_retry_equal"] += 1
                self.sync_emit(c, d, "retry", t, attempt=d["attempt"], extra_tags=["inj:duplicate_delivery"])
            return
        f -= 0.006
        if sy["replayed"] and f < 0.004:
            d = r.choice(sy["replayed"])
            self.tags["inj_sync_duplicate_replay"] += 1
            self.sync_emit(c, d, "replay", t, extra_tags=["inj:duplicate_delivery"])
            return
        # --- normal
        g = r.random()
        if sy["open"] and g < 0.5:
            d = sy["open"][0] if r.random() < 0.7 else r.choice(sy["open"])
            if d["attempt"] < d["max"] and r.random() < 0.45:
                d["attempt"] += 1 if r.random() > 0.02 else 2
                self.sync_emit(c, d, "retry", t, attempt=d["attempt"], semantic=r.random() < 0.005)
                return
            if d["attempt"] >= d["max"] and r.random() < 0.12:
                d["attempt"] += 1
                self.tags["inj_sync_retry_budget_exceeded"] += 1
                self.sync_emit(c, d, "retry", t, attempt=d["attempt"], extra_tags=["inj:retry_budget_exceeded"])
                return
            out = r.choices(["accepted", "dead", "rejected"], [65, 30, 5])[0]
            sy["open"].remove(d)
            d["status"] = out
            sy["term"].append(d)
            if out == "dead":
                sy["dead"].append(d)
            self.sync_emit(c, d, out, t)
            return
        if sy["dead"] and g < 0.6:
            d = sy["dead"].pop(0)
            sy["replayed"].append(d)
            self.sync_emit(c, d, "replay", t)
            return
        if g < 0.602:   # replay of a key never seen before (restored from archive)
            did, fp = self.new_delivery(c)
            d = {"id": did, "fp": fp, "attempt": 0, "max": 3, "status": "replayed"}
            sy["replayed"].append(d)
            self.sync_emit(c, d, "replay", t)
            return
        did, fp = self.new_delivery(c)
        if sy["term"] and r.random() < 0.005:    # provider reused a delivery id, new content
            did = sy["term"][-1]["id"]
            self.tags["delivery_id_reused_new_fingerprint"] += 1
        d = {"id": did, "fp": fp, "attempt": 0, "max": r.choice([3, 5, 5, 8, 10]), "status": None}
        h = r.random()
        if h < 0.82:
            d["status"] = "accepted"
            sy["term"].append(d)
            cnt = None
            if self.big_counts_left > 0 and r.random() < 0.002:
                self.big_counts_left -= 1
                cnt = I63
                self.tags["edge_ingested_count_2^63-1"] += 1
            self.sync_emit(c, d, "accepted", t, count=cnt)
        elif h < 0.88:
            d["status"] = "rejected"
            sy["term"].append(d)
            self.sync_emit(c, d, "rejected", t)
        else:
            d["attempt"] = 1
            sy["open"].append(d)
            self.sync_emit(c, d, "retry", t, attempt=1)

    # ---------------- external references
    def ext_key(self, c):
        r = self.r
        prov = c["ext"]
        org = r.choice(["acme", "initech", "globex", "umbrella", "hooli"])
        repo = r.choice(["widgets", "api", "web", "infra", "docs", "mobile", "sdk-python", "caf\u00e9"])
        repo_url = repo.replace("caf\u00e9", "caf%C3%A9")
        n = r.randint(1, 20000)
        if prov == "github":
            typ = r.choices(["issue", "pull_request", "commit", "check_run"], [45, 40, 10, 5])[0]
            if typ == "commit":
                sha = self.hexs(40)
                return typ, "%s/%s@%s" % (org, repo, sha), "https://github.com/%s/%s/commit/%s" % (org, repo_url, sha)
            if typ == "check_run":
                return typ, str(r.randint(10 ** 9, 10 ** 10)), "https://github.com/%s/%s/runs/%d" % (org, repo_url, n)
            seg = "issues" if typ == "issue" else "pull"
            return typ, "%s/%s#%d" % (org, repo, n), "https://github.com/%s/%s/%s/%d" % (org, repo_url, seg, n)
        if prov == "jira":
            typ = r.choices(["issue", "epic"], [85, 15])[0]
            key = "%s-%d" % (r.choice(["PROJ", "OPS", "SEC", "DATA", "MOB"]), n)
            return typ, key, "https://%s.atlassian.net/browse/%s" % (org, key)
        if prov == "linear":
            key = "%s-%d" % (r.choice(["ENG", "DES", "OPS"]), n)
            slug = r.choice(["fix-login", "t%C3%ADtulo-del-issue", "%E4%BF%AE%E6%AD%A3", "retry-backoff"])
            return "issue", key, "https://linear.app/%s/issue/%s/%s" % (org, key, slug)
        if prov == "gitlab":
            typ = r.choice(["merge_request", "issue"])
            sep = "!" if typ == "merge_request" else "#"
            seg = "merge_requests" if typ == "merge_request" else "issues"
            return typ, "%s/sub/%s%s%d" % (org, repo, sep, n), "https://gitlab.%s.example.com/%s/sub/%s/-/%s/%d" % (org, org, repo_url, seg, n)
        if prov == "slack":
            ch = "C" + self.b36(8).upper()
            ts = "%d.%06d" % (r.randint(1700000000, 1710000000), r.randint(0, 999999))
            return r.choice(["message", "thread"]), "%s:%s" % (ch, ts), "https://%s.slack.com/archives/%s/p%s" % (org, ch, ts.replace(".", ""))
        if prov in ("circleci", "buildkite"):
            typ = r.choice(["pipeline", "build", "workflow_run"])
            return typ, "%s/%s/%d" % (org, repo, n), "https://%s.com/%s/%s/builds/%d" % (prov, org, repo_url, n)
        if prov == "pagerduty":
            k = self.b36(14).upper()
            return "incident", k, "https://%s.pagerduty.com/incidents/%s" % (org, k)
        raise ValueError(prov)

    def aggregate(self, c):
        r = self.r
        m = c["mission"] if r.random() < 0.9 else r.choice(self.missions)
        f = r.random()
        if f < 0.7:
            wp = r.choice(m["wps"])
            return "WorkPackage", r.choice(["%s/%s" % (m["id"], wp), "%s@%s" % (wp, m["id"])]) if r.random() < 0.97 else "%s/%s" % (m["id"], wp)
        if f < 0.85:
            return "Mission", m["id"]
        if f < 0.95:
            return "Feature", "feat-%03d" % r.randint(1, 300)
        return "Decision", "ADR-%04d" % r.randint(1, 200)

    def new_link_id(self, t):
        r = self.r
        f = r.random()
        if f < 0.5:
            return self.ulid(t)
        if f < 0.8:
            return "lnk_%s" % self.b36(12)
        return self.hyph(self.uuid_hex(4))

    def link_emit(self, c, t, key, agg, link_id, tags=()):
        r = self.r
        node = self.pick_node(c, "link")
        prod = self.producer_at(node, t)
        prov, typ, ref = key
        rec = t - r.randint(0, NS)
        p = {"link_id": link_id, "connector_id": c["id"], "external_provider": prov,
             "external_ref_type": typ, "external_ref_id": ref,
             "internal_aggregate_type": agg[0], "internal_aggregate_id": agg[1],
             "mission_id": c["mission"]["id"],
             "linked_by": r.choice(HUMANS + ["svc-linker", "svc-linker", "auto-linker/v2"]),
             "external_ref_url": self.link_urls[key], "recorded_at": self.render(prod, node, rec, "payload")}
        return self.add(c, "link", "ExternalReferenceLinked", t, p, node, chain=("link", link_id), tags=tags)

    def link_step(self, c, t):
        r = self.r
        f = r.random()
        if self.link_keys and f < 0.05:   # re-link of an existing key (same aggregate, new link id)
            key, agg, lid, cc = self.pick_existing_link(c)
            self.tags["inj_link_relink_same_aggregate_new_id"] += 1
            self.link_emit(c, t, key, agg, self.new_link_id(t), tags=["inj:link_absorbed"])
            return
        f -= 0.05
        if self.link_keys and f < 0.02:   # exact re-emit (same link id, same key, new event id)
            key, agg, lid, cc = self.pick_existing_link(c)
            self.tags["inj_link_reemit_same_id"] += 1
            self.link_emit(c, t, key, agg, lid, tags=["inj:link_absorbed"])
            return
        f -= 0.02
        if self.link_keys and f < 0.012:  # same key to another aggregate
            key, agg, lid, cc = self.pick_existing_link(c)
            agg2 = self.aggregate(c)
            tries = 0
            while agg2 == agg and tries < 5:
                agg2 = self.aggregate(c)
                tries += 1
            if agg2 != agg:
                self.tags["inj_link_conflicting"] += 1
                self.link_emit(c, t, key, agg2, self.new_link_id(t), tags=["inj:conflicting_link"])
                return
        f -= 0.012
        typ, ref, url = self.ext_key(c)
        prov = c["ext"]
        if r.random() < 0.01:
            prov = EXT_PROVIDER_CASE.get(prov, prov)
            self.tags["link_provider_case_variant_distinct_key"] += 1
        key = (prov, typ, ref)
        if key in self.link_key_map:
            agg = self.link_key_map[key][0]
            self.tags["natural_link_relink"] += 1
        else:
            agg = self.aggregate(c)
            self.link_urls[key] = url
        tags = []
        if self.link_ids and r.random() < 0.006:   # a link id reused for another key
            lid = r.choice(self.link_ids[-200:])
            self.tags["inj_link_id_reused"] += 1
            tags = ["inj:link_id_reused"]
        else:
            lid = self.new_link_id(t)
            self.link_ids.append(lid)
        if key not in self.link_key_map:
            self.link_key_map[key] = (agg, lid, c["id"])
            self.link_keys.append(key)
        self.link_emit(c, t, key, agg, lid, tags=tags)

    def pick_existing_link(self, c):
        r = self.r
        # mostly a recent key of this connector's provider, sometimes another connector's
        for _ in range(6):
            key = r.choice(self.link_keys[-400:])
            agg, lid, cc = self.link_key_map[key]
            if cc == c["id"] or r.random() < 0.15:
                return key, agg, lid, cc
        return key, agg, lid, cc

    # ---------------- other families
    def other_events(self, n):
        r = self.r
        dummy = {"id": None, "project": None}
        for i in range(n):
            t = T0 + r.randint(0, SPAN)
            node = r.choice(self.pools["other"])
            m = r.choice(self.missions)
            typ = r.choice(OTHER_TYPES) if r.random() > 0.03 else r.choice(TYPO_TYPES)
            if typ in TYPO_TYPES:
                self.tags["other_family_typo_event_type"] += 1
            p = {"mission_id": m["id"], "note": r.choice(["", "ok", "\u2705 done", "r\u00e9sum\u00e9"]),
                 "status": r.choice(["planned", "doing", "done"]), "items": [r.randint(0, 9) for _ in range(r.randint(0, 3))]}
            c = dict(dummy, project=m["project"], id=m["id"])
            self.add(c, "other", typ, t, p, node, chain=("oth", i))

    # ---------------- lamport clocks
    def assign_lamport(self):
        self.events.sort(key=lambda e: e["t"])
        conn_clock = {}
        for e in self.events:
            node = e["node"]
            key = e["conn"]["id"] if e["fam"] != "other" else None
            base = node["clock"]
            if key is not None:
                base = max(base, conn_clock.get(key, -1))
            lam = base + 1 + (self.r.randint(0, 3) if self.r.random() < 0.3 else 0)
            node["clock"] = lam
            if key is not None:
                conn_clock[key] = lam
            e["lam"] = lam

    def inject_ties(self):
        """Same lamport clock on two consecutive events of one connector; the
        instants order them, and the timestamp *strings* order them the other
        way (spec §2 Refinement: 13:00+05:00 < 09:00Z)."""
        r = self.r
        by_conn = {}
        for e in self.events:
            if e["fam"] == "conn":
                by_conn.setdefault(e["conn"]["id"], []).append(e)
        want = max(2, int(len(self.events) * 0.002))
        ids = list(by_conn)
        r.shuffle(ids)
        done = 0
        for cid in ids:
            if done >= want:
                break
            evs = by_conn[cid]
            if len(evs) < 3:
                continue
            j = r.randint(1, len(evs) - 2)
            e1, e2 = evs[j], evs[j + 1]
            if e1["etype"] == e2["etype"] or "tie" in e1 or "tie" in e2:
                continue
            t1 = e1["t"] - e1["t"] % NS
            t2 = t1 + r.randint(1, 3) * NS + r.randint(0, 999) * 10 ** 6
            for off in (300, 330, 540, 600, 120, 60):
                s1 = render_ts(t1, off, 0, True)
                s2 = render_ts(t2, 0, 3, True)
                if s1 > s2:
                    break
            else:
                continue
            e1["tie"] = s1
            e2["tie"] = s2
            e2["lam"] = e1["lam"]
            e1["tags"].append("inj:lamport_tie_string_order_differs")
            e2["tags"].append("inj:lamport_tie_string_order_differs")
            done += 1
        self.tags["inj_lamport_tie_pairs"] = done

    # ---------------- envelope
    def envelope(self, e):
        r = self.r
        node = e["node"]
        prod = self.producer_at(node, e["t"])
        c = e["conn"]
        ts_ns = e["t"] + node["skew"] + r.randint(0, 50 * 10 ** 6)
        e["ts_ns"] = ts_ns
        eid = self.new_id(prod.idfmt, e["t"])
        chain = e["chain"]
        prev = self.chains.get(chain)
        if prev is None:
            corr = eid if r.random() < 0.6 else self.new_id(r.choice(["ulid", "uuid4", "uuid7"]), e["t"])
            cause = None
        else:
            corr, cause = prev
        self.chains[chain] = (corr, eid)
        payload = e["payload"]
        if e["fam"] == "conn":
            agg = c["id"] if r.random() < 0.8 else "connector:" + c["id"]
        elif e["fam"] == "sync":
            agg = c["id"] if r.random() < 0.6 else payload["delivery_id"]
        elif e["fam"] == "link":
            agg = payload["internal_aggregate_id"] if r.random() < 0.7 else payload["link_id"]
        else:
            agg = payload["mission_id"]
        proj = c["project"]
        env = {"event_id": eid, "event_type": e["etype"], "aggregate_id": agg, "payload": payload,
               "timestamp": e.get("tie") or self.render(prod, node, ts_ns, "env"),
               "node_id": node["id"], "lamport_clock": e["lam"], "project_uuid": proj["uuid"],
               "correlation_id": corr}
        # optional fields: present / null / absent
        if cause is not None and r.random() < 0.85:
            env["causation_id"] = cause
        elif prod.opt_null:
            env["causation_id"] = None
        if node["build"] is not None and r.random() < 0.9:
            env["build_id"] = node["build"]
        elif prod.opt_null:
            env["build_id"] = None
        if r.random() < 0.6:
            env["project_slug"] = proj["slug"]
        elif prod.opt_null:
            env["project_slug"] = None
        if prod.schema_version:
            env["schema_version"] = prod.schema_version
        if prod.data_tier:
            env["data_tier"] = r.choices([0, 1, 2, 3, 4], [50, 25, 15, 7, 3])[0]
        if e["fam"] == "conn" and r.random() < 0.003:
            env["project_uuid"] = r.choice(self.projects)["uuid"]
            if env["project_uuid"] != payload["project_uuid"]:
                self.tags["strict_only_project_uuid_mismatch"] += 1
                e["tags"].append("strict:project_uuid_mismatch")
        for f in ("causation_id", "build_id", "project_slug", "schema_version", "data_tier"):
            e["tags"].append("opt:%s=%s" % (f, "absent" if f not in env else ("null" if env[f] is None else "present")))
        e["tags"].append("event_id_format:" + prod.idfmt)
        cid = c.get("id") if e["fam"] != "other" else None
        if cid:
            if "/" in cid:
                e["tags"].append("connector_id_has_slash")
            if any(ord(ch) > 127 for ch in cid):
                e["tags"].append("connector_id_non_ascii")
        self.add_env_extras(env, prod, e)
        self.add_payload_extras(payload, prod, e)
        return env, prod

    def add_env_extras(self, env, prod, e):
        r = self.r
        x = prod.env_extra
        if x is None:
            return
        if x == "java":
            env["producer"] = prod.tag
            env["env"] = "prod"
        elif x == "py":
            env["trace"] = {"trace_id": self.hexs(32), "span_id": self.hexs(16), "sampled": r.random() < 0.1}
            env["retry_count"] = 0
        elif x == "go":
            env["x_partition"] = r.randint(0, 63)
            env["x_offset"] = r.randint(0, 10 ** 12)
            if r.random() < 0.001:
                env["x_offset"] = 2 ** 64 - 1
                e["tags"].append("edge:unknown_int_2^64-1")
            elif r.random() < 0.001:
                env["x_skew"] = -(2 ** 63)
                e["tags"].append("edge:unknown_int_-2^63")
        elif x == "js":
            env["meta"] = {"received_at": render_ts(e["t"], 0, 3, True), "ip": "203.0.113.%d" % r.randint(1, 254),
                           "headers": {"user-agent": "GitHub-Hookshot/%s" % self.hexs(7), "x-request-id": self.hexs(16)},
                           "hops": [{"node": e["node"]["id"], "ms": r.randint(0, 40)}, {"node": "lb-1", "ms": r.random()}]}
            env["tags"] = r.sample(["prod", "eu", "canary", "gold", "\u03b2eta"], 2)
        elif x == "rust":
            env["schema"] = {"name": "connector-sync", "version": "2.8.0", "compat": ["2.7", "2.6"]}
            env["routing"] = {"partition": r.randint(0, 15), "key": [e["fam"], e["conn"]["id"]]}
            env["deprecated_field"] = None
            if r.random() < 0.002:
                deep = 1
                for _ in range(18):
                    deep = {"cause": deep, "at": [1, {"k": None}]}
                env["routing"]["debug_cause"] = deep
                e["tags"].append("edge:unknown_nested_depth_~22")
        elif x == "ruby":
            env["source"] = "ops-ruby"
            env["deploy"] = {"ring": r.randint(0, 3), "canary": False}
        e["tags"].append("unknown_envelope_fields")

    def add_payload_extras(self, p, prod, e):
        r = self.r
        x = prod.pay_extra
        if x is None or e["fam"] == "other":
            return
        if r.random() < 0.25:
            return
        if x == "java":
            p["region"] = r.choice(["eu-west-1", "us-east-1"])
        elif x == "py":
            p["http_status"] = r.choice([200, 202, 429, 503])
            p["worker"] = {"pid": r.randint(100, 65000), "queue": "sync.%s" % e["conn"].get("provider", "x")}
        elif x == "go":
            p["provider_metadata"] = {"rate_limit": {"remaining": r.randint(0, 5000), "limit": 5000,
                                                     "reset_at": render_ts(e["t"] + 3600 * NS, 0, 0, True)},
                                      "scopes": r.sample(["repo", "read:org", "admin:repo_hook", "workflow"], 2)}
        elif x == "js":
            p["labels"] = {"team": r.choice(["platform", "\u00e9quipe-data", "sre"]), "tier": "gold"}
            p["attempt_history"] = [[1, "timeout"], [2, "503"]] if r.random() < 0.5 else []
        elif x == "rust":
            p["error"] = {"code": r.choice(["E_TIMEOUT", "E_TLS", "E_NONE"]), "details": [{"k": "v", "n": None}],
                          "retryable": r.random() < 0.5}
            p["sampled"] = True
            p["null_field"] = None
        elif x == "dotnet":
            p["correlation"] = {"activity_id": self.hyph(self.uuid_hex(4)), "note": "a+b <c> & 'd'"}
        elif x == "ruby":
            p["note"] = r.choice(["\u00bfQu\u00e9 pas\u00f3?", "\u8aac\u660e\u306a\u3057", "ok \U0001F44D"])
        if e["fam"] in ("sync", "link") and r.random() < 0.3:
            p["project_uuid"] = e["conn"]["project"]["uuid"]
        e["tags"].append("unknown_payload_fields")

    # ---------------- payload corruptions (valid envelope, malformed payload)
    def malform_payload(self, e, p):
        r = self.r
        fam = e["fam"]
        et = e["etype"]
        opts = []
        if fam == "conn":
            opts += ["userinfo", "userinfo_nopass", "ftp", "relative", "too_long", "bad_actor", "no_cid",
                     "empty_cid", "int_cid", "naive_rec", "drop_mission"]
            if et == "ConnectorHealthChecked":
                opts += ["bad_status", "neg_latency", "str_latency", "bool_latency"]
            if et == "ConnectorReconnected":
                opts += ["bad_prev", "bad_strategy"]
            if et == "ConnectorDegraded":
                opts += ["empty_reason", "naive_last_healthy"]
            if et == "ConnectorRevoked":
                opts += ["drop_revocation_reason"]
            opts += ["bad_project_uuid"]
        elif fam == "sync":
            opts += ["no_cid", "empty_cid", "naive_rec", "drop_fp", "empty_delivery"]
            if et == "SyncIngestAccepted":
                opts += ["zero_count", "str_count", "bool_count", "float_count_frac", "count_2^63"]
            if et == "SyncRetryScheduled":
                opts += ["zero_attempt", "zero_max", "str_attempt"]
            if et == "SyncDeadLettered":
                opts += ["zero_total", "empty_dlref"]
            if et == "SyncReplayCompleted":
                opts += ["neg_replayed"]
        elif fam == "link":
            opts += ["userinfo_link", "no_cid", "empty_link_id", "drop_ref_id", "naive_rec", "relative_link"]
        else:
            return None
        k = r.choice(opts)
        url_field = "endpoint_url" if fam == "conn" else "external_ref_url"
        if k == "userinfo":
            p["endpoint_url"] = p["endpoint_url"].replace("://", "://svc-bot:s3cr3t-token@", 1)
        elif k == "userinfo_nopass":
            p["endpoint_url"] = p["endpoint_url"].replace("://", "://deploy@", 1)
        elif k == "userinfo_link":
            p[url_field] = p[url_field].replace("://", "://x-access-token:ghs_EXAMPLE@", 1)
        elif k == "ftp":
            p["endpoint_url"] = "ftp://files.example.com/inbox/"
        elif k == "relative":
            p["endpoint_url"] = "/api/v2/hooks/%d" % r.randint(1, 999)
        elif k == "relative_link":
            p[url_field] = "github.com/acme/widgets/issues/1"
        elif k == "too_long":
            base = "https://ingest.example.com/v2/hooks?q="
            p["endpoint_url"] = base + "y" * (2049 - len(base))
        elif k == "bad_actor":
            p["actor_type"] = r.choice(["bot", "Human", ""])
        elif k == "no_cid":
            del p["connector_id"]
        elif k == "empty_cid":
            p["connector_id"] = ""
        elif k == "int_cid":
            p["connector_id"] = r.randint(1, 99999)
        elif k == "naive_rec":
            p["recorded_at"] = render_ts(e["t"], 0, 3, False)[:-6]
        elif k == "drop_mission":
            del p["mission_id"]
        elif k == "bad_status":
            p["health_status"] = r.choice(["OK", "Healthy", "up", None])
        elif k == "neg_latency":
            p["latency_ms"] = -r.uniform(0.1, 50)
        elif k == "str_latency":
            p["latency_ms"] = "%d" % r.randint(1, 500)
        elif k == "bool_latency":
            p["latency_ms"] = True
        elif k == "bad_prev":
            p["previous_state"] = r.choice(["unknown", "Degraded", "disconnected"])
        elif k == "bad_strategy":
            p["reconnect_strategy"] = r.choice(["auto", "retry", ""])
        elif k == "empty_reason":
            p["degradation_reason"] = ""
        elif k == "naive_last_healthy":
            p["last_healthy_at"] = render_ts(e["t"] - 60 * NS, 0, 0, False)[:-6]
        elif k == "drop_revocation_reason":
            del p["revocation_reason"]
        elif k == "bad_project_uuid":
            p["project_uuid"] = r.choice(["not-a-uuid", "1234", self.hexs(31)])
        elif k == "drop_fp":
            del p["source_event_fingerprint"]
        elif k == "empty_delivery":
            p["delivery_id"] = ""
        elif k == "zero_count":
            p["ingested_count"] = 0
        elif k == "str_count":
            p["ingested_count"] = str(r.randint(1, 99))
        elif k == "bool_count":
            p["ingested_count"] = True
        elif k == "float_count_frac":
            p["ingested_count"] = r.randint(1, 99) + 0.5
        elif k == "count_2^63":
            p["ingested_count"] = 2 ** 63
        elif k == "zero_attempt":
            p["retry_attempt"] = 0
        elif k == "zero_max":
            p["max_retries"] = 0
        elif k == "str_attempt":
            p["retry_attempt"] = str(p["retry_attempt"])
        elif k == "zero_total":
            p["total_attempts"] = 0
        elif k == "empty_dlref":
            p["dead_letter_ref"] = ""
        elif k == "neg_replayed":
            p["replayed_count"] = -1
        elif k == "empty_link_id":
            p["link_id"] = ""
        elif k == "drop_ref_id":
            del p["external_ref_id"]
        return k

    # ---------------- envelope-level corruption (line invalid)
    def corrupt_line(self, env, prod):
        """returns (text, kind) for an invalid line derived from env."""
        r = self.r
        st = prod.style
        kind = r.choices(["bad_json", "missing_required", "wrong_type", "limits", "non_object"],
                         [34, 20, 28, 14, 4])[0]
        env = copy.deepcopy(env)
        if kind == "bad_json":
            sub = r.choice(["truncated", "trailing_comma", "py_repr", "concat", "raw_ctrl", "latin1",
                            "unquoted_key", "missing_brace", "lone_brace"])
            text = encode(env, st, r)
            if sub == "truncated":
                return text[:r.randint(10, len(text) - 2)], "bad_json:truncated"
            if sub == "trailing_comma":
                return text[:-1] + ",}", "bad_json:trailing_comma"
            if sub == "py_repr":
                return repr(_plainify(env)), "bad_json:python_repr"
            if sub == "concat":
                return text + text, "bad_json:two_objects_one_line"
            if sub == "raw_ctrl":
                env["payload"]["note"] = "col1\tcol2"
                text = encode(env, st.variant(ctrl_short=True), r).replace("\\t", "\t")
                return text, "bad_json:raw_control_char_in_string"
            if sub == "latin1":
                env["payload"]["note"] = "D\u00e9lai d\u00e9pass\u00e9"
                return encode(env, st.variant(ascii=False), r).encode("utf-8").decode("utf-8").encode("latin-1", "replace"), "bad_json:invalid_utf8_latin1"
            if sub == "unquoted_key":
                return text.replace('"lamport_clock"', "lamport_clock", 1), "bad_json:unquoted_key"
            if sub == "missing_brace":
                return text[:-1], "bad_json:missing_closing_brace"
            return "}", "bad_json:lone_brace"
        if kind == "missing_required":
            f = r.choice(["event_id", "event_type", "aggregate_id", "payload", "timestamp", "node_id",
                          "lamport_clock", "project_uuid", "correlation_id"])
            del env[f]
            return encode(env, st, r), "missing_required:" + f
        if kind == "wrong_type":
            sub = r.choice(["lamport_str", "lamport_float", "lamport_bool", "lamport_neg", "payload_str",
                            "payload_array", "payload_null", "ts_epoch", "ts_naive", "ts_date_only",
                            "bad_ulid", "short_id", "braced_uuid", "bad_project_uuid", "data_tier_5",
                            "data_tier_str", "data_tier_bool", "schema_version_2part", "schema_version_v",
                            "empty_event_type", "empty_node_id", "corr_null", "causation_int",
                            "event_type_int", "build_id_int"])
            if sub == "lamport_str":
                env["lamport_clock"] = str(env["lamport_clock"])
            elif sub == "lamport_float":
                env["lamport_clock"] = env["lamport_clock"] + 0.5
            elif sub == "lamport_bool":
                env["lamport_clock"] = True
            elif sub == "lamport_neg":
                env["lamport_clock"] = -r.randint(1, 100)
            elif sub == "payload_str":
                env["payload"] = json.dumps(_plainify(env["payload"]))
            elif sub == "payload_array":
                env["payload"] = [_plainify(env["payload"])]
            elif sub == "payload_null":
                env["payload"] = None
            elif sub == "ts_epoch":
                env["timestamp"] = r.randint(1703635200, 1709683200)
            elif sub == "ts_naive":
                env["timestamp"] = env["timestamp"][:19]
            elif sub == "ts_date_only":
                env["timestamp"] = env["timestamp"][:10]
            elif sub == "bad_ulid":
                env["event_id"] = "01HU" + "".join(r.choice(CROCK) for _ in range(21)) + "U"
            elif sub == "short_id":
                env["event_id"] = self.ulid(10 ** 18)[:25]
            elif sub == "braced_uuid":
                env["event_id"] = "{%s}" % self.hyph(self.uuid_hex(4))
            elif sub == "bad_project_uuid":
                env["project_uuid"] = r.choice(["proj-42", "", self.hexs(30)])
            elif sub == "data_tier_5":
                env["data_tier"] = r.choice([5, -1, 9])
            elif sub == "data_tier_str":
                env["data_tier"] = "1"
            elif sub == "data_tier_bool":
                env["data_tier"] = False
            elif sub == "schema_version_2part":
                env["schema_version"] = "2.7"
            elif sub == "schema_version_v":
                env["schema_version"] = "v2.7.0"
            elif sub == "empty_event_type":
                env["event_type"] = ""
            elif sub == "empty_node_id":
                env["node_id"] = ""
            elif sub == "corr_null":
                env["correlation_id"] = None
            elif sub == "causation_int":
                env["causation_id"] = r.randint(1, 10 ** 6)
            elif sub == "event_type_int":
                env["event_type"] = 7
            elif sub == "build_id_int":
                env["build_id"] = r.randint(1, 10 ** 6)
            return encode(env, st, r), "wrong_type:" + sub
        if kind == "limits":
            sub = r.choice(["deep_unknown", "int_2^64_unknown", "int_below_-2^63_unknown", "lamport_2^63",
                            "nan_unknown", "infinity_latency", "neg_infinity_unknown", "1e400_unknown",
                            "dup_key_top", "dup_key_payload", "lone_high_surrogate", "lone_low_surrogate"])
            if sub == "deep_unknown":
                d = 90 + r.randint(0, 60)
                env["debug"] = Raw('{"c":' * d + "1" + "}" * d)
            elif sub == "int_2^64_unknown":
                env["x_offset"] = Raw(str(2 ** 64))
            elif sub == "int_below_-2^63_unknown":
                env["payload"]["x_delta"] = Raw(str(-(2 ** 63) - 1))
            elif sub == "lamport_2^63":
                env["lamport_clock"] = 2 ** 63
            elif sub == "nan_unknown":
                env["payload"]["score"] = Raw("NaN")
            elif sub == "infinity_latency":
                env["payload"]["latency_ms"] = Raw("Infinity")
            elif sub == "neg_infinity_unknown":
                env["metrics"] = {"min": Raw("-Infinity")}
            elif sub == "1e400_unknown":
                env["payload"]["ratio"] = Raw("1e400")
            elif sub == "dup_key_top":
                items = list(env.items())
                items.insert(r.randint(0, len(items)), ("lamport_clock", env["lamport_clock"] + 1))
                env = Pairs(items)
            elif sub == "dup_key_payload":
                items = list(env["payload"].items())
                k0, v0 = r.choice(items)
                items.append((k0, v0))
                env["payload"] = Pairs(items)
            elif sub == "lone_high_surrogate":
                env["payload"]["note"] = Raw('"broken emoji \\ud83d here"')
            elif sub == "lone_low_surrogate":
                env["payload"]["note"] = Raw('"\\ude00 tail"')
            return encode(env, st, r), "limits:" + sub
        sub = r.choice(["[]", "null", '"event"', "42", "[{}]"])
        return sub, "non_object:" + sub


def _plainify(v):
    if isinstance(v, dict):
        return {k: _plainify(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plainify(x) for x in v]
    if isinstance(v, Raw):
        return v.text
    return v


# --------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--events", type=int, default=100000)
    ap.add_argument("--connectors", type=int, default=1000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    g = Gen(a.seed, a.events, a.connectors)
    r = g.r
    g.big_counts_left = max(1, a.events // 100000)
    g.link_urls = {}
    g.setup()
    for c in g.connectors:
        g.sim_connector(c)
    g.other_events(max(5, int(a.events * 0.015)))
    g.assign_lamport()
    g.inject_ties()
    # edge: the maximum lamport clock on an ignored-family event
    others = [e for e in g.events if e["fam"] == "other"]
    for e in r.sample(others, min(2, len(others))):
        e["lam"] = I63 - r.randint(0, 1)
        e["tags"].append("edge:lamport_near_2^63-1")
    # ------------------------------------------------------------------
    g.chains = {}
    recs = []   # each: dict(text=str|bytes, arr=float, tags=list, eid=str, fam)
    n_base = len(g.events)
    malform_p = 0.004
    for e in g.events:
        env, prod = g.envelope(e)
        tags = list(e["tags"])
        tags.append("fam:" + e["fam"])
        tags.append("producer:" + prod.tag)
        mk = None
        if e["fam"] != "other" and r.random() < malform_p and "tie" not in e:
            p2 = copy.deepcopy(env["payload"])
            mk = g.malform_payload(e, p2)
            if mk:
                if r.random() < 0.4:
                    # bad copy *and* the good event under the same id (spec §2 2.7.x)
                    env_bad = dict(env, payload=p2)
                    recs.append({"text": encode(env_bad, prod.style, r), "arr": None, "e": e,
                                 "tags": ["fam:" + e["fam"], "producer:" + prod.tag, "malformed_payload:" + mk,
                                          "dup:conflicting_malformed_copy"], "env": env_bad, "prod": prod})
                    g.tags["conflict_malformed_copy"] += 1
                else:
                    env["payload"] = p2
                    tags.append("malformed_payload:" + mk)
        # negative zero latency copies (spec §8: 0.0 and -0.0 copies conflict)
        recs.append({"text": encode(env, prod.style, r), "arr": None, "e": e, "tags": tags, "env": env, "prod": prod})
    # arrival time: emission + node buffering delay
    for rec in recs:
        e = rec["e"]
        rec["arr"] = e["t"] + e["node"]["delay"] + int(r.expovariate(1.0) * 0.2 * NS)
        if r.random() < 0.003:
            rec["arr"] += r.randint(600, 6 * 3600) * NS   # late batch flush
            rec["tags"].append("order:late_arrival")
    base = [x for x in recs]
    extra = []

    def pick(pred=None):
        for _ in range(50):
            x = r.choice(base)
            if "dup:conflicting_malformed_copy" in x["tags"]:
                continue
            if pred is None or pred(x):
                return x
        return x

    # exact duplicates (redelivery)
    n_exact = int(n_base * 0.015)
    for _ in range(n_exact):
        x = pick()
        d = r.random()
        delay = r.randint(1, 5 * NS) if d < 0.7 else r.randint(60, 86400) * NS
        extra.append({"text": x["text"], "arr": x["arr"] + delay, "tags": ["dup:exact_line"] + x["tags"]})
    # re-serialized duplicates: same values, another serializer (order/escapes/spacing)
    n_reser = int(n_base * 0.005)
    styles = [S_JAVA, S_PY, S_GO, S_JS, S_RUST, S_DOTNET, S_RUBY]
    for _ in range(n_reser):
        x = pick(lambda x: "env" in x)
        st0 = x["prod"].style
        st = r.choice([s for s in styles if s.name != st0.name]).variant(floatfmt=st0.floatfmt)
        extra.append({"text": encode(x["env"], st, r), "arr": x["arr"] + r.randint(1, 3600) * NS,
                      "tags": ["dup:reserialized_same_values", "reserialized_by:" + st.name] + x["tags"]})
    # conflicting duplicates of one event_id
    n_conf = int(n_base * 0.003)
    for _ in range(n_conf):
        x = pick(lambda x: "env" in x and not any(t.startswith("malformed") for t in x["tags"]) and "tie" not in x["e"])
        env = copy.deepcopy(x["env"])
        p = env["payload"]
        et = env["event_type"]
        sub = r.random()
        if sub < 0.35:
            env["lamport_clock"] += r.randint(1, 7)
            k = "lamport_restamped"
        elif sub < 0.55 and et == "ConnectorHealthChecked":
            old = p["latency_ms"]
            while p["latency_ms"] == old:
                p["latency_ms"] = round(r.uniform(1, 900), 2)
            k = "latency_differs"
        elif sub < 0.7 and x["e"]["fam"] != "other":
            p["recorded_at"] = render_ts(x["e"]["t"] + r.randint(1, 90) * NS, 0, 3, True)
            k = "recorded_at_differs"
        elif sub < 0.93 and x["e"]["fam"] != "other":
            mk = g.malform_payload(x["e"], p)
            k = "malformed_copy:" + str(mk)
        elif sub < 0.97:
            env["node_id"] = r.choice(g.nodes)["id"]
            k = "node_id_differs"
        else:
            env["event_type"] = r.choice(OTHER_TYPES)
            env["payload"] = {"mission_id": "mission-collision", "status": "done"}
            k = "event_id_collision_other_family"
            extra.append({"text": encode(env, x["prod"].style, r), "arr": x["arr"] + r.randint(-3600, 3600) * NS,
                          "tags": ["ambiguous:conflicting_copy_in_ignored_family", "dup:conflicting",
                                   "conflict:" + k] + x["tags"]})
            continue
        extra.append({"text": encode(env, x["prod"].style, r), "arr": x["arr"] + r.randint(-3600, 3600) * NS,
                      "tags": ["dup:conflicting", "conflict:" + k] + x["tags"]})
    # -0.0 vs 0.0 conflicting copies
    zeros = [x for x in base if "env" in x and x["env"]["event_type"] == "ConnectorHealthChecked"
             and isinstance(x["env"]["payload"].get("latency_ms"), float) and x["env"]["payload"]["latency_ms"] == 0.0
             and x["prod"].style.floatfmt in ("py", "java", "rust", "ruby")]
    for x in r.sample(zeros, min(len(zeros), max(2, n_base // 60000))):
        env = copy.deepcopy(x["env"])
        env["payload"]["latency_ms"] = -0.0
        extra.append({"text": encode(env, x["prod"].style, r), "arr": x["arr"] + NS,
                      "tags": ["dup:conflicting", "conflict:negative_zero_latency"] + x["tags"]})
    # invalid lines (~0.5% of lines)
    n_lines_est = n_base + len(extra)
    n_invalid = int(n_lines_est * 0.005)
    n_blank = max(2, n_invalid // 10)
    drop_ids = set()
    for i in range(n_invalid - n_blank):
        x = pick(lambda x: "env" in x)
        text, kind = g.corrupt_line(x["env"], x["prod"])
        # 40%: the producer lost the event (only the broken line exists)
        if r.random() < 0.4 and "tie" not in x["e"] and id(x) not in drop_ids and "dup:conflicting_malformed_copy" not in x["tags"]:
            drop_ids.add(id(x))
            how = "replaces_event"
        else:
            how = "extra_copy"
        extra.append({"text": text, "arr": x["arr"] + r.randint(0, 10) * NS, "tags": ["invalid:" + kind, "invalid_" + how]})
    for _ in range(n_blank):
        extra.append({"text": r.choice(["", "", " ", "\t", "   "]), "arr": T0 + r.randint(0, SPAN), "tags": ["invalid:blank_line"]})
    base = [x for x in base if id(x) not in drop_ids]
    g.tags["events_lost_to_invalid_line"] = len(drop_ids)
    # ambiguous lines (deliberately outside the clear cases; see README)
    amb = ambiguous_lines(g, a.events)
    # ------------------------------------------------------------------
    allrecs = base + extra + amb
    allrecs.sort(key=lambda x: x["arr"])
    # window shuffles
    i = 0
    n = len(allrecs)
    while i < n:
        w = r.randint(2, 40)
        if r.random() < 0.25:
            seg = allrecs[i:i + w]
            r.shuffle(seg)
            allrecs[i:i + w] = seg
            for x in seg:
                x.setdefault("shuf", True)
        i += w
    # CRLF on a handful of lines
    n_crlf = max(2, n // 30000)
    crlf_idx = set(r.sample(range(n), n_crlf))
    meta_lines = {"invalid": [], "ambiguous": [], "crlf": [], "blank": [], "conflicting_duplicate": []}
    tagc = Counter()
    with open(a.out, "wb") as fh:
        for ln, x in enumerate(allrecs, 1):
            t = x["text"]
            b = t if isinstance(t, bytes) else t.encode("utf-8", "surrogatepass")
            eol = b"\n"
            if ln - 1 in crlf_idx and x["tags"] and not x["tags"][0].startswith(("invalid", "ambiguous")):
                eol = b"\r\n"
                meta_lines["crlf"].append(ln)
                tagc["crlf_line_ending"] += 1
            fh.write(b + eol)
            for tg in x["tags"]:
                tagc[tg] += 1
            if x.get("shuf"):
                tagc["order:in_shuffled_window"] += 1
            if any(tg.startswith("invalid:") for tg in x["tags"]):
                meta_lines["invalid"].append(ln)
            if "invalid:blank_line" in x["tags"]:
                meta_lines["blank"].append(ln)
            if any(tg.startswith("ambiguous:") for tg in x["tags"]):
                meta_lines["ambiguous"].append(ln)
            if "dup:conflicting" in x["tags"] or "dup:conflicting_malformed_copy" in x["tags"]:
                meta_lines["conflicting_duplicate"].append(ln)
            # text features
            if isinstance(t, str) and t and not any(tg.startswith(("invalid:", "ambiguous:")) for tg in x["tags"]):
                _text_features(t, tagc)
    meta = {"seed": a.seed, "events_option": a.events, "connectors_option": a.connectors,
            "lines": n, "base_events": n_base, "line_tag_counts": dict(sorted(tagc.items())),
            "generator_injections": dict(sorted(g.tags.items())),
            "line_numbers": meta_lines, "canary_connectors": g.canaries}
    with open(a.out + ".meta.json", "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=1, sort_keys=True, ensure_ascii=False)
        fh.write("\n")


def _text_features(t, c):
    if any(ord(ch) > 127 for ch in t):
        c["text:raw_non_ascii"] += 1
    if "\\u" in t:
        c["text:has_\\u_escape"] += 1
    if "\\/" in t:
        c["text:escaped_slash"] += 1
    if '": ' in t or '", "' in t:
        c["text:spaced_separators"] += 1
    if t.startswith("{ "):
        c["text:space_inside_braces"] += 1
    try:
        ts = json.loads(t)["timestamp"]
    except (ValueError, KeyError, TypeError):
        return
    if isinstance(ts, str) and len(ts) >= 20:
        z = ts[-1] in "Zz"
        c["ts:" + ("Z" if z else ("+00:00" if ts.endswith("+00:00") else "nonzero_offset"))] += 1
        dot = ts.find(".")
        if dot > 0:
            end = len(ts) - (1 if z else 6)
            c["ts:frac_digits_%d" % (end - dot - 1)] += 1
        else:
            c["ts:frac_digits_0"] += 1
        if "t" in ts or ts.endswith("z"):
            c["ts:lowercase_t_or_z"] += 1
    if "\\u002B" in t:
        c["text:dotnet_escaped_plus"] += 1


def ambiguous_lines(g, n_events):
    """A few lines per case whose verdict the spec does not settle.  They are
    kept off the real connectors: envelope-level cases use ignored-family
    events, payload-level cases use dedicated canary connectors."""
    r = g.r
    k = max(1, n_events // 100000)
    out = []
    proj = g.projects[0]
    node = g.nodes[1]   # a py node

    def env_for(etype, payload, t, **over):
        eid = g.ulid(t)
        env = {"event_id": eid, "event_type": etype, "aggregate_id": payload.get("mission_id", "x"),
               "payload": payload, "timestamp": render_ts(t, 0, 3, True), "node_id": node["id"],
               "lamport_clock": r.randint(1, 10 ** 6), "project_uuid": proj["uuid"], "correlation_id": eid}
        env.update(over)
        return env

    def emit(env, kind, st=S_GO, text=None, arr=None):
        out.append({"text": text if text is not None else encode(env, st, r),
                    "arr": arr if arr is not None else T0 + r.randint(0, SPAN),
                    "tags": ["ambiguous:" + kind]})

    for _ in range(k):
        t = T0 + r.randint(0, SPAN)
        op = {"mission_id": g.missions[0]["id"], "status": "done"}
        emit(env_for("MissionClosed", dict(op), t, schema_version=None), "schema_version_null")
        emit(env_for("MissionClosed", dict(op), t, data_tier=None), "data_tier_null")
        emit(None, "utf8_bom_at_line_start", text="\ufeff" + encode(env_for("MissionClosed", dict(op), t), S_GO, r))
        emit(env_for("MissionClosed", dict(op), t, timestamp=render_ts(t, 0, 3, True, sep=" ")), "timestamp_space_separator")
        emit(env_for("MissionClosed", dict(op), t, timestamp=render_ts(t, 0, 0, False)[:-6] + "-00:00"), "timestamp_minus_00_00_offset")
        emit(env_for("MissionClosed", dict(op), t, timestamp="2023-12-31T23:59:60Z"), "timestamp_leap_second")
        emit(env_for("MissionClosed", dict(op), t, timestamp=render_ts(t, 0, 12, True)[:-1] + "123Z"), "timestamp_12_fraction_digits")
        emit(env_for("MissionClosed", dict(op), t, data_tier=2.0), "data_tier_float_2.0")
        for depth in (63, 64, 65):
            # depth counted with the top-level object as level 1
            inner = depth - 1
            emit(env_for("MissionClosed", dict(op), t, debug=Raw('{"c":' * (inner - 0) + "1" + "}" * inner)),
                 "nesting_depth_%d" % depth)
        # duplicates whose 'sameness' depends on what is normalized
        e1 = env_for("MissionClosed", dict(op), t)
        emit(e1, "dup_pair_unknown_field_differs")
        e2 = dict(e1, x_retry=1)
        emit(e2, "dup_pair_unknown_field_differs")
        e3 = env_for("WorkPackageStatusChanged", dict(op), t)
        emit(e3, "dup_pair_event_id_case_differs")
        emit(dict(e3, event_id=e3["event_id"].lower()), "dup_pair_event_id_case_differs")
        e4 = env_for("WorkPackageStatusChanged", dict(op), t)
        emit(e4, "dup_pair_timestamp_other_offset_same_instant")
        emit(dict(e4, timestamp=render_ts(t - t % 10 ** 6, 120, 3, True)), "dup_pair_timestamp_other_offset_same_instant")
        e5 = env_for("MissionClosed", dict(op, ratio=12.5), t)
        emit(e5, "dup_pair_number_spelling_differs", st=S_GO)
        emit(e5, "dup_pair_number_spelling_differs", text=encode(e5, S_GO, r).replace('"ratio":12.5', '"ratio":1.25e1'))
        e6 = env_for("MissionClosed", dict(op, n=3), t)
        emit(e6, "dup_pair_int_vs_float_value")
        emit(e6, "dup_pair_int_vs_float_value", text=encode(e6, S_GO, r).replace('"n":3', '"n":3.0'))
        # payload-level cases: one dedicated canary connector per case, so a
        # verdict on one case cannot change the state of another
        def canary(case):
            cid = "canary-%s-%s" % (case, g.b36(6))
            g.canaries.append(cid)
            return cid

        cid = canary("count-float")
        sp = {"delivery_id": "dlv_canary_%s" % g.b36(8), "source_event_fingerprint": "sha256:" + g.hexs(64),
              "connector_id": cid, "mission_id": g.missions[0]["id"], "recorded_at": render_ts(t, 0, 3, True),
              "ingest_batch_id": "batch-canary", "ingested_count": Raw("3.0")}
        emit(env_for("SyncIngestAccepted", sp, t), "ingested_count_float_3.0")

        def cp(case, url):
            return {"connector_id": canary(case), "connector_type": "webhook", "provider": "github",
                    "mission_id": g.missions[0]["id"], "project_uuid": proj["uuid"], "actor_id": "canary",
                    "actor_type": "system", "endpoint_url": url, "recorded_at": render_ts(t, 0, 3, True)}
        emit(env_for("ConnectorProvisioned", cp("iri", "https://b\u00fccher.example/caf\u00e9"), t),
             "endpoint_url_iri_non_ascii_host_and_path")
        emit(env_for("ConnectorProvisioned", cp("upper-scheme", "HTTPS://CANARY.EXAMPLE.COM/Hook"), t),
             "endpoint_url_uppercase_scheme")
        emit(env_for("ConnectorProvisioned", cp("bad-port", "https://canary.example.com:99999/hook"), t),
             "endpoint_url_port_out_of_range")
        emit(env_for("ConnectorProvisioned", cp("empty-userinfo", "https://@canary.example.com/hook"), t),
             "endpoint_url_empty_userinfo")
        # clear by the spec (<= 2048 chars) but worth a canary each
        u = "https://ingest.example.com/v2/hooks?q="
        out.append({"text": encode(env_for("ConnectorProvisioned", cp("url-2048", u + "z" * (2048 - len(u))), t), S_GO, r),
                    "arr": T0 + r.randint(0, SPAN), "tags": ["edge:endpoint_url_exactly_2048_chars"]})
        out.append({"text": encode(env_for("ConnectorProvisioned", cp("url-2049", u + "z" * (2049 - len(u))), t), S_GO, r),
                    "arr": T0 + r.randint(0, SPAN), "tags": ["edge:endpoint_url_2049_chars_malformed"]})
    return out


if __name__ == "__main__":
    main()
