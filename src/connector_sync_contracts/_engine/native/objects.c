/*
 * Mappings and Events read with the line checks (scan.c), without JSON text,
 * so that replay() of Python objects runs the same rules as a JSON line.
 *
 * Each known field's value goes through the same checks as its JSON value
 * (check_string, the integer and float bounds, finish_event). A value is
 * taken only when it is exactly what JSON would have given: an exact dict,
 * list, tuple, str, int, float, bool or None. Anything else defers the item,
 * which Python then decides with the models, exactly as before:
 *   - a str with lone surrogates, an int outside [-2^63, 2^64 - 1], a NaN or
 *     infinite float, a non-str key, a subclass of any of these types,
 *     nesting deeper than the contract allows;
 *   - datetime and UUID objects, except as the value of a field of that kind
 *     (an Event's timestamp and project_uuid, a payload's recorded_at): a
 *     datetime where a string is expected is an error for the models, while
 *     its text would pass, so only where the models take both alike; and a
 *     datetime whose tzinfo is not a datetime.timezone (its utcoffset would
 *     run Python code in the middle of the read).
 * An item is read in place, running no Python code, so nothing can change
 * it meanwhile. A pattern check that needs Python code (a string it has not
 * seen yet: only schema_version's pattern is not C) makes it read again from
 * private copies of its dicts, kept until its record is made: while that
 * code runs, another thread may change the item, and free what was read.
 * An Event (the exact class given) is read from its instance dictionary,
 * and of its envelope only the fields a record is made of: it was validated
 * when it was made, and Python takes it as it is (its payload is checked).
 * As a line with reports is, an item of an event type the catalogue does not
 * know is kept as an ignored event, and one whose payload breaks a semantic
 * rule is kept with the rules it breaks (replay() reports no problems).
 *
 * Identical items must share an identity, as identical lines share their
 * bytes' hash: everything read is appended to a binary encoding (type tags,
 * lengths, the values' bytes; a known field's key as its index) whose keyed
 * hash is the item's identity. Items
 * equal as JSON but written differently (key order, a datetime object and
 * its text) get different identities; settle() then compares them exactly.
 * An identity is needed only when a second copy of an event_id arrives, so
 * scan_objects reads without encoding and object_ident() reads the item
 * again, encoding it, when the store first compares it.
 *
 * A dict key is known again by identity: each field holds the last str
 * object that named it (an Event's keys are the same objects in every
 * instance), so most keys cost one pointer comparison.
 *
 * instances() makes the result models (models/results.py) in one call.
 */
#include "csc.h"

#include <datetime.h>
#include <math.h>

static PyObject *uuid_type;    /* uuid.UUID, looked up once */
static PyObject *int_name;     /* "int" */
static PyObject *empty_args;   /* () */
static PyObject *dict_name, *fields_set_name, *extra_name, *private_name;
static PyTypeObject *enum_type; /* enum.Enum */

int
objects_init(void)
{
    PyDateTime_IMPORT;
    if (!PyDateTimeAPI) return -1;
    PyObject *uuid = PyImport_ImportModule("uuid");
    if (!uuid) return -1;
    uuid_type = PyObject_GetAttrString(uuid, "UUID");
    Py_DECREF(uuid);
    PyObject *enum_module = PyImport_ImportModule("enum");
    if (!enum_module) return -1;
    enum_type = (PyTypeObject *)PyObject_GetAttrString(enum_module, "Enum");
    Py_DECREF(enum_module);
    if (enum_type && !PyType_Check(enum_type)) {
        PyErr_SetString(PyExc_TypeError, "enum.Enum is not a class");
        return -1;
    }
    int_name = PyUnicode_InternFromString("int");
    empty_args = PyTuple_New(0);
    dict_name = PyUnicode_InternFromString("__dict__");
    fields_set_name = PyUnicode_InternFromString("__pydantic_fields_set__");
    extra_name = PyUnicode_InternFromString("__pydantic_extra__");
    private_name = PyUnicode_InternFromString("__pydantic_private__");
    return uuid_type && enum_type && int_name && empty_args && dict_name && fields_set_name &&
                   extra_name && private_name
               ? 0
               : -1;
}

void
split_instant(int64_t us, int *y, int *m, int *d, int *sod, int *micro)
{
    int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    *micro = (int)(us - secs * 1000000);
    *sod = (int)(secs - days * 86400);
    civil_from_days(days, y, m, d);
}

