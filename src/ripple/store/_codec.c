/* ripple.store._codec: the write path's item codec, compiled.
 *
 * A put turns the caller's item into DynamoDB attribute-value JSON, canonical (keys sorted at every
 * level) so that equal items give equal bytes.  In Python that is a dict per attribute plus an
 * orjson pass: ~3 us of a batched put's ~9 us of Python.  This does it in one pass over the item.
 *
 * It covers the common shapes only: exact dicts with str keys, str, int (64-bit), bool, None,
 * canonical Decimals, floats whose repr is positional (1e-4 <= |x| < 1e16, and 0), and lists and
 * maps of those, nested at most MAX_NESTING deep.  For anything else (other floats, sets, bytes,
 * big or non-canonical numbers, subclasses, anything invalid) it returns
 * None and the caller takes the Python path, which validates, normalizes and names errors.  The
 * bytes are identical to the Python path's (orjson with OPT_SORT_KEYS); tests/test_codec.py checks
 * that on random items.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#define MAX_NESTING 32          /* ripple.store.values.MAX_NESTING */
#define MAX_TOP_NAME_CHARS 16383 /* MAX_NAME_BYTES // 4: a name this long cannot exceed 64 KiB */

enum { OK = 0, FALLBACK = 1, FAILED = -1 };

static PyObject *Decimal = NULL;

typedef struct {
    char *p;
    Py_ssize_t len, cap;
    char small[2048];
} Buf;

static void buf_init(Buf *b) { b->p = b->small; b->len = 0; b->cap = sizeof b->small; }
static void buf_free(Buf *b) { if (b->p != b->small) PyMem_Free(b->p); }

static int buf_reserve(Buf *b, Py_ssize_t extra) {
    if (b->len + extra <= b->cap) return OK;
    Py_ssize_t cap = b->cap * 2;
    while (cap < b->len + extra) cap *= 2;
    char *p;
    if (b->p == b->small) {
        p = PyMem_Malloc(cap);
        if (p) memcpy(p, b->small, b->len);
    } else {
        p = PyMem_Realloc(b->p, cap);
    }
    if (!p) { PyErr_NoMemory(); return FAILED; }
    b->p = p; b->cap = cap;
    return OK;
}

static int put(Buf *b, const char *s, Py_ssize_t n) {
    if (buf_reserve(b, n) != OK) return FAILED;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return OK;
}
#define PUT_LIT(b, s) put((b), (s), (Py_ssize_t)(sizeof(s) - 1))

/* Bytes a JSON string must escape: '"', '\\' and the control characters. */
static char needs_escape[256];

/* A JSON string as orjson writes it: UTF-8, escaping '"', '\\' and control characters only. */
static int put_json_str(Buf *b, PyObject *s) {
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (!u) {  /* lone surrogates: the Python path refuses them by name */
        PyErr_Clear();
        return FALLBACK;
    }
    if (buf_reserve(b, n * 6 + 2) != OK) return FAILED;
    char *o = b->p + b->len;
    *o++ = '"';
    static const char hex[] = "0123456789abcdef";
    Py_ssize_t start = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];
        if (!needs_escape[c]) continue;
        memcpy(o, u + start, i - start);  /* the plain run before it, in one copy */
        o += i - start;
        start = i + 1;
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\t': *o++ = 't'; break;
        case '\n': *o++ = 'n'; break;
        case '\f': *o++ = 'f'; break;
        case '\r': *o++ = 'r'; break;
        default:
            *o++ = 'u'; *o++ = '0'; *o++ = '0';
            *o++ = hex[c >> 4]; *o++ = hex[c & 15];
        }
    }
    memcpy(o, u + start, n - start);
    o += n - start;
    *o++ = '"';
    b->len = o - b->p;
    return OK;
}

/* A Decimal's text when it is already canonical (as every number read from the store is), the
 * rule of values._fast_av: at most 38 characters, positional, no trailing fractional zero, not -0. */
