/*
 * One JSONL line -> one checked event, exactly as the models would check it.
 *
 * The envelope's and the payload's fields are read with the rules the spec
 * gives each of them (kinds, bounds, patterns, enums); an unknown field is
 * read with json_skip (every input limit, repeated keys included) and noted.
 * A line whose
 * payload breaks a semantic rule, and in strict mode a line with an unknown
 * field or a project_uuid that differs from the envelope's, is deferred:
 * Python decides and explains it; so is an event type the catalogue does not
 * know (validate_event reports it; replay reports and ignores it).
 */
#include "csc.h"

static const int MDAYS[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

static inline int
digits(const char *s, int n, int *value)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *value = v;
    return 1;
}

int64_t
days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void
civil_from_days(int64_t days, int *y, int *m, int *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int
datetime_us(const char *s, Py_ssize_t n, int64_t *out)
{
    int Y, M, D, h, m, sec;
    if (n < 20) return 0;
    if (!digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) || s[7] != '-' ||
        !digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &m) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return 0;
    if (Y < 1 || M < 1 || M > 12 || D < 1 || h > 23 || m > 59 || sec > 59) return 0;
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (D > MDAYS[M] + (M == 2 && leap)) return 0;
    Py_ssize_t i = 19;
    int64_t frac = 0;
    if (i < n && s[i] == '.') {
        int k = 0;
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (k < 6) frac = frac * 10 + (s[i] - '0');
            k++;
            i++;
        }
        if (k < 1 || k > 9) return 0;
        for (int pad = k; pad < 6; pad++) frac *= 10;
    }
    int64_t offset = 0;
    if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
        offset = 0;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return 0;
        offset = (int64_t)(oh * 60 + om) * 60;
        if (s[i] == '-') offset = -offset;
    } else {
        return 0;
    }
    int64_t secs = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec - offset;
    /* The UTC instant must fall within years 0001-9999 (a datetime's range). */
    static const int64_t first = -62135596800LL;          /* 0001-01-01T00:00:00Z */
    static const int64_t last = 253402300799LL;           /* 9999-12-31T23:59:59Z */
    if (secs < first || secs > last) return 0;
    *out = secs * 1000000 + frac;
    return 1;
}

/* Each hex digit in lower case; 0 for a character that is not one. */
static const char LOWER_HEX[256] = {
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4', ['5'] = '5', ['6'] = '6',
    ['7'] = '7', ['8'] = '8', ['9'] = '9', ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd',
    ['e'] = 'e', ['f'] = 'f', ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e',
    ['F'] = 'f'};

/* UUID (36 hyphenated or 32 hex) to 32 lower-case hex digits; 0 when not one. */
static int
uuid_hex(const char *s, Py_ssize_t n, char out[32])
{
    /* Where the digits of a hyphenated UUID are (8-4-4-4-12). */
    static const unsigned char AT36[32] = {0,  1,  2,  3,  4,  5,  6,  7,  9,  10, 11,
                                           12, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25,
                                           26, 27, 28, 29, 30, 31, 32, 33, 34, 35};
    const unsigned char *u = (const unsigned char *)s;
    int bad = 0;
    if (n == 36) {
        if (s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return 0;
        for (int k = 0; k < 32; k++) bad |= !(out[k] = LOWER_HEX[u[AT36[k]]]);
    } else if (n == 32) {
        for (int k = 0; k < 32; k++) bad |= !(out[k] = LOWER_HEX[u[k]]);
    } else {
        return 0;
    }
    return !bad;
}

int
normalize_event_id(const spec_t *spec, const char *s, Py_ssize_t n, char out[EID_MAX])
{
    if (n == 26) {
        int bad = 0;
        for (int i = 0; i < 26; i++) bad |= !(out[i] = (char)spec->ulid[(unsigned char)s[i]]);
        return bad ? 0 : 26;
    }
    char hex[32];
    if (!uuid_hex(s, n, hex)) return 0;
    int k = 0;
    for (int i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20) out[k++] = '-';
        out[k++] = hex[i];
    }
    return 36;
}

/* Whether UTF-8 text (surrogates passed through) fully matches
   contract/patterns.py's URL_PATTERN, as full_match does: an http(s) scheme
   in any case, a bracketed IP literal or a host of any characters but
   controls, space, / ? # @ : [ ] and backslash, an optional port of 1-4
   digits or 10000-65535, then nothing, or / ? # and any characters but
   controls and space. Every byte of a non-ASCII character is >= 0x80, and
   every such character is allowed wherever the pattern's classes are
   negated, so the bytes can be checked one at a time. */
