/*
 * Loading the spec (spec.json, derived from the models by spec.py).
 *
 * The spec is keyed by name and checked whole before a scanner uses it: its
 * format number, every table's size against this file's limits, and every
 * name it refers to (a state, an outcome, a field, a role) against the
 * names it defines. A spec that fails any check raises ValueError; no index
 * taken from it is used unchecked.
 */
#include "csc.h"

static int
fail(const char *what)
{
    PyErr_Format(PyExc_ValueError, "bad compiled-core spec: %s", what);
    return -1;
}

static PyObject *
item(PyObject *dict, const char *key)
{
    PyObject *v = PyDict_Check(dict) ? PyDict_GetItemString(dict, key) : NULL; /* borrowed */
    if (!v) PyErr_Format(PyExc_ValueError, "bad compiled-core spec: no %s", key);
    return v;
}

static char *
copy_str(PyObject *s, Py_ssize_t *len)
{
    if (!PyUnicode_Check(s)) {
        fail("a name is not a string");
        return NULL;
    }
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (!u) return NULL;
    char *out = malloc((size_t)n + 1);
    if (!out) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(out, u, (size_t)n + 1);
    if (len) *len = n;
    return out;
}

static int
as_bool(PyObject *dict, const char *key, int *out)
{
    PyObject *v = item(dict, key);
    if (!v) return -1;
    int b = PyObject_IsTrue(v);
    if (b < 0) return -1;
    *out = b;
    return 0;
}

/* A name from a list of names (states, outcomes ...): its index, or -1. */
static int
name_index(PyObject *const *names, int n, PyObject *name)
{
    if (!name || !PyUnicode_Check(name)) return -1;
    for (int i = 0; i < n; i++) {
        int eq = PyUnicode_Compare(names[i], name) == 0;
        if (PyErr_Occurred()) return -1;
        if (eq) return i;
    }
    return -1;
}

static const struct {
    const char *name;
    int role;
} ROLES[] = {
    {"", R_NONE},
    {"connector_id", R_CONNECTOR_ID},
    {"connector_type", R_CONNECTOR_TYPE},
    {"provider", R_PROVIDER},
    {"mission_id", R_MISSION_ID},
    {"recorded_at", R_RECORDED_AT},
    {"health_status", R_HEALTH},
    {"latency_ms", R_LATENCY},
    {"previous_state", R_PREVIOUS},
    {"delivery_id", R_DELIVERY},
    {"fingerprint", R_FINGERPRINT},
    {"retry_attempt", R_RETRY},
    {"max_retries", R_MAX_RETRIES},
    {"ingested_count", R_INGESTED},
    {"replayed_count", R_REPLAYED},
    {"project_uuid", R_PROJECT_UUID},
};

static const struct {
    const char *name;
    int role;
} ENV_ROLES[] = {
    {"", R_NONE},
    {"event_id", R_EVENT_ID},
    {"event_type", R_EVENT_TYPE},
    {"timestamp", R_TIMESTAMP},
    {"lamport_clock", R_LAMPORT},
    {"project_uuid", R_ENV_PROJECT_UUID},
    {"payload", R_PAYLOAD},
};

static const struct {
    const char *name;
    int kind;
} KINDS[] = {
    {"event_id", K_EVENT_ID}, {"uuid", K_UUID}, {"datetime", K_DATETIME}, {"str", K_STR},
    {"enum", K_ENUM},         {"int", K_INT},   {"float", K_FLOAT},       {"object", K_OBJECT},
    {"bool", K_BOOL},         {"defer", K_DEFER},
};

static int
int_item(PyObject *dict, const char *key, int64_t *out, int *has)
{
    PyObject *v = PyDict_GetItemString(dict, key);
    *has = 0;
    if (!v) return 0;
    if (PyFloat_Check(v)) {
        *out = (int64_t)PyFloat_AsDouble(v);
        *has = 1;
        return 0;
    }
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (x == -1 && PyErr_Occurred()) return -1;
    if (overflow) return fail("a bound does not fit 64 bits");
    *out = x;
    *has = 1;
    return 0;
}

/* The pattern checks made so far. Fields with the same pattern and length
   limit share one check and its bit in the intern table, so a value that
   passed for one field is known to pass for all of them (a connector's
   endpoint URL, on each of its lifecycle events, is matched once). Borrowed:
   the spec's patterns, and the checks their first fields own. */
