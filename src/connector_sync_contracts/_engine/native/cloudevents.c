/*
 * Structured-mode CloudEvents lines mapped to envelope lines, for
 * `--input-format cloudevents` (interop/formats.py).
 *
 * The mapping is data, and Python's: interop/_attributes.py builds the plan
 * (compiled_plan) from the same tables envelope_from_cloudevent_dict reads,
 * one row per attribute, keyed by name. A row says what the attribute is
 * (its kind), whether it is required, the envelope fields it fills and the
 * constants its kind checks against. The rows that fill fields are written
 * in plan order, so a mapped line has the members in the order Python's
 * mapping gives them.
 *
 * A line is mapped here only when Python would map it to the same envelope:
 * the line is one JSON object read with json.c's rules (json_skip: every
 * input limit, repeated keys at any depth), every required attribute is
 * there, and each attribute's text is one this code can judge: `type`,
 * `source` and `datacontenttype` are judged on their decoded text, as Python
 * judges them (a producer that writes `\/` or `\u00e9` stays here), the
 * integer attributes as plain digits. `source` may percent-encode anything
 * but control characters.
 * Anything else is declined, and Python maps the line and explains what is
 * wrong with it. So this code may decline a line Python maps, never map a
 * line differently.
 */
#include "csc.h"

static const struct { const char *name; int kind; } KINDS[] = {
    {"equal", CE_EQUAL},     /* the exact JSON text of args[0]; fills nothing */
    {"string", CE_STRING},   /* any JSON string, as written */
    {"raw", CE_RAW},         /* any JSON value, as written */
    {"integer", CE_INTEGER}, /* digits, or digits in a string: a JSON integer */
    {"type", CE_TYPE},       /* args[0]<event type>.v<MAJOR.MINOR.PATCH>, MAJOR == args[1] */
    {"source", CE_SOURCE},   /* args[0]<node>[args[1]<build>]: node and build fields */
    {"json_media", CE_JSON_MEDIA}, /* a JSON media type (json_media_type); fills nothing */
};

static int
span_of(PyObject *o, ce_span_t *out, const char *what)
{
    if (!PyBytes_Check(o)) {
        PyErr_Format(PyExc_TypeError, "cloudevents plan: %s must be bytes", what);
        return -1;
    }
    out->s = PyBytes_AS_STRING(o);
    out->n = PyBytes_GET_SIZE(o);
    return 0;
}

/* Read each row (name, kind, required, fields, args) of the plan tuple. The
   spans point into the plan's bytes objects: the caller holds the plan. */
int
ce_plan_read(PyObject *plan, ce_plan_t *out)
{
    Py_ssize_t n = PyTuple_GET_SIZE(plan);
    if (n < 1 || n > CE_MAX_ROWS) {
        PyErr_Format(PyExc_ValueError, "cloudevents plan: 1..%d rows, not %zd", CE_MAX_ROWS, n);
        return -1;
    }
    out->n = (int)n;
    out->extra = 2; /* the braces */
    for (Py_ssize_t i = 0; i < n; i++) {
        ce_row_t *r = &out->rows[i];
        memset(r, 0, sizeof(*r));
        PyObject *row = PyTuple_GET_ITEM(plan, i);
        PyObject *name, *kind, *fields, *args;
        int required;
        if (!PyTuple_Check(row) ||
            !PyArg_ParseTuple(row, "OUpO!O!", &name, &kind, &required, &PyTuple_Type, &fields,
                              &PyTuple_Type, &args)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError,
                                "cloudevents plan: a row is (name, kind, required, fields, args)");
            return -1;
        }
        if (span_of(name, &r->name, "a name") < 0) return -1;
        r->kind = -1;
        for (size_t k = 0; k < sizeof(KINDS) / sizeof(KINDS[0]); k++)
            if (PyUnicode_CompareWithASCIIString(kind, KINDS[k].name) == 0) r->kind = KINDS[k].kind;
        int want_fields = r->kind == CE_EQUAL || r->kind == CE_JSON_MEDIA ? 0
                          : r->kind == CE_SOURCE                          ? 2
                                                                          : 1;
        int want_args = r->kind == CE_EQUAL ? 1 : r->kind == CE_TYPE || r->kind == CE_SOURCE ? 2 : 0;
        if (r->kind < 0 || PyTuple_GET_SIZE(fields) != want_fields ||
            PyTuple_GET_SIZE(args) != want_args) {
            PyErr_Format(PyExc_ValueError, "cloudevents plan: row %zd has an unknown kind or the "
                         "wrong number of fields or args", i);
            return -1;
        }
        r->required = required;
        for (int f = 0; f < want_fields; f++) {
            if (span_of(PyTuple_GET_ITEM(fields, f), &r->field[f], "a field") < 0) return -1;
            /* ,"field": */
            if ((size_t)r->field[f].n > SIZE_MAX / 8 - out->extra - 8) {
                PyErr_SetString(PyExc_OverflowError, "cloudevents plan: too long");
                return -1;
            }
            out->extra += (size_t)r->field[f].n + 6;
        }
        for (int a = 0; a < want_args; a++)
            if (span_of(PyTuple_GET_ITEM(args, a), &r->arg[a], "an arg") < 0) return -1;
    }
    return 0;
}