/* The aware UTC datetime of an instant in microseconds. */
PyObject *
utc_datetime(int64_t us)
{
    int y, m, d, sod, micro;
    split_instant(us, &y, &m, &d, &sod, &micro);
    return PyDateTimeAPI->DateTime_FromDateAndTime(y, m, d, sod / 3600, sod / 60 % 60, sod % 60,
                                                   micro, PyDateTime_TimeZone_UTC,
                                                   PyDateTimeAPI->DateTimeType);
}

/* ------------------------------------------------------------------ result models */

/* Results hold hundreds of thousands of small containers (log entries,
   deliveries). The cyclic garbage collector only needs to track a container
   that can be part of a reference cycle; the first collection after a
   replay would otherwise visit every one of them. A container whose
   contents are all leaves is untracked, the rule CPython applies to tuples
   and dicts itself (at its next collection; here, at once). A leaf is an
   object the collector does not track (str, int, float, None, datetime, an
   untracked container) or an enum member, which refers only to its class
   and its own attributes, never to a result. Untracking changes nothing but
   the collector's work: reference counting frees everything as before. */
static int
leaf(PyObject *v)
{
    return !PyObject_GC_IsTracked(v) || PyObject_TypeCheck(v, enum_type);
}

void
untrack_leaf_tuple(PyObject *t)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(t); i++)
        if (!leaf(PyTuple_GET_ITEM(t, i))) return;
    PyObject_GC_UnTrack(t);
}

static int
leaf_dict(PyObject *d)
{
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(d, &pos, &key, &value))
        if (!leaf(key) || !leaf(value)) return 0;
    return 1;
}

/* The object a type's MRO gives for name, as PyObject_GenericSetAttr finds
   it (borrowed; NULL with no error: none). */
static PyObject *
mro_lookup(PyTypeObject *cls, PyObject *name)
{
    PyObject *mro = cls->tp_mro;
    if (!mro || !PyTuple_Check(mro)) return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); i++) {
        PyObject *base = PyTuple_GET_ITEM(mro, i);
        PyObject *dict = PyType_Check(base) ? ((PyTypeObject *)base)->tp_dict : NULL;
        if (!dict) continue;
        PyObject *found = PyDict_GetItemWithError(dict, name);
        if (found || PyErr_Occurred()) return found;
    }
    return NULL;
}

int
maker_init(maker_t *m, PyTypeObject *cls)
{
    PyObject *names[3] = {fields_set_name, extra_name, private_name};
    maker_clear(m);
    if (!cls->tp_new) {
        PyErr_SetString(PyExc_TypeError, "a result model class must be instantiable");
        return -1;
    }
    m->cls = (PyTypeObject *)Py_NewRef(cls);
    for (int k = 0; k < 3; k++) {
        PyObject *found = mro_lookup(cls, names[k]);
        if (PyErr_Occurred()) {
            maker_clear(m);
            return -1;
        }
        /* A data descriptor (pydantic's slots): what setattr would call. */
        if (found && Py_TYPE(found)->tp_descr_set) m->slot[k] = Py_NewRef(found);
    }
    return 0;
}

void
maker_clear(maker_t *m)
{
    Py_CLEAR(m->cls);
    for (int k = 0; k < 3; k++) Py_CLEAR(m->slot[k]);
}

static int
set_slot(const maker_t *m, int k, PyObject *name, PyObject *obj, PyObject *value)
{
    if (m->slot[k]) return Py_TYPE(m->slot[k])->tp_descr_set(m->slot[k], obj, value);
    return PyObject_GenericSetAttr(obj, name, value);
}

/* One model of m's class whose instance dictionary is d itself, made without
   validation, as models/results.py's _made makes it in Python: the fields set
   are d's keys, no extra, no private attributes. Attributes are set as
   object.__setattr__ sets them, past the model's frozen __setattr__.
   A model of leaves only is untracked, with its dictionary and fields set:
   besides them it refers to its class and None. */