typedef struct {
    int n;
    PyObject *pattern[32];
    int has_hi[32];
    int64_t hi[32];
    PyObject *check[32];
} checks_t;

static int
load_field(PyObject *d, field_t *f, int payload, int family, checks_t *checks, PyObject *make_check)
{
    memset(f, 0, sizeof(*f));
    f->last_id = NONE_U32;
    f->uuid_raw_n = 0;
    PyObject *name = item(d, "name"), *kind = item(d, "kind"), *role = item(d, "role");
    if (!name || !kind || !role) return -1;
    f->name = copy_str(name, &f->name_len);
    if (!f->name) return -1;
    const char *k = PyUnicode_Check(kind) ? PyUnicode_AsUTF8(kind) : NULL;
    const char *r = PyUnicode_Check(role) ? PyUnicode_AsUTF8(role) : NULL;
    if (!k || !r) return fail("a field's kind or role is not a string");
    f->kind = -1;
    for (size_t i = 0; i < sizeof(KINDS) / sizeof(KINDS[0]); i++)
        if (strcmp(k, KINDS[i].name) == 0) f->kind = KINDS[i].kind;
    if (f->kind < 0) return fail("unknown field kind");
    f->role = -1;
    if (payload) {
        for (size_t i = 0; i < sizeof(ROLES) / sizeof(ROLES[0]); i++)
            if (strcmp(r, ROLES[i].name) == 0) f->role = ROLES[i].role;
        /* A link fact takes every field it names; the roles are its own attributes. */
        if (family == F_LINK && *r) {
            f->role = R_KEPT;
            f->role_obj = Py_NewRef(role);
        }
    } else {
        for (size_t i = 0; i < sizeof(ENV_ROLES) / sizeof(ENV_ROLES[0]); i++)
            if (strcmp(r, ENV_ROLES[i].name) == 0) f->role = ENV_ROLES[i].role;
    }
    if (f->role < 0) return fail("unknown field role");
    if (as_bool(d, "nullable", &f->nullable) < 0 || as_bool(d, "optional", &f->optional) < 0)
        return -1;
    int64_t v;
    int has;
    if (int_item(d, "min_length", &v, &has) < 0) return -1;
    if (has) {
        f->lo = v;
        f->has_lo = 1;
    }
    if (int_item(d, "max_length", &v, &has) < 0) return -1;
    if (has) {
        f->hi = v;
        f->has_hi = 1;
    }
    if (f->kind == K_INT) {
        f->lo = INT64_MIN;
        f->hi = INT64_MAX;
        if (int_item(d, "minimum", &v, &has) < 0) return -1;
        if (has) f->lo = v;
        if (int_item(d, "maximum", &v, &has) < 0) return -1;
        if (has) f->hi = v;
    } else if (f->kind == K_FLOAT) {
        PyObject *m = PyDict_GetItemString(d, "minimum");
        if (m) {
            f->flo = PyFloat_AsDouble(m);
            if (f->flo == -1.0 && PyErr_Occurred()) return -1;
            f->has_flo = 1;
        }
    }
    PyObject *pattern = PyDict_GetItemString(d, "pattern");
    if (pattern) {
        if (f->kind != K_STR) return fail("a pattern on a field that is not a string");
        for (int k = 0; k < checks->n && !f->check; k++) {
            if (checks->has_hi[k] != f->has_hi || (f->has_hi && checks->hi[k] != f->hi)) continue;
            int same_pattern = PyObject_RichCompareBool(checks->pattern[k], pattern, Py_EQ);
            if (same_pattern < 0) return -1;
            if (!same_pattern) continue;
            f->check = Py_NewRef(checks->check[k]);
            f->check_bit = k;
        }
        if (!f->check) {
            if (checks->n >= 32) return fail("too many pattern checks");
            PyObject *max = f->has_hi ? PyLong_FromLongLong(f->hi) : Py_NewRef(Py_None);
            if (!max) return -1;
            f->check = PyObject_CallFunctionObjArgs(make_check, pattern, max, NULL);
            Py_DECREF(max);
            if (!f->check) return -1;
            f->check_bit = checks->n;
            checks->pattern[checks->n] = pattern;
            checks->has_hi[checks->n] = f->has_hi;
            checks->hi[checks->n] = f->hi;
            checks->check[checks->n] = f->check;
            checks->n++;
        }
        /* make_check gave the compiled URL check: run it without a call. */
        f->check_url = PyCFunction_Check(f->check) &&
                       PyCFunction_GET_FUNCTION(f->check) == (PyCFunction)url_check;
    }
    PyObject *values = PyDict_GetItemString(d, "values");
    if (f->kind == K_ENUM) {
        if (!values || !PyList_Check(values)) return fail("an enum field without values");
        Py_ssize_t n = PyList_GET_SIZE(values);
        if (n < 1 || n > MAX_ENUM) return fail("an enum with too many values");
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *s = PyList_GET_ITEM(values, i);
            f->enum_v[i] = copy_str(s, &f->enum_len[i]);
            if (!f->enum_v[i]) return -1;
            f->enum_obj[i] = Py_NewRef(s);
            f->n_enum = (int)i + 1;
        }
    }
    return 0;
}