static int put_decimal(Buf *b, PyObject *v) {
    PyObject *text = PyObject_Str(v);
    if (!text) return FAILED;
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(text, &n);
    int rc = FALLBACK;
    if (s && n >= 1 && n <= 38 && s[n - 1] >= '0' && s[n - 1] <= '9' && !memchr(s, 'E', n)
        && !(n == 2 && s[0] == '-' && s[1] == '0') && !(memchr(s, '.', n) && s[n - 1] == '0')) {
        rc = PUT_LIT(b, "{\"N\":\"");
        if (rc == OK) rc = put(b, s, n);
        if (rc == OK) rc = PUT_LIT(b, "\"}");
    }
    if (!s) PyErr_Clear();
    Py_DECREF(text);
    return rc;
}

/* A float as the Python path stores it: Decimal(repr(x)) made canonical, i.e. repr's digits
 * without trailing fractional zeros (3.0 -> "3", 2.50 -> "2.5").  repr is positional for
 * 1e-4 <= |x| < 1e16, and then has at most 17 significant digits, far inside DynamoDB's 38 digits
 * and its exponent range; an exponent, NaN, the infinities and -0.0 take the Python path (which
 * refuses the first three by name and writes -0.0 as 0). Game servers write epoch seconds with
 * milliseconds as floats: without this every such item took the slow path. */
static int put_float(Buf *b, double x) {
    if (!isfinite(x) || (x == 0.0 && signbit(x))) return FALLBACK;
    char *s = PyOS_double_to_string(x, 'r', 0, 0, NULL);
    if (!s) return FAILED;
    Py_ssize_t n = (Py_ssize_t)strlen(s);
    int rc = FALLBACK;
    if (!memchr(s, 'e', n) && !memchr(s, 'E', n)) {
        if (memchr(s, '.', n)) {
            while (n > 1 && s[n - 1] == '0') n--;
            if (s[n - 1] == '.') n--;
        }
        if (n >= 1 && n <= 38) {
            rc = PUT_LIT(b, "{\"N\":\"");
            if (rc == OK) rc = put(b, s, n);
            if (rc == OK) rc = PUT_LIT(b, "\"}");
        }
    }
    PyMem_Free(s);
    return rc;
}

static int put_value(Buf *b, PyObject *v, int depth);

/* A dict's entries sorted by key ("key":value,...), without the braces. */
static int put_sorted_entries(Buf *b, PyObject *d, int depth, int top) {
    PyObject *keys = PyDict_Keys(d);
    if (!keys) return FAILED;
    Py_ssize_t n = PyList_GET_SIZE(keys);
    int rc = OK;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *k = PyList_GET_ITEM(keys, i);
        if (!PyUnicode_CheckExact(k)) { rc = FALLBACK; goto done; }
        if (top) {
            Py_ssize_t chars = PyUnicode_GET_LENGTH(k);
            if (chars == 0 || chars > MAX_TOP_NAME_CHARS) { rc = FALLBACK; goto done; }
        }
    }
    if (n > 1 && PyList_Sort(keys) < 0) { rc = FAILED; goto done; }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *k = PyList_GET_ITEM(keys, i);
        if (i && (rc = PUT_LIT(b, ",")) != OK) goto done;
        if ((rc = put_json_str(b, k)) != OK) goto done;
        if ((rc = PUT_LIT(b, ":")) != OK) goto done;
        PyObject *x = PyDict_GetItemWithError(d, k);  /* borrowed */
        if (!x) { rc = PyErr_Occurred() ? FAILED : FALLBACK; goto done; }
        if ((rc = put_value(b, x, depth)) != OK) goto done;
    }
done:
    Py_DECREF(keys);
    return rc;
}