PyObject *
maker_make(const maker_t *m, PyObject *d, PyObject *keys)
{
    PyObject *obj = m->cls->tp_new(m->cls, empty_args, NULL);
    if (!obj) return NULL;
    PyObject *fields = PySet_New(keys ? keys : d);
    if (!fields || PyObject_GenericSetDict(obj, d, NULL) < 0 ||
        set_slot(m, 0, fields_set_name, obj, fields) < 0 ||
        set_slot(m, 1, extra_name, obj, Py_None) < 0 ||
        set_slot(m, 2, private_name, obj, Py_None) < 0) {
        Py_XDECREF(fields);
        Py_DECREF(obj);
        return NULL;
    }
    /* A dict the collector does not track holds only objects it does not
       track (CPython tracks a dict once it holds one; this module untracks
       one only after leaf_dict): leaves, without a look at each. */
    if (keys || !PyObject_GC_IsTracked(d) || leaf_dict(d)) {
        PyObject_GC_UnTrack(d);
        PyObject_GC_UnTrack(fields);  /* the keys of d: leaves */
        PyObject_GC_UnTrack(obj);
    }
    Py_DECREF(fields);
    return obj;
}

PyObject *
instances(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *cls, *dicts;
    if (!PyArg_ParseTuple(args, "O!O", &PyType_Type, &cls, &dicts)) return NULL;
    maker_t m = {0};
    if (maker_init(&m, (PyTypeObject *)cls) < 0) return NULL;
    PyObject *out = NULL;
    PyObject *seq = PySequence_Fast(dicts, "instances() takes a sequence of dicts");
    if (!seq) goto fail;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    out = PyTuple_New(n);
    if (!out) goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *d = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyDict_CheckExact(d)) {
            PyErr_SetString(PyExc_TypeError, "instances() takes a sequence of dicts");
            goto fail;
        }
        PyObject *obj = maker_make(&m, d, NULL);
        if (!obj) goto fail;
        PyTuple_SET_ITEM(out, i, obj);
    }
    untrack_leaf_tuple(out);
    Py_DECREF(seq);
    maker_clear(&m);
    return out;
fail:
    Py_XDECREF(out);
    Py_XDECREF(seq);
    maker_clear(&m);
    return NULL;
}

/* ------------------------------------------------------------------ the encoding */

/* Every token is a tag byte and what that tag says follows: a fixed-size
   value, or a varint length (LEB128) and that many bytes. Each tag byte
   names one kind of token (true and false are T and F, a float's 9 bytes
   begin with f), so the encoding is prefix-free, and two items share it
   only if they hold the same values in the same order. A known field's key
   is its index in the spec. A NULL buffer encodes nothing: the item is only
   read and checked. */

static inline int
enc_put(buf_t *b, const void *p, size_t n)
{
    if (!b) return 0;
    if (buf_room(b, n) < 0) return -1;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* A tag and a fixed 8-byte value. */
static inline int
enc_tag(buf_t *b, char tag, uint64_t n)
{
    if (!b) return 0;
    if (buf_room(b, 9) < 0) return -1;
    b->data[b->len] = tag;
    memcpy(b->data + b->len + 1, &n, 8);
    b->len += 9;
    return 0;
}

/* A tag and a varint (a length or a count). */
static inline int
enc_len(buf_t *b, char tag, uint64_t n)
{
    if (!b) return 0;
    if (buf_room(b, 11) < 0) return -1;
    char *p = b->data + b->len;
    *p++ = tag;
    while (n >= 0x80) {
        *p++ = (char)(0x80 | (n & 0x7F));
        n >>= 7;
    }
    *p++ = (char)n;
    b->len = (size_t)(p - b->data);
    return 0;
}

/* A tag alone (null, true, false). */
static inline int
enc_mark(buf_t *b, char tag)
{
    return enc_put(b, &tag, 1);
}

static inline int
enc_bytes(buf_t *b, char tag, const char *s, Py_ssize_t n)
{
    return enc_len(b, tag, (uint64_t)n) < 0 || enc_put(b, s, (size_t)n) < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ values */

/* A str as UTF-8: 1, 0 (lone surrogates: defer), -1 error. */
static int
utf8(PyObject *v, jstr_t *out)
{
    if (PyUnicode_IS_COMPACT_ASCII(v)) {
        /* Most keys and values: their characters are their UTF-8 bytes. */
        out->s = PyUnicode_DATA(v);
        out->n = out->chars = PyUnicode_GET_LENGTH(v);
        out->ascii = 1;
        return 1;
    }
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(v, &n);
    if (!s) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return -1;
        PyErr_Clear();
        return 0;
    }
    out->s = s;
    out->n = n;
    out->chars = PyUnicode_GET_LENGTH(v);
    out->ascii = out->chars == n;
    return 1;
}

/* An exact int within the JSON input range, encoded: 1, 0 (out of range), -1. */
static int
read_int(PyObject *v, int64_t *iv, int *big, buf_t *enc)
{
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (x == -1 && PyErr_Occurred()) return -1;
    *big = 0;
    if (overflow < 0) return 0;
    if (overflow > 0) {
        unsigned long long u = PyLong_AsUnsignedLongLong(v);
        if (u == (unsigned long long)-1 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError)) return -1;
            PyErr_Clear();
            return 0;
        }
        *big = 1;
        return enc_tag(enc, 'u', u) < 0 ? -1 : 1;
    }
    *iv = x;
    return enc_tag(enc, 'i', (uint64_t)x) < 0 ? -1 : 1;
}