static int
load_fields(PyObject *list, field_t **out, int *n, uint64_t *required, int payload, int family,
            checks_t *checks, PyObject *make_check)
{
    if (!PyList_Check(list)) return fail("fields are not a list");
    Py_ssize_t len = PyList_GET_SIZE(list);
    if (len > MAX_FIELDS) return fail("too many fields");
    *required = 0;
    *n = 0;
    field_t *fields = *out = calloc(len ? (size_t)len : 1, sizeof(field_t));
    if (!fields) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        *n = (int)i + 1; /* counted first: free_fields frees what a failed load_field took */
        if (load_field(PyList_GET_ITEM(list, i), &fields[i], payload, family, checks,
                       make_check) < 0)
            return -1;
        if (!fields[i].optional) *required |= (uint64_t)1 << i;
        for (Py_ssize_t k = 0; k < i; k++)
            if (fields[k].name_len == fields[i].name_len &&
                memcmp(fields[k].name, fields[i].name, (size_t)fields[i].name_len) == 0)
                return fail("a field name appears twice");
    }
    return 0;
}

static int
field_by_name(const etype_t *t, PyObject *name)
{
    if (!name || !PyUnicode_Check(name)) return -1;
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(name, &n);
    if (!s) return -1;
    for (int i = 0; i < t->n_fields; i++)
        if (t->fields[i].name_len == n && memcmp(t->fields[i].name, s, (size_t)n) == 0) return i;
    return -1;
}

static int
load_names(PyObject *list, PyObject **out, int max, int *n, const char *what)
{
    if (!list || !PyList_Check(list)) return fail(what);
    Py_ssize_t len = PyList_GET_SIZE(list);
    if (len < 1 || len > max) return fail(what);
    for (Py_ssize_t i = 0; i < len; i++) {
        PyObject *s = PyList_GET_ITEM(list, i);
        if (!PyUnicode_Check(s)) return fail(what);
        out[i] = Py_NewRef(s);
        *n = (int)i + 1;
    }
    return 0;
}

/* The enum members standing for names (equal to them, in the same order). */
static int
load_members(PyObject *list, PyObject **names, PyObject **out, int n, const char *what)
{
    if (!list || !PyList_Check(list) || PyList_GET_SIZE(list) != n) return fail(what);
    for (int i = 0; i < n; i++) {
        PyObject *m = PyList_GET_ITEM(list, i);
        if (!PyUnicode_Check(m)) return fail(what);
        int cmp = PyUnicode_Compare(m, names[i]);
        if (cmp == -1 && PyErr_Occurred()) return -1;
        if (cmp != 0) return fail(what);
        out[i] = Py_NewRef(m);
    }
    return 0;
}

/* A link type's fields by link role (the link fact attributes the fold
   reads). Its key, link_id and aggregate are strings every link has, and
   recorded_at its time; any other attribute it keeps is a string or null. */
static int
load_link_roles(etype_t *t)
{
    static const char *const NAMES[L_COUNT] = {
        "link_id",          "external_provider",     "external_ref_type",  "external_ref_id",
        "internal_aggregate_type", "internal_aggregate_id", "recorded_at",
    };
    for (int k = 0; k < L_COUNT; k++) {
        t->link_field[k] = -1;
        for (int i = 0; i < t->n_fields; i++) {
            field_t *f = &t->fields[i];
            if (f->role_obj && PyUnicode_CompareWithASCIIString(f->role_obj, NAMES[k]) == 0) {
                if (t->link_field[k] >= 0) return fail("a link role filled by two fields");
                t->link_field[k] = i;
            }
        }
        int i = t->link_field[k];
        if (i < 0) return fail("a link event without its key, link_id, aggregate or time");
        field_t *f = &t->fields[i];
        if (f->kind != (k == L_RECORDED_AT ? K_DATETIME : K_STR) || f->optional || f->nullable)
            return fail("a link's key, link_id, aggregate or time that may be absent");
    }
    for (int i = 0; i < t->n_fields; i++) {
        field_t *f = &t->fields[i];
        if (f->role_obj && f->kind != K_STR && i != t->link_field[L_RECORDED_AT])
            return fail("a link attribute that is not a string");
    }
    return 0;
}