/* One attribute value; ``depth`` as values._fast_av counts it (0 for a top-level attribute). */
static int put_value(Buf *b, PyObject *v, int depth) {
    int rc;
    if (PyUnicode_CheckExact(v)) {
        if ((rc = PUT_LIT(b, "{\"S\":")) != OK) return rc;
        if ((rc = put_json_str(b, v)) != OK) return rc;
        return PUT_LIT(b, "}");
    }
    if (PyLong_CheckExact(v)) {
        int overflow;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow) return FALLBACK;  /* big integers: the Python path checks the 38-digit limit */
        if (x == -1 && PyErr_Occurred()) return FAILED;
        char num[32];
        int n = snprintf(num, sizeof num, "{\"N\":\"%lld\"}", x);
        return put(b, num, n);
    }
    if (v == Py_True) return PUT_LIT(b, "{\"BOOL\":true}");
    if (v == Py_False) return PUT_LIT(b, "{\"BOOL\":false}");
    if (v == Py_None) return PUT_LIT(b, "{\"NULL\":true}");
    if (Py_IS_TYPE(v, (PyTypeObject *)Decimal)) return put_decimal(b, v);
    if (PyFloat_CheckExact(v)) return put_float(b, PyFloat_AS_DOUBLE(v));
    if (depth >= MAX_NESTING) return FALLBACK;
    if (PyDict_CheckExact(v)) {
        if ((rc = PUT_LIT(b, "{\"M\":{")) != OK) return rc;
        if ((rc = put_sorted_entries(b, v, depth + 1, 0)) != OK) return rc;
        return PUT_LIT(b, "}}");
    }
    if (PyList_CheckExact(v)) {
        if ((rc = PUT_LIT(b, "{\"L\":[")) != OK) return rc;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
            if (i && (rc = PUT_LIT(b, ",")) != OK) return rc;
            if ((rc = put_value(b, PyList_GET_ITEM(v, i), depth + 1)) != OK) return rc;
        }
        return PUT_LIT(b, "]}");
    }
    return FALLBACK;
}

static PyObject *finish(Buf *b, int rc) {
    PyObject *out = NULL;
    if (rc == OK) out = PyBytes_FromStringAndSize(b->p, b->len);
    else if (rc == FALLBACK) out = Py_NewRef(Py_None);
    buf_free(b);
    return out;
}

PyDoc_STRVAR(encode_item_doc,
"encode_item(item) -> bytes | None\n\n"
"The canonical attribute-value JSON of an item (keys sorted at every level), or None when the item\n"
"holds anything outside the common shapes: the caller then takes the Python path.");

static PyObject *encode_item(PyObject *self, PyObject *item) {
    if (!PyDict_CheckExact(item)) Py_RETURN_NONE;
    Buf b;
    buf_init(&b);
    int rc = PUT_LIT(&b, "{");
    if (rc == OK) rc = put_sorted_entries(&b, item, 0, 1);
    if (rc == OK) rc = PUT_LIT(&b, "}");
    return finish(&b, rc);
}

PyDoc_STRVAR(encode_keys_doc,
"encode_keys(item, names) -> bytes | None\n\n"
"The attribute-value JSON object of the named attributes of ``item``, in the order of ``names``\n"
"(a tuple of str): a stream record's Keys.  None when one is missing or outside the common shapes.");

static PyObject *encode_keys(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyTuple_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "encode_keys(item, names: tuple)");
        return NULL;
    }
    PyObject *item = args[0], *names = args[1];
    if (!PyDict_CheckExact(item)) Py_RETURN_NONE;
    Buf b;
    buf_init(&b);
    int rc = PUT_LIT(&b, "{");
    for (Py_ssize_t i = 0; rc == OK && i < PyTuple_GET_SIZE(names); i++) {
        PyObject *k = PyTuple_GET_ITEM(names, i);
        PyObject *v = PyDict_GetItemWithError(item, k);
        if (!v) { rc = PyErr_Occurred() ? FAILED : FALLBACK; break; }
        if (i) rc = PUT_LIT(&b, ",");
        if (rc == OK) rc = put_json_str(&b, k);
        if (rc == OK) rc = PUT_LIT(&b, ":");
        if (rc == OK) rc = put_value(&b, v, 0);
    }
    if (rc == OK) rc = PUT_LIT(&b, "}");
    return finish(&b, rc);
}

static PyMethodDef methods[] = {
    {"encode_item", encode_item, METH_O, encode_item_doc},
    {"encode_keys", (PyCFunction)(void (*)(void))encode_keys, METH_FASTCALL, encode_keys_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "ripple.store._codec", NULL, -1, methods};

PyMODINIT_FUNC PyInit__codec(void) {
    for (int c = 0; c < 0x20; c++) needs_escape[c] = 1;
    needs_escape['"'] = needs_escape['\\'] = 1;
    PyObject *decimal = PyImport_ImportModule("decimal");
    if (!decimal) return NULL;
    Decimal = PyObject_GetAttrString(decimal, "Decimal");
    Py_DECREF(decimal);
    if (!Decimal) return NULL;
    return PyModule_Create(&module);
}