static int
read_float(PyObject *v, double *out, buf_t *enc)
{
    double d = PyFloat_AS_DOUBLE(v);
    if (!isfinite(d)) return 0;
    uint64_t bits;
    memcpy(&bits, &d, 8);
    *out = d;
    return enc_tag(enc, 'f', bits) < 0 ? -1 : 1;
}

/* Any value under the input limits (unknown fields, objects the contract
   does not describe); depth: the nesting of its parent. */
static int
walk_any(Scanner *self, PyObject *v, int depth, buf_t *enc)
{
    if (v == Py_None) return enc_mark(enc, 'n') < 0 ? -1 : 1;
    if (v == Py_True || v == Py_False) return enc_mark(enc, v == Py_True ? 'T' : 'F') < 0 ? -1 : 1;
    if (PyUnicode_CheckExact(v)) {
        jstr_t s;
        int ok = utf8(v, &s);
        if (ok <= 0) return ok;
        return enc_bytes(enc, 's', s.s, s.n) < 0 ? -1 : 1;
    }
    if (PyLong_CheckExact(v)) {
        int64_t iv;
        int big;
        return read_int(v, &iv, &big, enc);
    }
    if (PyFloat_CheckExact(v)) {
        double d;
        return read_float(v, &d, enc);
    }
    int is_dict = PyDict_CheckExact(v);
    if (!is_dict && !PyList_CheckExact(v) && !PyTuple_CheckExact(v)) return 0;
    if (depth + 1 > self->spec.max_depth) return 0;
    if (is_dict) {
        if (enc_len(enc, '{', (uint64_t)PyDict_GET_SIZE(v)) < 0) return -1;
        Py_ssize_t pos = 0;
        PyObject *k, *item;
        while (PyDict_Next(v, &pos, &k, &item)) {
            if (!PyUnicode_CheckExact(k)) return 0;
            jstr_t ks;
            int ok = utf8(k, &ks);
            if (ok <= 0) return ok;
            if (enc_bytes(enc, 'k', ks.s, ks.n) < 0) return -1;
            ok = walk_any(self, item, depth + 1, enc);
            if (ok <= 0) return ok;
        }
        return 1;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(v);
    PyObject **items = PySequence_Fast_ITEMS(v);
    if (enc_len(enc, '[', (uint64_t)n) < 0) return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        int ok = walk_any(self, items[i], depth + 1, enc);
        if (ok <= 0) return ok;
    }
    return 1;
}

/* An aware datetime object as microseconds since the epoch, and its UTC
   offset in seconds: 1, 0, -1. Only a datetime.timezone offset is read: any
   other tzinfo's utcoffset is Python code, which could change or free what
   is being read (the item's dicts, the strings read in place) or call the
   scanner again, so its datetime is left to the models. */
static int
datetime_object(PyObject *v, int64_t *out, int64_t *offset_out)
{
    PyObject *tz = PyDateTime_DATE_GET_TZINFO(v);
    int64_t offset = 0;
    if (tz == Py_None) return 0; /* naive: the models reject it */
    if (!Py_IS_TYPE(tz, Py_TYPE(PyDateTime_TimeZone_UTC))) return 0;
    if (tz != PyDateTime_TimeZone_UTC) {
        PyObject *delta = PyObject_CallMethod(v, "utcoffset", NULL);
        if (!delta) return -1;
        if (!PyDelta_Check(delta)) {
            Py_DECREF(delta);
            return 0;
        }
        offset = (int64_t)PyDateTime_DELTA_GET_DAYS(delta) * 86400 +
                 PyDateTime_DELTA_GET_SECONDS(delta);
        int micro = PyDateTime_DELTA_GET_MICROSECONDS(delta);
        Py_DECREF(delta);
        if (micro || offset % 60) return 0; /* RFC 3339 offsets are whole minutes: the models
                                                 say so */
    }
    int64_t secs = days_from_civil(PyDateTime_GET_YEAR(v), PyDateTime_GET_MONTH(v),
                                   PyDateTime_GET_DAY(v)) * 86400 +
                   PyDateTime_DATE_GET_HOUR(v) * 3600 + PyDateTime_DATE_GET_MINUTE(v) * 60 +
                   PyDateTime_DATE_GET_SECOND(v) - offset;
    /* Within years 0001-9999 once normalized to UTC, as for a string. */
    static const int64_t first = -62135596800LL; /* 0001-01-01T00:00:00Z */
    static const int64_t last = 253402300799LL;  /* 9999-12-31T23:59:59Z */
    if (secs < first || secs > last) return 0;
    *out = secs * 1000000 + PyDateTime_DATE_GET_MICROSECOND(v);
    *offset_out = offset;
    return 1;
}