int
url_ok(const char *text, Py_ssize_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    Py_ssize_t i = 0;
    static const char scheme[] = "http";
    for (int k = 0; k < 4; k++, i++)
        if (i >= n || (s[i] | 0x20) != scheme[k]) return 0;
    if (i < n && (s[i] | 0x20) == 's') i++;
    if (n - i < 3 || memcmp(s + i, "://", 3) != 0) return 0;
    i += 3;
    Py_ssize_t start = i;
    if (i < n && s[i] == '[') {
        for (i++; i < n; i++) {
            unsigned char c = s[i];
            if (!((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') || c == ':' ||
                  c == '.'))
                break;
        }
        if (i == start + 1 || i >= n || s[i] != ']') return 0;
        i++;
    } else {
        for (; i < n; i++) {
            unsigned char c = s[i];
            if (c <= 0x20 || c == 0x7f || c == '/' || c == '?' || c == '#' || c == '@' ||
                c == ':' || c == '[' || c == ']' || c == '\\')
                break;
        }
        if (i == start) return 0;
    }
    if (i < n && s[i] == ':') {
        Py_ssize_t d = ++i;
        long port = 0;
        for (; i < n && i - d < 6 && s[i] >= '0' && s[i] <= '9'; i++) port = port * 10 + (s[i] - '0');
        Py_ssize_t digits = i - d;
        if (digits < 1 || digits > 5 || (digits == 5 && (port < 10000 || port > 65535))) return 0;
    }
    if (i == n) return 1;
    if (s[i] != '/' && s[i] != '?' && s[i] != '#') return 0;
    for (i++; i < n; i++)
        if (s[i] <= 0x20 || s[i] == 0x7f) return 0;
    return 1;
}

/* Run a field's pattern check on a string once, remembering acceptance in
   the intern table. 1 accepted, 0 declined, -1 error. */
#define CHECK_CACHE_ITEMS (1u << 20)

static int
run_check(Scanner *self, field_t *f, value_t *v)
{
    if (f->check_url) return url_ok(v->str.s, v->str.n);
    intern_t *t = &self->store.strings;
    /* Remembered while the table is small; past that (a log of mostly unique
       URLs, say) a new string is checked each time, so memory stays bounded. */
    int add = t->n_items < CHECK_CACHE_ITEMS;
    uint32_t id = NONE_U32;
    if (f->last_id != NONE_U32) {
        istr_t *it = &t->items[f->last_id];
        if (it->len == (uint32_t)v->str.n && same(t->arena.data + it->off, v->str.s, v->str.n))
            id = f->last_id;
    }
    if (id == NONE_U32) {
        id = intern_add(t, &self->key, v->str.s, (size_t)v->str.n, add);
        if (id == NONE_U32 && add) return -1;
        if (id != NONE_U32) f->last_id = id;
    }
    v->id = id;
    if (id != NONE_U32 && t->items[id].checked & (1u << f->check_bit)) return 1;
    if (self->in_place) { /* an item read in place: again, from copies (scan_object) */
        self->python_wanted = 1;
        return 0;
    }
    PyObject *arg = PyUnicode_DecodeUTF8(v->str.s, v->str.n, NULL);
    if (!arg) return -1;
    PyObject *res = PyObject_CallOneArg(f->check, arg);
    Py_DECREF(arg);
    if (!res) return -1;
    int ok = res != Py_None;
    Py_DECREF(res);
    if (ok && id != NONE_U32) t->items[id].checked |= 1u << f->check_bit;
    return ok;
}

/* Read and check one value of field f at p: the position after it, or NULL
   to defer (*err set on a Python error). */
static const char *
field_value(Scanner *self, field_t *f, const char *p, const char *end, value_t *v, int depth,
            int *err)
{
    v->present = 1;
    v->is_null = 0;
    v->id = NONE_U32;
    if (p < end && *p == 'n') {
        if (end - p >= 4 && memcmp(p, "null", 4) == 0 && f->nullable) {
            v->is_null = 1;
            return p + 4;
        }
        return NULL;
    }
    if (f->kind == K_INT || f->kind == K_FLOAT) {
        int isint, big;
        int64_t iv;
        uint64_t uv;
        double fv;
        const char *q = json_number(p, end, &isint, &iv, &uv, &big, &fv, err);
        if (!q) return NULL;
        if (f->kind == K_INT) {
            if (!isint || big || iv < f->lo || iv > f->hi) return NULL;
            v->i = iv;
        } else {
            if (f->has_flo && !(fv >= f->flo)) return NULL;
            v->f = fv;
        }
        return q;
    }
    if (f->kind == K_BOOL) {
        if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
            v->i = 1;
            return p + 4;
        }
        if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
            v->i = 0;
            return p + 5;
        }
        return NULL;
    }
    if (f->kind == K_DEFER) return NULL;
    if (f->kind == K_OBJECT) {
        if (p >= end || *p != '{') return NULL;
        return json_skip(&self->json, p, end, depth, err);
    }
    if (p >= end || *p != '"') return NULL;
    const char *q = json_string(&self->json, p, end, &v->str, err);
    if (!q) return NULL;
    int ok = check_string(self, f, v);
    if (ok < 0) *err = 1;
    return ok > 0 ? q : NULL;
}