static int
load_type(spec_t *spec, PyObject *d, etype_t *t, checks_t *checks, PyObject *make_check)
{
    PyObject *name = item(d, "name"), *family = item(d, "family"), *target = item(d, "target");
    PyObject *outcome = item(d, "outcome"), *fields = item(d, "fields"), *rules = item(d, "rules");
    if (!name || !family || !target || !outcome || !fields || !rules) return -1;
    t->name = copy_str(name, &t->name_len);
    if (!t->name) return -1;
    t->name_obj = Py_NewRef(name);
    t->family = name_index(spec->family_obj, spec->n_families, family);
    if (t->family < 0) return fail("an event type of an unknown family");
    if (load_fields(fields, &t->fields, &t->n_fields, &t->required_mask, 1, t->family, checks,
                    make_check) < 0)
        return -1;
    for (int r = 0; r < R_COUNT; r++) t->role_field[r] = -1;
    for (int i = 0; i < t->n_fields; i++) {
        int role = t->fields[i].role;
        if (role == R_NONE || role == R_KEPT) continue;
        if (t->role_field[role] >= 0) return fail("a role filled by two fields");
        t->role_field[role] = i;
    }
    t->uuid_idx = t->role_field[R_PROJECT_UUID];
    t->target = -1;
    t->outcome = -1;
    if (target != Py_None && (t->target = name_index(spec->state_obj, spec->n_states, target)) < 0)
        return fail("a target that is not a state");
    if (outcome != Py_None &&
        (t->outcome = name_index(spec->outcome_obj, spec->n_outcomes, outcome)) < 0)
        return fail("an outcome that is not an outcome");
    if (t->family == F_CONNECTOR) {
        static const int needed[] = {R_CONNECTOR_ID, R_CONNECTOR_TYPE, R_PROVIDER, R_MISSION_ID,
                                     R_RECORDED_AT};
        for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
            if (t->role_field[needed[i]] < 0) return fail("a connector event without a role");
        if (t->target < 0 && t->role_field[R_HEALTH] < 0)
            return fail("a connector event with neither a target nor a health status");
        if (t->outcome >= 0) return fail("a connector event with an outcome");
    } else if (t->family == F_SYNC) {
        if (t->role_field[R_CONNECTOR_ID] < 0 || t->role_field[R_DELIVERY] < 0 ||
            t->role_field[R_FINGERPRINT] < 0 || t->outcome < 0 || t->target >= 0)
            return fail("a sync event without its key, connector or outcome");
        if ((t->role_field[R_RETRY] < 0) != (t->role_field[R_MAX_RETRIES] < 0))
            return fail("a retry without its budget");
    } else if (t->target >= 0 || t->outcome >= 0) {
        return fail("a link with a target or outcome");
    } else if (t->family == F_LINK && load_link_roles(t) < 0) {
        return -1;
    }
    /* The kinds each role is read as. */
    static const struct {
        int role, kind;
    } KIND_OF[] = {
        {R_CONNECTOR_ID, K_STR}, {R_CONNECTOR_TYPE, K_STR}, {R_PROVIDER, K_STR},
        {R_MISSION_ID, K_STR},   {R_RECORDED_AT, K_DATETIME}, {R_HEALTH, K_ENUM},
        {R_LATENCY, K_FLOAT},    {R_PREVIOUS, K_ENUM},      {R_DELIVERY, K_STR},
        {R_FINGERPRINT, K_STR},  {R_RETRY, K_INT},          {R_MAX_RETRIES, K_INT},
        {R_INGESTED, K_INT},     {R_REPLAYED, K_INT},       {R_PROJECT_UUID, K_UUID},
    };
    for (size_t i = 0; i < sizeof(KIND_OF) / sizeof(KIND_OF[0]); i++) {
        int f = t->role_field[KIND_OF[i].role];
        if (f >= 0 && t->fields[f].kind != KIND_OF[i].kind) return fail("a role of the wrong kind");
        if (f >= 0 && (t->fields[f].nullable || t->fields[f].optional))
            return fail("a role that may be missing");
    }
    if (t->role_field[R_INGESTED] >= 0 && t->role_field[R_REPLAYED] >= 0)
        return fail("an event with two counts");
    for (int role = R_INGESTED; role <= R_REPLAYED; role++) {
        int f = t->role_field[role];
        if (f >= 0 && t->fields[f].lo < 0) return fail("a count that may be negative");
    }
    int h = t->role_field[R_HEALTH];
    if (h >= 0 && t->fields[h].n_enum > MAX_ENUM) return fail("too many health statuses");
    int prev = t->role_field[R_PREVIOUS];
    if (prev >= 0) {
        if (t->fields[prev].n_enum != spec->n_states) return fail("previous_state values");
        for (int s = 0; s < spec->n_states; s++)
            if (PyUnicode_Compare(t->fields[prev].enum_obj[s], spec->state_obj[s]) != 0)
                return fail("previous_state values are not the states");
    }
    if (!PyList_Check(rules) || PyList_GET_SIZE(rules) > MAX_RULES) return fail("rules");
    for (Py_ssize_t r = 0; r < PyList_GET_SIZE(rules); r++) {
        PyObject *rd = PyList_GET_ITEM(rules, r);
        PyObject *code = item(rd, "code"), *a = item(rd, "earlier"), *b = item(rd, "later");
        if (!code || !a || !b) return -1;
        t->rule_a[r] = field_by_name(t, a);
        t->rule_b[r] = field_by_name(t, b);
        if (t->rule_a[r] < 0 || t->rule_b[r] < 0) return fail("a rule names no field");
        int ka = t->fields[t->rule_a[r]].kind, kb = t->fields[t->rule_b[r]].kind;
        if (ka != kb || (ka != K_INT && ka != K_DATETIME) || t->fields[t->rule_a[r]].optional ||
            t->fields[t->rule_b[r]].optional || t->fields[t->rule_a[r]].nullable ||
            t->fields[t->rule_b[r]].nullable)
            return fail("a rule that compares what it cannot");
        if (!PyUnicode_Check(code)) return fail("a rule code");
        t->rule_code[r] = Py_NewRef(code);
        t->n_rules = (int)r + 1;
    }
    return 0;
}