/* A uuid.UUID's 32 lower-case hex digits, from its 128-bit int: 1, 0, -1.
   The field remembers the last int and its digits (one UUID per project). */
static int
uuid_object_hex(field_t *f, PyObject *v, char out[32])
{
    static const char hex[] = "0123456789abcdef";
    PyObject *value = PyObject_GetAttr(v, int_name);
    if (!value) return -1;
    if (!PyLong_CheckExact(value)) {
        Py_DECREF(value);
        return 0;
    }
    if (f->uuid_int) {
        int same_int = PyObject_RichCompareBool(value, f->uuid_int, Py_EQ);
        if (same_int < 0) {
            Py_DECREF(value);
            return -1;
        }
        if (same_int) {
            Py_DECREF(value);
            memcpy(out, f->uuid_int_hex, 32);
            return 1;
        }
    }
    uint64_t low = (uint64_t)PyLong_AsUnsignedLongLongMask(value);
    PyObject *shift = PyLong_FromLong(64);
    PyObject *upper = shift ? PyNumber_Rshift(value, shift) : NULL;
    Py_XDECREF(shift);
    if (!upper) {
        Py_DECREF(value);
        return -1;
    }
    unsigned long long high = PyLong_AsUnsignedLongLong(upper);
    Py_DECREF(upper);
    if (high == (unsigned long long)-1 && PyErr_Occurred()) {
        Py_DECREF(value);
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) return -1;
        PyErr_Clear();
        return 0; /* not a 128-bit value */
    }
    for (int i = 0; i < 16; i++) {
        out[15 - i] = hex[(high >> (4 * i)) & 15];
        out[31 - i] = hex[(low >> (4 * i)) & 15];
    }
    Py_XSETREF(f->uuid_int, value);
    memcpy(f->uuid_int_hex, out, 32);
    return 1;
}

/* A known field's value, checked as its JSON value would be: 1, 0, -1. */
static int
read_field(Scanner *self, field_t *f, PyObject *v, value_t *out, int depth, buf_t *enc)
{
    out->present = 1;
    out->is_null = 0;
    out->id = NONE_U32;
    if (v == Py_None) {
        if (!f->nullable) return 0;
        out->is_null = 1;
        return enc_mark(enc, 'n') < 0 ? -1 : 1;
    }
    switch (f->kind) {
    case K_INT: {
        int big;
        if (!PyLong_CheckExact(v)) return 0;
        int ok = read_int(v, &out->i, &big, enc);
        if (ok <= 0) return ok;
        return !big && out->i >= f->lo && out->i <= f->hi;
    }
    case K_FLOAT: {
        if (PyFloat_CheckExact(v)) {
            int ok = read_float(v, &out->f, enc);
            if (ok <= 0) return ok;
        } else if (PyLong_CheckExact(v)) {
            int64_t iv;
            int big, ok = read_int(v, &iv, &big, enc);
            if (ok <= 0) return ok;
            out->f = big ? (double)PyLong_AsUnsignedLongLong(v) : (double)iv;
        } else {
            return 0;
        }
        return !f->has_flo || out->f >= f->flo;
    }
    case K_BOOL:
        if (v != Py_True && v != Py_False) return 0;
        out->i = v == Py_True;
        return enc_mark(enc, v == Py_True ? 'T' : 'F') < 0 ? -1 : 1;
    case K_DEFER:
        return 0;
    case K_OBJECT:
        if (!PyDict_CheckExact(v)) return 0;
        return walk_any(self, v, depth, enc);
    case K_DATETIME:
        if (PyDateTime_CheckExact(v)) {
            int64_t offset;
            int ok = datetime_object(v, &out->i, &offset);
            if (ok <= 0) return ok;
            /* Its offset too: the canonical JSON writes a payload's datetime with
               it, so one instant at two offsets is two contents (an envelope's
               timestamp is written as its instant: settle() finds those equal). */
            if (enc_tag(enc, 'd', (uint64_t)out->i) < 0) return -1;
            return enc_tag(enc, 'z', (uint64_t)offset) < 0 ? -1 : 1;
        }
        break;
    case K_UUID:
        if (uuid_type && Py_IS_TYPE(v, (PyTypeObject *)uuid_type)) {
            int ok = uuid_object_hex(f, v, out->norm);
            if (ok <= 0) return ok;
            out->norm_len = 32;
            return enc_bytes(enc, 'U', out->norm, 32) < 0 ? -1 : 1;
        }
        break;
    default:
        break;
    }
    if (!PyUnicode_CheckExact(v)) return 0;
    int ok = utf8(v, &out->str);
    if (ok <= 0) return ok;
    if (enc_bytes(enc, 's', out->str.s, out->str.n) < 0) return -1;
    return check_string(self, f, out);
}