int
check_string(Scanner *self, field_t *f, value_t *v)
{
    const char *s = v->str.s;
    Py_ssize_t n = v->str.n;
    switch (f->kind) {
    case K_EVENT_ID:
        v->norm_len = normalize_event_id(&self->spec, s, n, v->norm);
        return v->norm_len != 0;
    case K_UUID:
        /* Logs repeat one project's UUID on every line: the last one read
           is remembered with its digits. */
        if (n && n == f->uuid_raw_n && same(f->uuid_raw, s, n)) {
            memcpy(v->norm, f->uuid_norm, 32);
        } else {
            if (!uuid_hex(s, n, v->norm)) return 0;
            memcpy(f->uuid_raw, s, (size_t)n);  /* uuid_hex took 32 or 36 bytes */
            memcpy(f->uuid_norm, v->norm, 32);
            f->uuid_raw_n = (int)n;
        }
        v->norm_len = 32;
        return 1;
    case K_DATETIME:
        return datetime_us(s, n, &v->i);
    case K_ENUM:
        for (int k = 0; k < f->n_enum; k++) {
            if (f->enum_len[k] == n && same(f->enum_v[k], s, n)) {
                v->idx = k;
                return 1;
            }
        }
        return 0;
    case K_STR:
        if ((f->has_lo && v->str.chars < f->lo) || (f->has_hi && v->str.chars > f->hi)) return 0;
        return f->check ? run_check(self, f, v) : 1;
    default:
        return 0;
    }
}

typedef struct {
    int etype;                 /* -2: payload not read yet; -1: unknown type; else index */
    uint64_t pseen;
    const char *at, *end;      /* the payload's span when it came before event_type */
    value_t *pay;
    int *unknown;
} payload_ctx;

static const char *members(Scanner *self, field_t *fields, int n, const char *p, const char *end,
                           value_t *vals, uint64_t *seen, payload_ctx *ctx, int depth, int *err);

/* The payload object at p, for event type t (-1: unknown type, any object). */
static const char *
payload(Scanner *self, int t, const char *p, const char *end, payload_ctx *ctx, int *err)
{
    if (p >= end || *p != '{') return NULL;
    if (t < 0) return json_skip(&self->json, p, end, 1, err);
    etype_t *et = &self->spec.types[t];
    clear_values(ctx->pay, et->n_fields);
    ctx->pseen = 0;
    return members(self, et->fields, et->n_fields, p + 1, end, ctx->pay, &ctx->pseen, ctx, 2, err);
}

static const char *
members(Scanner *self, field_t *fields, int n, const char *p, const char *end, value_t *vals,
        uint64_t *seen, payload_ctx *ctx, int depth, int *err)
{
    jctx_t *j = &self->json;
    keyset_t unknown_keys;
    keyset_begin(&unknown_keys, ++j->next_obj);
    p = json_ws(p, end);
    if (p < end && *p == '}') return p + 1;
    int hint = 0;
    for (;;) {
        if (p >= end || *p != '"') return NULL;
        jstr_t k;
        p = json_string(j, p, end, &k, err);
        if (!p) return NULL;
        p = json_ws(p, end);
        if (p >= end || *p != ':') return NULL;
        p = json_ws(p + 1, end);
        int i = find_field(fields, n, hint, k.s, k.n);
        if (i < 0) {
            /* A field from a newer producer: the same limits, and no repeated key. */
            if (keyset_add(j, &unknown_keys, &k, err) || *err) return NULL;
            *ctx->unknown = 1;
            p = json_skip(j, p, end, depth, err);
            if (!p) return NULL;
        } else {
            if (*seen & ((uint64_t)1 << i)) return NULL; /* a repeated key: Python reports it */
            *seen |= (uint64_t)1 << i;
            hint = i + 1;
            if (fields[i].role == R_PAYLOAD && depth == 1) {
                value_t *tv = &vals[self->spec.env_role[R_EVENT_TYPE]];
                if (tv->present) {
                    ctx->etype = spec_type_index(&self->spec, tv->str.s, tv->str.n);
                    p = payload(self, ctx->etype, p, end, ctx, err);
                } else {
                    /* Only its span now: read whole, with every check, once
                       event_type is known, and it must end there (scan_line). */
                    if (p >= end || *p != '{') return NULL;
                    ctx->at = p;
                    p = json_span(p, end);
                    ctx->end = p;
                }
                if (!p) return NULL;
            } else if (fields[i].role == R_EVENT_TYPE && depth == 1) {
                if (p >= end || *p != '"') return NULL;
                value_t *v = &vals[i];
                p = json_string(j, p, end, &v->str, err);
                if (!p || v->str.chars < 1) return NULL;
                v->present = 1;
                v->is_null = 0;
            } else {
                p = field_value(self, &fields[i], p, end, &vals[i], depth, err);
                if (!p) return NULL;
            }
        }
        p = json_ws(p, end);
        if (p >= end) return NULL;
        if (*p == '}') return p + 1;
        if (*p != ',') return NULL;
        p = json_ws(p + 1, end);
    }
}