int
spec_type_index(const spec_t *spec, const char *s, Py_ssize_t n)
{
    for (int i = 0; i < spec->n_types; i++)
        if (spec->types[i].name_len == n && same(spec->types[i].name, s, n)) return i;
    return -1;
}

int
spec_load(spec_t *spec, PyObject *d)
{
    checks_t shared = {.n = 0};
    checks_t *checks = &shared;
    memset(spec, 0, sizeof(*spec));
    if (!PyDict_Check(d)) return fail("not a dict");
    PyObject *format = item(d, "format");
    if (!format) return -1;
    long fmt = PyLong_AsLong(format);
    if (fmt == -1 && PyErr_Occurred()) return -1;
    if (fmt != CSC_SPEC_FORMAT) {
        PyErr_Format(PyExc_ValueError,
                     "compiled-core spec format %ld, but this extension reads format %d: "
                     "reinstall the package", fmt, CSC_SPEC_FORMAT);
        return -1;
    }
    PyObject *make_check = item(d, "make_check");
    if (!make_check) return -1;
    PyObject *limits = item(d, "limits");
    if (!limits) return -1;
    PyObject *depth = item(limits, "max_depth");
    if (!depth) return -1;
    long max_depth = PyLong_AsLong(depth);
    if (max_depth == -1 && PyErr_Occurred()) return -1;
    if (max_depth < 2 || max_depth > 10000) return fail("max_depth");
    spec->max_depth = (int)max_depth;
    /* The input limits on integers are this reader's own: [-2^63, 2^64-1]. */
    PyObject *imin = item(limits, "int_min"), *imax = item(limits, "int_max");
    if (!imin || !imax) return -1;
    int overflow = 0;
    long long lo = PyLong_AsLongLongAndOverflow(imin, &overflow);
    if (overflow || lo != INT64_MIN) return fail("int_min is not -2^63");
    unsigned long long hi = PyLong_AsUnsignedLongLong(imax);
    if (PyErr_Occurred() || hi != UINT64_MAX) {
        PyErr_Clear();
        return fail("int_max is not 2^64-1");
    }
    PyObject *alphabet = item(d, "ulid_alphabet");
    if (!alphabet || !PyUnicode_Check(alphabet)) return -1;
    Py_ssize_t an;
    const char *a = PyUnicode_AsUTF8AndSize(alphabet, &an);
    if (!a) return -1;
    if (an != 32) return fail("the ULID alphabet is not 32 characters");
    for (Py_ssize_t i = 0; i < an; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c >= 0x80 || c == 0) return fail("the ULID alphabet is not printable ASCII");
        spec->ulid[c] = (c >= 'a' && c <= 'z') ? (uint8_t)(c - 32) : c;
        if (c >= 'A' && c <= 'Z') spec->ulid[c + 32] = c;
    }
    if (load_names(item(d, "families"), spec->family_obj, MAX_FAMILIES, &spec->n_families,
                   "families") < 0 ||
        load_names(item(d, "states"), spec->state_obj, MAX_STATES, &spec->n_states, "states") < 0 ||
        load_names(item(d, "outcomes"), spec->outcome_obj, MAX_OUTCOMES, &spec->n_outcomes,
                   "outcomes") < 0 ||
        load_members(item(d, "state_members"), spec->state_obj, spec->state_member,
                     spec->n_states, "state_members") < 0 ||
        load_members(item(d, "outcome_members"), spec->outcome_obj, spec->outcome_member,
                     spec->n_outcomes, "outcome_members") < 0 ||
        load_names(item(d, "delivery_fields"), spec->delivery_field, DELIVERY_FIELDS,
                   &spec->n_delivery_fields, "delivery_fields") < 0)
        return -1;
    if (spec->n_delivery_fields != DELIVERY_FIELDS) return fail("delivery_fields");
    /* families: connector, sync, link, in this order (the fold's own). */
    if (spec->n_families != 3 || PyUnicode_CompareWithASCIIString(spec->family_obj[0], "connector") ||
        PyUnicode_CompareWithASCIIString(spec->family_obj[1], "sync") ||
        PyUnicode_CompareWithASCIIString(spec->family_obj[2], "external_reference"))
        return fail("families are not connector, sync, external_reference");
    PyObject *transitions = item(d, "transitions");
    if (!transitions || !PyDict_Check(transitions)) return fail("transitions");
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(transitions, &pos, &key, &value)) {
        int current = -1;
        if (PyUnicode_Check(key) && PyUnicode_GET_LENGTH(key) == 0) {
            current = -1;
        } else if ((current = name_index(spec->state_obj, spec->n_states, key)) < 0) {
            return fail("a transition from no state");
        }
        if (!PyList_Check(value)) return fail("transitions");
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
            int target = name_index(spec->state_obj, spec->n_states, PyList_GET_ITEM(value, i));
            if (target < 0) return fail("a transition to no state");
            spec->allowed[current + 1][target] = 1;
        }
    }
    PyObject *obs = item(d, "observations");
    if (!obs || !PyList_Check(obs)) return fail("observations");
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(obs); i++) {
        int s = name_index(spec->state_obj, spec->n_states, PyList_GET_ITEM(obs, i));
        if (s < 0) return fail("an observation of no state");
        spec->observation[s] = 1;
    }
    if ((spec->state_healthy = name_index(spec->state_obj, spec->n_states, item(d, "healthy_state"))) < 0 ||
        (spec->state_reconnected =
             name_index(spec->state_obj, spec->n_states, item(d, "reconnected_state"))) < 0)
        return fail("healthy_state or reconnected_state");
    PyObject *terminal = item(d, "terminal_outcomes");
    if (!terminal || !PyList_Check(terminal)) return fail("terminal_outcomes");
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(terminal); i++) {
        int o = name_index(spec->outcome_obj, spec->n_outcomes, PyList_GET_ITEM(terminal, i));
        if (o < 0) return fail("a terminal outcome that is no outcome");
        spec->terminal[o] = 1;
    }
    if ((spec->outcome_retry = name_index(spec->outcome_obj, spec->n_outcomes, item(d, "retry_outcome"))) < 0 ||
        (spec->outcome_replay = name_index(spec->outcome_obj, spec->n_outcomes, item(d, "replay_outcome"))) < 0)
        return fail("retry_outcome or replay_outcome");
    if (spec->terminal[spec->outcome_retry] || spec->terminal[spec->outcome_replay])
        return fail("a terminal retry or replay");
    PyObject *env = item(d, "envelope");
    if (!env) return -1;
    if (load_fields(env, &spec->env, &spec->n_env, &spec->env_required, 0, -1, checks,
                    make_check) < 0)
        return -1;
    for (int r = 0; r < R_COUNT; r++) spec->env_role[r] = -1;
    for (int i = 0; i < spec->n_env; i++)
        if (spec->env[i].role != R_NONE) spec->env_role[spec->env[i].role] = i;
    static const struct {
        int role, kind;
    } ENV_KIND[] = {{R_EVENT_ID, K_EVENT_ID}, {R_EVENT_TYPE, K_STR}, {R_TIMESTAMP, K_DATETIME},
                    {R_LAMPORT, K_INT}, {R_PAYLOAD, K_OBJECT}};
    spec->env_record_mask = 0;
    for (size_t i = 0; i < sizeof(ENV_KIND) / sizeof(ENV_KIND[0]); i++) {
        int f = spec->env_role[ENV_KIND[i].role];
        if (f < 0 || spec->env[f].kind != ENV_KIND[i].kind || spec->env[f].optional ||
            spec->env[f].nullable)
            return fail("the envelope lacks event_id, event_type, timestamp, lamport_clock or payload");
        spec->env_record_mask |= (uint64_t)1 << f;
    }
    if (spec->env[spec->env_role[R_LAMPORT]].lo < 0) return fail("a negative lamport_clock");
    PyObject *types = item(d, "event_types");
    if (!types || !PyList_Check(types)) return fail("event_types");
    if (PyList_GET_SIZE(types) > MAX_TYPES) return fail("too many event types");
    spec->types = calloc(PyList_GET_SIZE(types) ? (size_t)PyList_GET_SIZE(types) : 1,
                         sizeof(etype_t));
    if (!spec->types) {
        PyErr_NoMemory();
        return -1;
    }
    PyObject *budget = item(d, "budget_rules");
    if (!budget || !PyList_Check(budget)) return fail("budget_rules");
    spec->link_type = -1;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(types); i++) {
        etype_t *t = &spec->types[i];
        spec->n_types = (int)i + 1;
        if (load_type(spec, PyList_GET_ITEM(types, i), t, checks, make_check) < 0) return -1;
        if (t->family == F_LINK && spec->link_type < 0) spec->link_type = (int)i;
        for (int r = 0; r < t->n_rules; r++) {
            int found = PySequence_Contains(budget, t->rule_code[r]);
            if (found < 0) return -1;
            t->rule_budget[r] = found;
            if (found && t->family != F_SYNC) return fail("a budget rule outside the sync family");
        }
        int h = t->role_field[R_HEALTH];
        if (h >= 0) {
            PyObject *targets = item(d, "health_targets");
            if (!targets || !PyDict_Check(targets)) return fail("health_targets");
            for (int v = 0; v < t->fields[h].n_enum; v++) {
                PyObject *state = PyDict_GetItem(targets, t->fields[h].enum_obj[v]);
                int s = state ? name_index(spec->state_obj, spec->n_states, state) : -1;
                if (s < 0) return fail("a health status that targets no state");
                spec->health_target[v] = s;
            }
        }
        if (spec_type_index(spec, t->name, t->name_len) != (int)i)
            return fail("an event type appears twice");
    }
    return 0;
}