/* The field whose key object seen last is k, or -1: a pointer compare per
   field, cheaper than reading the key's text when keys come in any order. */
static inline int
find_key_object(const field_t *fields, int n, PyObject *k)
{
    for (int i = 0; i < n; i++)
        if (fields[i].key_obj == k) return i;
    return -1;
}

/* The members of an object (the envelope, or a payload of a known type).
   The values of the known fields in `unread` are not read, only seen. */
static int
read_members(Scanner *self, PyObject *d, field_t *fields, int n, value_t *vals, uint64_t *seen,
             uint64_t unread, int depth, int *unknown, PyObject **payload, buf_t *enc)
{
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    int hint = 0;
    if (enc_len(enc, '{', (uint64_t)PyDict_GET_SIZE(d)) < 0) return -1;
    while (PyDict_Next(d, &pos, &k, &v)) {
        int i, ok;
        if (hint < n && fields[hint].key_obj == k) {
            i = hint; /* the very key object seen last time for this field */
        } else if ((i = find_key_object(fields, n, k)) >= 0) {
            /* the same, in another order (producers need not keep one) */
        } else {
            if (!PyUnicode_CheckExact(k)) return 0;
            jstr_t ks;
            ok = utf8(k, &ks);
            if (ok <= 0) return ok;
            i = find_field(fields, n, hint, ks.s, ks.n);
            if (i < 0) {
                if (enc_bytes(enc, 'k', ks.s, ks.n) < 0) return -1;
                *unknown = 1;
                ok = walk_any(self, v, depth, enc);
                if (ok <= 0) return ok;
                continue;
            }
            PyObject *old = fields[i].key_obj;
            Py_INCREF(k);
            fields[i].key_obj = k;
            Py_XDECREF(old);
        }
        if (enc_len(enc, 'K', (uint64_t)i) < 0) return -1;
        *seen |= (uint64_t)1 << i;
        hint = i + 1;
        if (unread & ((uint64_t)1 << i)) continue;
        if (payload && fields[i].role == R_PAYLOAD) {
            /* Read once event_type is known. */
            if (!PyDict_CheckExact(v)) return 0;
            *payload = v;
            vals[i].present = 1;
            vals[i].is_null = 0;
            ok = 1;
        } else {
            ok = read_field(self, &fields[i], v, &vals[i], depth, enc);
        }
        if (ok <= 0) return ok;
    }
    return 1;
}

/* Whether an Event holds, in the fields its record is made of, what validating
   it made: its event_id in normal form, its timestamp a datetime. An Event
   made with model_construct may hold anything; such a one is left to Python,
   which folds it as it is, as the pure-Python engine does. */
static int
as_validated(const spec_t *spec, PyObject *d, const parsed_t *out)
{
    const value_t *id = &out->env[spec->env_role[R_EVENT_ID]];
    if (id->norm_len != id->str.n || memcmp(id->norm, id->str.s, (size_t)id->str.n) != 0)
        return 0;
    PyObject *key = spec->env[spec->env_role[R_TIMESTAMP]].key_obj;
    PyObject *stamp = key ? PyDict_GetItemWithError(d, key) : NULL;
    return stamp && PyDateTime_CheckExact(stamp);
}

/* scan_object, reading the item in place, or (copies) from private copies
   of its envelope's dict and its payload's, handed to the caller in *held. */