int
scan_line(Scanner *self, const char *p, const char *end, parsed_t *out, int strict, int reports)
{
    spec_t *spec = &self->spec;
    int err = 0;
    uint64_t seen = 0;
    out->unknown = 0;
    out->uuid_mismatch = 0;
    out->broken = 0;
    payload_ctx ctx = {-2, 0, NULL, NULL, out->pay, &out->unknown};
    if (jctx_begin_line(&self->json, p, (size_t)(end - p)) < 0) return -1;
    clear_values(out->env, spec->n_env);
    p = json_ws(p, end);
    if (p >= end || *p != '{') return 0;
    p = members(self, spec->env, spec->n_env, p + 1, end, out->env, &seen, &ctx, 1, &err);
    if (err) return -1;
    if (!p || json_ws(p, end) != end) return 0;
    if ((seen & spec->env_required) != spec->env_required) return 0;
    if (ctx.etype == -2) {
        /* The payload came before event_type: read it now. */
        value_t *tv = &out->env[spec->env_role[R_EVENT_TYPE]];
        ctx.etype = spec_type_index(spec, tv->str.s, tv->str.n);
        const char *q = payload(self, ctx.etype, ctx.at, ctx.end, &ctx, &err);
        if (err) return -1;
        if (q != ctx.end) return 0;
    }
    return finish_event(self, out, ctx.etype, ctx.pseen, strict, reports);
}

int
finish_event(Scanner *self, parsed_t *out, int t, uint64_t pseen, int strict, int reports)
{
    spec_t *spec = &self->spec;
    out->report = REPORT_NONE;
    if (t < 0) {
        /* An event type the catalogue does not know, in an envelope read whole:
           validate_event reports it and replay reports and ignores it. Without
           reports (or with strict's unknown fields to explain), Python decides. */
        if (!reports || (strict && out->unknown)) return 0;
        out->report = REPORT_UNKNOWN_TYPE;
    } else {
        etype_t *et = &spec->types[t];
        if ((pseen & et->required_mask) != et->required_mask) return 0;
        for (int r = 0; r < et->n_rules; r++) {
            value_t *a = &out->pay[et->rule_a[r]], *b = &out->pay[et->rule_b[r]];
            /* A rule holds when either side is absent or null (as in contract/rules.py). */
            if (a->present && !a->is_null && b->present && !b->is_null && a->i > b->i)
                out->broken |= 1u << r;
        }
        /* A broken rule makes the line invalid for validate: it is reported (from
           the rules broken), or Python explains it. */
        if (out->broken) {
            if (!reports) return 0;
            out->report = REPORT_RULES;
        }
        int iu = et->uuid_idx, eu = spec->env_role[R_ENV_PROJECT_UUID];
        if (iu >= 0 && eu >= 0 && out->env[eu].present && !out->env[eu].is_null &&
            memcmp(out->pay[iu].norm, out->env[eu].norm, 32) != 0)
            out->uuid_mismatch = 1;
        if (strict && (out->unknown || out->uuid_mismatch)) return 0; /* Python reports them */
    }
    value_t *id = &out->env[spec->env_role[R_EVENT_ID]];
    out->eid_len = id->norm_len;
    memcpy(out->eid, id->norm, (size_t)id->norm_len);
    out->lamport = (uint64_t)out->env[spec->env_role[R_LAMPORT]].i;
    out->instant = out->env[spec->env_role[R_TIMESTAMP]].i;
    out->etype = t;
    return 1;
}