static void
free_fields(field_t *fields, int n)
{
    if (!fields) return;
    for (int i = 0; i < n; i++) {
        field_t *f = &fields[i];
        free(f->name);
        Py_CLEAR(f->check);
        Py_CLEAR(f->key_obj);
        Py_CLEAR(f->uuid_int);
        Py_CLEAR(f->role_obj);
        for (int k = 0; k < f->n_enum; k++) {
            free(f->enum_v[k]);
            Py_CLEAR(f->enum_obj[k]);
        }
    }
    free(fields);
}

/* Copies of n fields (each owning its strings and references, its caches
   empty), or NULL with MemoryError. */
static field_t *
clone_fields(const field_t *from, int n)
{
    field_t *out = calloc(n ? (size_t)n : 1, sizeof(field_t));
    if (!out) {
        PyErr_NoMemory();
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        const field_t *a = &from[i];
        field_t *f = &out[i];
        *f = *a;
        f->name = NULL;
        f->n_enum = 0;
        f->key_obj = NULL;
        f->uuid_int = NULL;
        f->last_id = NONE_U32;
        f->uuid_raw_n = 0;
        Py_XINCREF(f->check);
        Py_XINCREF(f->role_obj);
        f->name = malloc((size_t)a->name_len + 1);
        if (!f->name) goto fail;
        memcpy(f->name, a->name, (size_t)a->name_len + 1);
        for (int k = 0; k < a->n_enum; k++) {
            f->enum_v[k] = malloc((size_t)a->enum_len[k] + 1);
            if (!f->enum_v[k]) goto fail;
            memcpy(f->enum_v[k], a->enum_v[k], (size_t)a->enum_len[k] + 1);
            f->enum_obj[k] = Py_NewRef(a->enum_obj[k]);
            f->n_enum = k + 1;
        }
    }
    return out;
fail:
    PyErr_NoMemory();
    free_fields(out, n); /* every field is whole or holds only what it counts */
    return NULL;
}