static int
read_object(Scanner *self, PyObject *item, PyObject *event_type, int reports, parsed_t *out,
            buf_t *enc, PyObject **held, int copies)
{
    *held = NULL;
    spec_t *spec = &self->spec;
    if (enc) enc->len = 0;
    out->unknown = 0;
    out->uuid_mismatch = 0;
    out->broken = 0;
    PyObject *d;
    uint64_t unread = 0;
    int event = event_type != Py_None && Py_IS_TYPE(item, (PyTypeObject *)event_type);
    if (event) {
        /* An Event: its fields are its instance dictionary. Its envelope was
           validated when it was made, and Python takes it as it is
           (reducing/api.py: admit_envelope), so only the fields its record
           needs are read; an identity (enc) reads them all. */
        d = PyObject_GenericGetDict(item, NULL);
        if (!d) return -1;
        if (!enc) unread = ~spec->env_record_mask;
    } else {
        d = Py_NewRef(item);
    }
    int rc = 0;
    PyObject *payload = NULL;
    if (!PyDict_CheckExact(d)) goto done;
    if (copies) {
        Py_SETREF(d, PyDict_Copy(d));
        if (!d) return -1;
    }
    clear_values(out->env, spec->n_env);
    uint64_t seen = 0;
    rc = read_members(self, d, spec->env, spec->n_env, out->env, &seen, unread, 1, &out->unknown,
                      &payload, enc);
    if (rc <= 0) goto done;
    rc = 0;
    if ((seen & spec->env_required) != spec->env_required || !payload) goto done;
    if (event && !as_validated(spec, d, out)) {
        if (PyErr_Occurred()) rc = -1;
        goto done;
    }
    if (copies) { /* the payload's copy replaces it in the envelope's (the same key) */
        PyObject *own = PyDict_Copy(payload);
        if (!own) {
            rc = -1;
            goto done;
        }
        int set = PyDict_SetItem(d, spec->env[spec->env_role[R_PAYLOAD]].key_obj, own);
        payload = own;
        Py_DECREF(own); /* d holds it */
        if (set < 0) {
            rc = -1;
            goto done;
        }
    }
    value_t *tv = &out->env[spec->env_role[R_EVENT_TYPE]];
    if (tv->str.chars < 1) goto done;
    int t = spec_type_index(spec, tv->str.s, tv->str.n);
    if (t < 0) {
        /* An event type the catalogue does not know (another family, a newer
           type): an ignored event, its payload any object under the input
           limits, as the line scan takes it (finish_event with reports). */
        Py_INCREF(payload);
        rc = walk_any(self, payload, 1, enc);
        Py_DECREF(payload);
        if (rc <= 0) goto done;
        rc = finish_event(self, out, t, 0, 0, reports);
        goto done;
    }
    etype_t *et = &spec->types[t];
    clear_values(out->pay, et->n_fields);
    uint64_t pseen = 0;
    Py_INCREF(payload);
    rc = read_members(self, payload, et->fields, et->n_fields, out->pay, &pseen, 0, 2,
                      &out->unknown, NULL, enc);
    Py_DECREF(payload);
    if (rc <= 0) goto done;
    /* With reports: a payload that breaks a semantic rule is kept with its
       rules broken; the fold records its anomaly, as for a line. */
    rc = finish_event(self, out, t, pseen, 0, reports);
done:
    *held = d;
    return rc;
}

int
scan_object(Scanner *self, PyObject *item, PyObject *event_type, int reports, parsed_t *out,
            buf_t *enc, PyObject **held)
{
    /* In place, no Python code runs: nothing can change the item meanwhile. */
    self->in_place = 1;
    self->python_wanted = 0;
    int rc = read_object(self, item, event_type, reports, out, enc, held, 0);
    self->in_place = 0;
    if (rc == 0 && self->python_wanted) {
        Py_CLEAR(*held);
        rc = read_object(self, item, event_type, reports, out, enc, held, 1);
    }
    return rc;
}

/* ------------------------------------------------------------------ reading ahead */

/* A list of Events or mappings is read at the speed of memory: an item's
   fields are some twenty objects wherever the allocator put them, and
   reading them one after the other waits for each. The items a few places
   ahead are therefore fetched in stages, each stage reading only what the
   one before brought into the cache: the item; its dict (an Event's
   instance dictionary); that dict's values, the payload dict among them;
   the payload's values. Nothing here decides anything: scan_object reads
   the item as before, whatever the list holds by then. The dicts are held
   (strong references) while ahead, so that Python code run meanwhile (a
   pattern check) cannot free what a later stage walks. */