static int
starts_with(const char *s, Py_ssize_t n, const ce_span_t *prefix)
{
    return n >= prefix->n && same(s, prefix->s, prefix->n);
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The digits of an integer attribute: plain digits (the JSON integer as
   written), or plain digits in a string without a leading zero (what
   cloudevents._DECIMAL takes). No sign: a negative clock is Python's to
   report. At most 19 digits: wider ones are Python's (exact integers). */
static int
integer_digits(ce_span_t v, ce_span_t *out)
{
    if (v.n >= 2 && v.s[0] == '"') {
        v.s++;
        v.n -= 2;
    }
    if (v.n < 1 || v.n > 19 || (v.n > 1 && v.s[0] == '0')) return 0;
    for (Py_ssize_t i = 0; i < v.n; i++)
        if (!is_digit(v.s[i])) return 0;
    *out = v;
    return 1;
}

/* A run of digits ending just before `end` (no leading zero unless alone):
   where it starts, or NULL. */
static const char *
number_before(const char *start, const char *end)
{
    const char *p = end;
    while (p > start && is_digit(p[-1])) p--;
    if (p == end || (end - p > 1 && *p == '0')) return NULL;
    return p;
}

/* The decoded text of the JSON string v: 1 (*out set), 0 not a string, or
   one whose text would need an escape to be written again between quotes
   (a '"', a '\\' or a control character: declined, Python maps it), -1 an
   error. Decoded text lives in the line's scratch buffer until the next
   string is decoded: use it before decoding another. */
static int
string_text(jctx_t *j, ce_span_t v, ce_span_t *out)
{
    if (v.n < 2 || v.s[0] != '"') return 0;
    if (!memchr(v.s, '\\', (size_t)v.n)) {
        out->s = v.s + 1;
        out->n = v.n - 2;
        return 1;
    }
    jstr_t text;
    int err = 0;
    if (!json_string(j, v.s, v.s + v.n, &text, &err)) return err ? -1 : 0;
    for (Py_ssize_t i = 0; i < text.n; i++) {
        unsigned char c = (unsigned char)text.s[i];
        if (c < 0x20 || c == '"' || c == '\\') return 0;
    }
    out->s = text.s;
    out->n = text.n;
    return 1;
}

/* `type`: the event type between the prefix and the last .v<N.N.N> (s: the
   decoded text). */
static int
event_type_of(ce_span_t s, const ce_row_t *r, ce_span_t *out)
{
    if (!starts_with(s.s, s.n, &r->arg[0])) return 0;
    const char *start = s.s + r->arg[0].n, *end = s.s + s.n;
    const char *patch = number_before(start, end);
    if (!patch || patch - start < 1 || patch[-1] != '.') return 0;
    const char *minor = number_before(start, patch - 1);
    if (!minor || minor - start < 1 || minor[-1] != '.') return 0;
    const char *major = number_before(start, minor - 1);
    if (!major || major - start < 3 || major[-1] != 'v' || major[-2] != '.') return 0;
    if ((minor - 1) - major != r->arg[1].n || !same(major, r->arg[1].s, r->arg[1].n)) return 0;
    out->s = start;
    out->n = (major - 2) - start;
    return out->n >= 1;
}

static int
hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The byte %XX at s[i] stands for (urllib.parse.unquote), or -1 when s[i] is
   not the start of one (a '%' without two hex digits stands for itself). */
static int
percent_byte(const char *s, Py_ssize_t n, Py_ssize_t i)
{
    if (s[i] != '%' || n - i < 3) return -1;
    int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
    return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
}

/* Whether a node or build is URI text whose %XX stand for no control
   character (which the mapped line would have to escape, growing): no '%'
   without two hex digits, and none of the characters RFC 3986 allows in no
   URI (controls, C1 too, space, "<>\^`{|}); Python refuses those (parse_source). */
static int
percent_plain(ce_span_t v)
{
    for (Py_ssize_t i = 0; i < v.n; i++) {
        unsigned char c = (unsigned char)v.s[i];
        if (c <= 0x20 || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' ||
            c == '^' || c == '`' || c == '{' || c == '|' || c == '}')
            return 0;
        /* U+0080-U+009F (C2 80-C2 9F): C1 controls, which no IRI holds either */
        if (c == 0xc2 && i + 1 < v.n && (unsigned char)v.s[i + 1] <= 0x9f) return 0;
        if (c != '%') continue;
        int b = percent_byte(v.s, v.n, i);
        if (b < 0x20) return 0; /* no two hex digits (-1), or a control character */
    }
    return 1;
}

/* `source`: node, and build when there is one (node and build hold no ':';
   s: the decoded text). */
static int
source_of(ce_span_t s, const ce_row_t *r, ce_span_t *node, ce_span_t *build)
{
    if (!starts_with(s.s, s.n, &r->arg[0])) return 0;
    const char *start = s.s + r->arg[0].n, *end = s.s + s.n;
    const char *colon = memchr(start, ':', (size_t)(end - start));
    node->s = start;
    build->s = NULL;
    build->n = 0;
    if (!colon) {
        node->n = end - start;
        return percent_plain(*node);
    }
    node->n = colon - start;
    if (!starts_with(colon, end - colon, &r->arg[1])) return 0;
    build->s = colon + r->arg[1].n;
    build->n = end - build->s;
    return !memchr(build->s, ':', (size_t)build->n) && percent_plain(*node) &&
           percent_plain(*build);
}

static void
put(buf_t *out, const char *s, Py_ssize_t n)
{
    memcpy(out->data + out->len, s, (size_t)n);
    out->len += (size_t)n;
}

enum { AS_JSON, AS_TEXT, AS_URI_PART };

/* ,"field":value (no comma before the first member). value is JSON text
   (AS_JSON), the text of a JSON string (AS_TEXT), or such a text whose %XX
   are decoded (AS_URI_PART, checked by percent_plain): never longer than the
   text, as a '"' or '\\' (3 bytes) takes 2 escaped. 0 when the decoded
   bytes are not UTF-8 (urllib.parse.unquote's errors="strict" refuses them). */
static int
put_member(buf_t *out, size_t start, const ce_span_t *field, ce_span_t value, int as)
{
    if (out->len > start + 1) put(out, ",", 1);
    put(out, "\"", 1);
    put(out, field->s, field->n);
    put(out, "\":", 2);
    if (as == AS_JSON) {
        put(out, value.s, value.n);
        return 1;
    }
    put(out, "\"", 1);
    if (as == AS_TEXT) {
        put(out, value.s, value.n);
        put(out, "\"", 1);
        return 1;
    }
    size_t text = out->len;
    for (Py_ssize_t i = 0; i < value.n; i++) {
        int b = percent_byte(value.s, value.n, i);
        if (b < 0) {
            out->data[out->len++] = value.s[i];
            continue;
        }
        if (b == '"' || b == '\\') out->data[out->len++] = '\\';
        out->data[out->len++] = (char)b;
        i += 2;
    }
    /* The bytes written are the value's decoded UTF-8 (escaped '"' and '\\'
       are ASCII): each sequence Python would decode, strictly. */
    const unsigned char *q = (const unsigned char *)out->data + text,
                        *end = (const unsigned char *)out->data + out->len;
    while (q < end) {
        if (*q < 0x80) {
            q++;
            continue;
        }
        int len = utf8_sequence(q, end);
        if (!len) return 0;
        q += len;
    }
    put(out, "\"", 1);
    return 1;
}

/* Whether s[0..n) is the lower-case ASCII word w in any letter case (never locale). */
static int
ascii_word(const unsigned char *s, Py_ssize_t n, const char *w)
{
    Py_ssize_t k = 0;
    for (; w[k]; k++)
        if (k >= n || (s[k] >= 'A' && s[k] <= 'Z' ? s[k] | 0x20 : s[k]) != (unsigned char)w[k])
            return 0;
    return k == n;
}

/* Whether the decoded text v is one interop/cloudevents.py's _JSON_CONTENT_TYPE
   takes, judged in ASCII: application/ or text/, an optional run of letters,
   digits, '.' and '-' ended by '+', then json, all in any letter case; then
   nothing, or ';' after any spaces, with anything after it. Any other
   whitespace or a non-ASCII letter (which Python's case-blind match may take)
   declines: Python judges the line. */
static int
json_media_type(ce_span_t v)
{
    const unsigned char *s = (const unsigned char *)v.s;
    Py_ssize_t n = v.n, i;
    if (n >= 12 && ascii_word(s, 12, "application/"))
        i = 12;
    else if (n >= 5 && ascii_word(s, 5, "text/"))
        i = 5;
    else
        return 0;
    Py_ssize_t run = i;
    while (i < n && ((s[i] >= '0' && s[i] <= '9') || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') ||
                     s[i] == '.' || s[i] == '-'))
        i++;
    if (i < n && s[i] == '+') {
        if (i == run) return 0;
        i++;
        if (n - i < 4 || !ascii_word(s + i, 4, "json")) return 0;
        i += 4;
    } else if (i - run != 4 || !ascii_word(s + run, 4, "json")) {
        return 0;
    }
    if (i == n) return 1;
    while (i < n && s[i] == ' ') i++;
    return i < n && s[i] == ';';
}

int
ce_map_line(Scanner *self, const ce_plan_t *plan, const char *p, const char *end, buf_t *out)
{
    jctx_t *j = &self->json;
    int err = 0;
    ce_span_t val[CE_MAX_ROWS];
    memset(val, 0, sizeof(val));
    if (jctx_begin_line(j, p, (size_t)(end - p)) < 0) return -1;
    const char *q = json_ws(p, end);
    if (q >= end || *q != '{') return 0;
    keyset_t keys;
    keyset_begin(&keys, ++j->next_obj);
    q = json_ws(q + 1, end);
    for (;;) {
        if (q >= end || *q != '"') return 0;
        jstr_t k;
        q = json_string(j, q, end, &k, &err);
        if (!q) return err ? -1 : 0;
        if (keyset_add(j, &keys, &k, &err)) return 0;
        if (err) return -1;
        q = json_ws(q, end);
        if (q >= end || *q != ':') return 0;
        const char *v = json_ws(q + 1, end);
        /* Every value, also one no row reads: the line must be JSON Python reads. */
        q = json_skip(j, v, end, 1, &err);
        if (!q) return err ? -1 : 0;
        for (int i = 0; i < plan->n; i++)
            if (plan->rows[i].name.n == k.n && same(plan->rows[i].name.s, k.s, k.n)) {
                val[i].s = v;
                val[i].n = q - v;
                break;
            }
        q = json_ws(q, end);
        if (q >= end) return 0;
        if (*q == '}') break;
        if (*q != ',') return 0;
        q = json_ws(q + 1, end);
    }
    if (json_ws(q + 1, end) != end) return 0;

    /* The mapped line is never longer than the line plus each field's name. */
    size_t n = (size_t)(end - p);
    if (n > SIZE_MAX / 2 - plan->extra) {
        PyErr_NoMemory();
        return -1;
    }
    if (buf_room(out, n + plan->extra + 1) < 0) return -1;
    size_t start = out->len;
    put(out, "{", 1);
    for (int i = 0; i < plan->n; i++) {
        const ce_row_t *r = &plan->rows[i];
        ce_span_t v = val[i], a, b, text;
        if (!v.s) {
            if (r->required) goto decline;
            continue;
        }
        if (r->kind == CE_TYPE || r->kind == CE_SOURCE || r->kind == CE_JSON_MEDIA) {
            int ok = string_text(j, v, &text);
            if (ok < 0) {
                out->len = start;
                return -1;
            }
            if (!ok) goto decline;
        }
        switch (r->kind) {
        case CE_EQUAL:
            if (v.n != r->arg[0].n || !same(v.s, r->arg[0].s, v.n)) goto decline;
            break;
        case CE_JSON_MEDIA:
            if (!json_media_type(text)) goto decline;
            break;
        case CE_STRING:
            if (*v.s != '"') goto decline;
            put_member(out, start, &r->field[0], v, AS_JSON);
            break;
        case CE_RAW:
            put_member(out, start, &r->field[0], v, AS_JSON);
            break;
        case CE_INTEGER:
            if (!integer_digits(v, &a)) goto decline;
            put_member(out, start, &r->field[0], a, AS_JSON);
            break;
        case CE_TYPE:
            if (!event_type_of(text, r, &a)) goto decline;
            put_member(out, start, &r->field[0], a, AS_TEXT);
            break;
        case CE_SOURCE:
            if (!source_of(text, r, &a, &b)) goto decline;
            if (!put_member(out, start, &r->field[0], a, AS_URI_PART)) goto decline;
            if (b.s && !put_member(out, start, &r->field[1], b, AS_URI_PART)) goto decline;
            break;
        default:
            goto decline;
        }
    }
    put(out, "}\n", 2);
    return 1;
decline:
    out->len = start;
    return 0;
}