int
spec_clone(spec_t *spec, const spec_t *from)
{
    *spec = *from;
    /* Nothing below is owned until copied: spec_free of a clone cut short
       frees what was copied. */
    spec->env = NULL;
    spec->types = NULL;
    spec->n_env = spec->n_types = 0;
    spec->n_states = spec->n_outcomes = spec->n_families = spec->n_delivery_fields = 0;
    for (int i = 0; i < from->n_states; i++) {
        spec->state_obj[i] = Py_NewRef(from->state_obj[i]);
        spec->state_member[i] = Py_NewRef(from->state_member[i]);
        spec->n_states = i + 1;
    }
    for (int i = 0; i < from->n_outcomes; i++) {
        spec->outcome_obj[i] = Py_NewRef(from->outcome_obj[i]);
        spec->outcome_member[i] = Py_NewRef(from->outcome_member[i]);
        spec->n_outcomes = i + 1;
    }
    for (int i = 0; i < from->n_families; i++) {
        spec->family_obj[i] = Py_NewRef(from->family_obj[i]);
        spec->n_families = i + 1;
    }
    for (int i = 0; i < from->n_delivery_fields; i++) {
        spec->delivery_field[i] = Py_NewRef(from->delivery_field[i]);
        spec->n_delivery_fields = i + 1;
    }
    if (!(spec->env = clone_fields(from->env, from->n_env))) return -1;
    spec->n_env = from->n_env;
    spec->types = calloc(from->n_types ? (size_t)from->n_types : 1, sizeof(etype_t));
    if (!spec->types) {
        PyErr_NoMemory();
        return -1;
    }
    for (int i = 0; i < from->n_types; i++) {
        const etype_t *a = &from->types[i];
        etype_t *t = &spec->types[i];
        *t = *a;
        t->name = NULL;
        t->fields = NULL;
        t->n_fields = 0;
        t->n_rules = 0;
        t->name_obj = Py_NewRef(a->name_obj);
        spec->n_types = i + 1;
        t->name = malloc((size_t)a->name_len + 1);
        if (!t->name) {
            PyErr_NoMemory();
            return -1;
        }
        memcpy(t->name, a->name, (size_t)a->name_len + 1);
        for (int r = 0; r < a->n_rules; r++) {
            t->rule_code[r] = Py_NewRef(a->rule_code[r]);
            t->n_rules = r + 1;
        }
        if (!(t->fields = clone_fields(a->fields, a->n_fields))) return -1;
        t->n_fields = a->n_fields;
    }
    return 0;
}

void
spec_free(spec_t *spec)
{
    free_fields(spec->env, spec->n_env);
    for (int i = 0; spec->types && i < spec->n_types; i++) {
        etype_t *t = &spec->types[i];
        free(t->name);
        Py_CLEAR(t->name_obj);
        free_fields(t->fields, t->n_fields);
        for (int r = 0; r < t->n_rules; r++) Py_CLEAR(t->rule_code[r]);
    }
    free(spec->types);
    for (int i = 0; i < spec->n_states; i++) {
        Py_CLEAR(spec->state_obj[i]);
        Py_CLEAR(spec->state_member[i]);
    }
    for (int i = 0; i < spec->n_outcomes; i++) {
        Py_CLEAR(spec->outcome_obj[i]);
        Py_CLEAR(spec->outcome_member[i]);
    }
    for (int i = 0; i < spec->n_families; i++) Py_CLEAR(spec->family_obj[i]);
    for (int i = 0; i < spec->n_delivery_fields; i++) Py_CLEAR(spec->delivery_field[i]);
    memset(spec, 0, sizeof(*spec));
}