/* An object's first two cache lines (a short string's text included). */
PREFETCHER
prefetch_object(PyObject *o)
{
    __builtin_prefetch(o, 0);
    __builtin_prefetch((const char *)o + 64, 0);
}

/* The dict whose members scan_object reads first (a new reference), or NULL:
   an Event's instance dictionary, a mapping itself. Never an error. */
static PyObject *
members_of(PyObject *item, PyObject *event_type)
{
    if (PyDict_CheckExact(item)) return Py_NewRef(item);
    if (event_type == Py_None || !Py_IS_TYPE(item, (PyTypeObject *)event_type)) return NULL;
    PyObject *d = PyObject_GenericGetDict(item, NULL);
    if (d && PyDict_CheckExact(d)) return d;
    Py_XDECREF(d);
    PyErr_Clear();
    return NULL;
}

/* Prefetch every value of d; return its first exact dict value (borrowed), if any. */
static PyObject *
prefetch_values(PyObject *d)
{
    Py_ssize_t pos = 0;
    PyObject *k, *v, *inner = NULL;
    while (PyDict_Next(d, &pos, &k, &v)) {
        prefetch_object(v);
        if (!inner && PyDict_CheckExact(v)) inner = v;
    }
    return inner;
}

/* The first lines of d's table of keys and values: a dict's members are kept
   apart from the dict, and PyDict_Next reads them there (a pointer of the
   dict's public struct; nothing of the table's layout is assumed). */
PREFETCHER
prefetch_table(PyObject *d)
{
    const char *table = (const char *)((PyDictObject *)d)->ma_keys;
    for (int line = 0; line < 6; line++) __builtin_prefetch(table + 64 * line, 0);
}

void
ahead_step(ahead_t *a, PyObject *items, PyObject *event_type, Py_ssize_t index, Py_ssize_t stop)
{
    Py_ssize_t size = PyList_GET_SIZE(items);
    if (stop > size) stop = size;
    if (index + 6 < stop) prefetch_object(PyList_GET_ITEM(items, index + 6));
    if (index + 5 < stop) {
        ahead_slot_t *s = &a->slots[(index + 5) % AHEAD_SLOTS];
        Py_XSETREF(s->members, members_of(PyList_GET_ITEM(items, index + 5), event_type));
        if (s->members) prefetch_object(s->members);
    }
    ahead_slot_t *s = &a->slots[(index + 4) % AHEAD_SLOTS];
    if (index + 4 < stop && s->members) prefetch_table(s->members);
    s = &a->slots[(index + 3) % AHEAD_SLOTS];
    if (index + 3 < stop && s->members) {
        PyObject *inner = prefetch_values(s->members);
        Py_XSETREF(s->inner, Py_XNewRef(inner));
    }
    s = &a->slots[(index + 2) % AHEAD_SLOTS];
    if (index + 2 < stop && s->inner) prefetch_table(s->inner);
    s = &a->slots[(index + 1) % AHEAD_SLOTS];
    if (index + 1 < stop && s->inner) prefetch_values(s->inner);
    s = &a->slots[index % AHEAD_SLOTS];
    Py_CLEAR(s->members);
    Py_CLEAR(s->inner);
}

void
ahead_clear(ahead_t *a)
{
    for (int i = 0; i < AHEAD_SLOTS; i++) {
        Py_CLEAR(a->slots[i].members);
        Py_CLEAR(a->slots[i].inner);
    }
}

int
object_ident(Scanner *self, const rec_t *r, uint64_t *ident)
{
    if (!self->items || r->where < self->items_where ||
        (r->where >> 48) != (self->items_where >> 48))
        return 0;
    uint64_t index = r->where - self->items_where;
    if (index >= (uint64_t)PyList_GET_SIZE(self->items)) return 0;
    PyObject *item = Py_NewRef(PyList_GET_ITEM(self->items, (Py_ssize_t)index));
    parsed_t pl;
    PyObject *held;
    int ok = scan_object(self, item, self->items_type, 1, &pl, &self->objtext, &held);
    if (ok == 1 && (pl.eid_len != r->eid_len || !same(pl.eid, r->eid, pl.eid_len))) ok = 0;
    if (ok == 1) *ident = content_hash(&self->key, self->objtext.data, self->objtext.len);
    Py_XDECREF(held);
    Py_DECREF(item);
    return ok;
}
