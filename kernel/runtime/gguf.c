#include "gguf.h"

#include "fmt.h"
#include "quant.h"
#include "rt.h"

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS          4
#define GGUF_MAX_NE            (1ULL << 40) /* per dimension */
#define GGUF_MAX_VALUES        (1ULL << 56) /* per tensor */

/* A bounds-checked cursor over the image. */
typedef struct {
    const uint8_t *p;
    size_t len, pos;
    char *err;
    size_t errlen;
} reader;

/* `what` names the item being read, for the message ("the key of metadata entry 3"). */
static int need(reader *r, size_t n, const char *what)
{
    if (n <= r->len - r->pos)
        return 0;
    return rt_fail(r->err, r->errlen, SLM_E_FORMAT,
                   "gguf: truncated file: %s needs %zu bytes at offset %zu, but the file ends at %zu", what, n, r->pos,
                   r->len);
}

static int rd_u32(reader *r, uint32_t *v, const char *what)
{
    int rc = need(r, 4, what);
    if (rc)
        return rc;
    *v = rt_le32(r->p + r->pos);
    r->pos += 4;
    return 0;
}

static int rd_u64(reader *r, uint64_t *v, const char *what)
{
    int rc = need(r, 8, what);
    if (rc)
        return rc;
    *v = rt_le64(r->p + r->pos);
    r->pos += 8;
    return 0;
}

static int rd_str(reader *r, rt_str *s, const char *what)
{
    uint64_t n;
    int rc = rd_u64(r, &n, what);
    if (rc)
        return rc;
    if (n > r->len - r->pos)
        return rt_fail(r->err, r->errlen, SLM_E_FORMAT,
                       "gguf: %s has length %llu, but only %zu bytes remain (truncated file or corrupt length)", what,
                       (unsigned long long)n, r->len - r->pos);
    s->ptr = (const char *)(r->p + r->pos);
    s->len = (size_t)n;
    r->pos += (size_t)n;
    return 0;
}

static size_t scalar_size(uint32_t t)
{
    static const uint8_t sizes[GV_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < GV_COUNT ? sizes[t] : 0;
}

static const char *vtype_name(uint32_t t)
{
    static const char *names[GV_COUNT] = {"uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
                                          "bool",  "string", "array",  "uint64", "int64",  "float64"};
    return t < GV_COUNT ? names[t] : "unknown";
}

int rt_str_eq(rt_str s, const char *c)
{
    size_t n = rt_strlen(c);
    return s.len == n && rt_memcmp(s.ptr, c, n) == 0;
}

/* Show a key or name from the file in a message: printable ASCII, at most 48 bytes. */
static const char *shown(rt_str s, char *buf, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < s.len && j + 4 < n && i < 48; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        buf[j++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (s.len > 48 && j + 4 < n)
        buf[j++] = '.', buf[j++] = '.', buf[j++] = '.';
    buf[j] = '\0';
    return buf;
}

static int parse_kv(reader *r, gguf_kv *kv, uint64_t i)
{
    char what[96], name[64];
    slm_snprintf(what, sizeof what, "the key of metadata entry %llu", (unsigned long long)i);
    int rc = rd_str(r, &kv->key, what);
    if (rc)
        return rc;
    slm_snprintf(what, sizeof what, "the value of metadata '%s'", shown(kv->key, name, sizeof name));
    if ((rc = rd_u32(r, &kv->type, what)))
        return rc;
    kv->elem_type = kv->type;
    kv->n = 1;
    if (kv->type >= GV_COUNT)
        return rt_fail(r->err, r->errlen, SLM_E_FORMAT, "gguf: metadata '%s' has unknown value type %u", name,
                       kv->type);
    if (kv->type == GV_STRING) {
        rt_str s;
        if ((rc = rd_str(r, &s, what)))
            return rc;
        kv->val = (const uint8_t *)s.ptr;
        kv->val_len = s.len;
        return 0;
    }
    if (kv->type == GV_ARRAY) {
        if ((rc = rd_u32(r, &kv->elem_type, what)) || (rc = rd_u64(r, &kv->n, what)))
            return rc;
        if (kv->elem_type >= GV_COUNT || kv->elem_type == GV_ARRAY)
            return rt_fail(r->err, r->errlen, SLM_E_FORMAT, "gguf: metadata array '%s' has unsupported element type %u",
                           name, kv->elem_type);
        size_t start = r->pos, remain = r->len - r->pos;
        if (kv->elem_type == GV_STRING) {
            if (kv->n > remain / 8)
                return rt_fail(
                    r->err, r->errlen, SLM_E_FORMAT,
                    "gguf: metadata array '%s' claims %llu strings, but only %zu bytes remain (truncated file "
                    "or corrupt count)",
                    name, (unsigned long long)kv->n, remain);
            slm_snprintf(what, sizeof what, "a string in metadata array '%s'", name);
            for (uint64_t j = 0; j < kv->n; j++) {
                rt_str s;
                if ((rc = rd_str(r, &s, what)))
                    return rc;
            }
        } else {
            size_t es = scalar_size(kv->elem_type);
            if (kv->n > remain / es)
                return rt_fail(
                    r->err, r->errlen, SLM_E_FORMAT,
                    "gguf: metadata array '%s' claims %llu x %zu bytes, but only %zu bytes remain (truncated "
                    "file or corrupt count)",
                    name, (unsigned long long)kv->n, es, remain);
            r->pos += (size_t)kv->n * es;
        }
        kv->val = r->p + start;
        kv->val_len = r->pos - start;
        return 0;
    }
    size_t es = scalar_size(kv->type);
    if ((rc = need(r, es, what)))
        return rc;
    kv->val = r->p + r->pos;
    kv->val_len = es;
    r->pos += es;
    return 0;
}

static int parse_tensor_info(reader *r, gguf_tensor *t, uint64_t i)
{
    char what[96], name[64];
    slm_snprintf(what, sizeof what, "the name of tensor %llu", (unsigned long long)i);
    int rc = rd_str(r, &t->name, what);
    if (rc)
        return rc;
    shown(t->name, name, sizeof name);
    slm_snprintf(what, sizeof what, "the info of tensor '%s'", name);
    if ((rc = rd_u32(r, &t->n_dims, what)))
        return rc;
    if (t->n_dims == 0 || t->n_dims > GGUF_MAX_DIMS)
        return rt_fail(r->err, r->errlen, SLM_E_FORMAT, "gguf: tensor '%s' has %u dimensions (expected 1 to %d)", name,
                       t->n_dims, GGUF_MAX_DIMS);
    uint64_t values = 1;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d < t->n_dims && (rc = rd_u64(r, &t->ne[d], what)))
            return rc;
        if (t->ne[d] == 0 || t->ne[d] > GGUF_MAX_NE)
            return rt_fail(r->err, r->errlen, SLM_E_FORMAT, "gguf: tensor '%s' has dimension %u of size %llu", name, d,
                           (unsigned long long)t->ne[d]);
        if (values > GGUF_MAX_VALUES / t->ne[d])
            return rt_fail(r->err, r->errlen, SLM_E_FORMAT, "gguf: tensor '%s' has too many elements", name);
        values *= t->ne[d];
    }
    if ((rc = rd_u32(r, &t->type, what)) || (rc = rd_u64(r, &t->offset, what)))
        return rc;
    const char *tn = qt_name(t->type);
    if (!tn)
        return rt_fail(r->err, r->errlen, SLM_E_FORMAT, "gguf: tensor '%s' has unknown type id %u", name, t->type);
    if (!qt_supported(t->type))
        return rt_fail(r->err, r->errlen, SLM_E_UNSUPPORTED,
                       "gguf: tensor '%s' has type %s; this runtime runs F32, F16, Q8_0 and Q4_0", name, tn);
    uint32_t bv = qt_block_values(t->type);
    if (t->ne[0] % bv)
        return rt_fail(r->err, r->errlen, SLM_E_FORMAT,
                       "gguf: tensor '%s' has rows of %llu values, not a multiple of the %s block size %u", name,
                       (unsigned long long)t->ne[0], tn, bv);
    t->nbytes = values / bv * qt_block_bytes(t->type); /* values <= 2^56, block bytes <= 34: no overflow */
    return 0;
}

/* Open-addressing hash index over names; returns the slot's index or a duplicate's. */
static int32_t *index_new(slm_arena *a, uint64_t n, uint32_t *mask)
{
    uint64_t cap = 16;
    while (cap < 2 * n)
        cap <<= 1;
    int32_t *t = arena_alloc_temp(a, (size_t)cap * sizeof(int32_t));
    if (t)
        rt_memset(t, 0xff, (size_t)cap * sizeof(int32_t));
    *mask = (uint32_t)(cap - 1);
    return t;
}

/* Insert idx under `name` (names[] gives the existing entries' names); -1 on success, else the
 * index of the entry that already has this name. */
static int32_t index_put(int32_t *tab, uint32_t mask, rt_str name, int32_t idx,
                         const rt_str *(*name_of)(const void *, int32_t), const void *ctx)
{
    uint32_t h = rt_hash(name.ptr, name.len, 0, 0) & mask;
    for (;; h = (h + 1) & mask) {
        if (tab[h] < 0) {
            tab[h] = idx;
            return -1;
        }
        const rt_str *o = name_of(ctx, tab[h]);
        if (o->len == name.len && rt_memcmp(o->ptr, name.ptr, name.len) == 0)
            return tab[h];
    }
}

static int32_t index_get(const int32_t *tab, uint32_t mask, const char *name,
                         const rt_str *(*name_of)(const void *, int32_t), const void *ctx)
{
    if (!tab)
        return -1;
    size_t n = rt_strlen(name);
    uint32_t h = rt_hash(name, n, 0, 0) & mask;
    for (;; h = (h + 1) & mask) {
        if (tab[h] < 0)
            return -1;
        const rt_str *o = name_of(ctx, tab[h]);
        if (o->len == n && rt_memcmp(o->ptr, name, n) == 0)
            return tab[h];
    }
}

static const rt_str *kv_name(const void *g, int32_t i)
{
    return &((const gguf_file *)g)->kv[i].key;
}
static const rt_str *tensor_name(const void *g, int32_t i)
{
    return &((const gguf_file *)g)->tensors[i].name;
}

static int offset_less(const void *ctx, uint32_t a, uint32_t b)
{
    const gguf_tensor *t = ctx;
    return t[a].offset < t[b].offset;
}

static int check_data(gguf_file *g, slm_arena *a, char *err, size_t errlen)
{
    size_t data_size = g->len - g->data_offset;
    char n1[64], n2[64];
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        shown(t->name, n1, sizeof n1);
        if (t->offset % g->alignment)
            return rt_fail(err, errlen, SLM_E_FORMAT,
                           "gguf: tensor '%s' data offset %llu is not a multiple of the alignment %u", n1,
                           (unsigned long long)t->offset, g->alignment);
        if (t->offset > data_size || t->nbytes > data_size - t->offset)
            return rt_fail(err, errlen, SLM_E_FORMAT,
                           "gguf: tensor '%s' data (%llu bytes at offset %llu) runs past the end of the file (data "
                           "section is %zu bytes)",
                           n1, (unsigned long long)t->nbytes, (unsigned long long)t->offset, data_size);
        t->data = g->base + g->data_offset + t->offset;
        uintptr_t need_align = t->type == QT_F32 ? 4 : 2;
        if ((uintptr_t)t->data % need_align)
            return rt_fail(err, errlen, SLM_E_FORMAT,
                           "gguf: tensor '%s' data is not %u-byte aligned in memory (the image or general.alignment is "
                           "misaligned)",
                           n1, (unsigned)need_align);
    }
    if (g->n_tensors < 2)
        return 0;
    uint32_t *ix = arena_alloc_temp(a, (size_t)g->n_tensors * sizeof(uint32_t));
    if (!ix)
        return arena_oom(a, (size_t)g->n_tensors * sizeof(uint32_t), "the tensor sort", err, errlen);
    for (uint64_t i = 0; i < g->n_tensors; i++)
        ix[i] = (uint32_t)i;
    rt_sort(ix, (size_t)g->n_tensors, offset_less, g->tensors);
    for (uint64_t i = 0; i + 1 < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[ix[i]], *u = &g->tensors[ix[i + 1]];
        if (t->offset + t->nbytes > u->offset)
            return rt_fail(err, errlen, SLM_E_FORMAT, "gguf: tensors '%s' and '%s' overlap in the data section",
                           shown(t->name, n1, sizeof n1), shown(u->name, n2, sizeof n2));
    }
    return 0;
}

int gguf_parse(gguf_file *g, const uint8_t *data, size_t len, slm_arena *a, char *err, size_t errlen)
{
    reader r = {data, len, 0, err, errlen};
    rt_memset(g, 0, sizeof *g);
    g->base = data;
    g->len = len;
    if (len < 4 || rt_memcmp(data, "GGUF", 4) != 0) {
        if (len < 4)
            return rt_fail(err, errlen, SLM_E_FORMAT, "gguf: not a GGUF file (only %zu bytes)", len);
        return rt_fail(err, errlen, SLM_E_FORMAT,
                       "gguf: not a GGUF file (bad magic %02x %02x %02x %02x, expected 'GGUF')", data[0], data[1],
                       data[2], data[3]);
    }
    r.pos = 4;
    int rc = rd_u32(&r, &g->version, "the header");
    if (rc)
        return rc;
    if (g->version == 1)
        return rt_fail(err, errlen, SLM_E_UNSUPPORTED, "gguf: version 1 files are not supported (re-export as v3)");
    if (g->version != 2 && g->version != 3)
        return rt_fail(err, errlen, SLM_E_FORMAT, "gguf: unknown version %u (expected 2 or 3)", g->version);
    if ((rc = rd_u64(&r, &g->n_tensors, "the header")) || (rc = rd_u64(&r, &g->n_kv, "the header")))
        return rc;

    /* Smallest encodings: a metadata entry takes 13 bytes, a tensor info 32. */
    size_t remain = len - r.pos;
    if (g->n_kv > remain / 13 || g->n_kv > 0x7fffffff)
        return rt_fail(err, errlen, SLM_E_FORMAT,
                       "gguf: header claims %llu metadata entries, but the file has only %zu more bytes (truncated "
                       "file or corrupt count)",
                       (unsigned long long)g->n_kv, remain);
    if (g->n_tensors > remain / 32 || g->n_tensors > 0x7fffffff)
        return rt_fail(
            err, errlen, SLM_E_FORMAT,
            "gguf: header claims %llu tensors, but the file has only %zu more bytes (truncated file or corrupt count)",
            (unsigned long long)g->n_tensors, remain);

    size_t kv_bytes = (size_t)g->n_kv * sizeof(gguf_kv), t_bytes = (size_t)g->n_tensors * sizeof(gguf_tensor);
    g->kv = arena_alloc_temp(a, kv_bytes ? kv_bytes : 1);
    if (!g->kv)
        return arena_oom(a, kv_bytes, "the GGUF metadata index", err, errlen);
    g->tensors = arena_alloc_temp(a, t_bytes ? t_bytes : 1);
    if (!g->tensors)
        return arena_oom(a, t_bytes, "the GGUF tensor index", err, errlen);
    if (!(g->kv_index = index_new(a, g->n_kv, &g->kv_mask)) ||
        !(g->tensor_index = index_new(a, g->n_tensors, &g->tensor_mask)))
        return arena_oom(a, (size_t)(g->n_kv + g->n_tensors) * 8, "the GGUF name index", err, errlen);

    char n1[64];
    for (uint64_t i = 0; i < g->n_kv; i++) {
        if ((rc = parse_kv(&r, &g->kv[i], i)))
            return rc;
        if (index_put(g->kv_index, g->kv_mask, g->kv[i].key, (int32_t)i, kv_name, g) >= 0)
            return rt_fail(err, errlen, SLM_E_FORMAT, "gguf: duplicate metadata key '%s'",
                           shown(g->kv[i].key, n1, sizeof n1));
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        if ((rc = parse_tensor_info(&r, &g->tensors[i], i)))
            return rc;
        if (index_put(g->tensor_index, g->tensor_mask, g->tensors[i].name, (int32_t)i, tensor_name, g) >= 0)
            return rt_fail(err, errlen, SLM_E_FORMAT, "gguf: duplicate tensor name '%s'",
                           shown(g->tensors[i].name, n1, sizeof n1));
    }

    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    const gguf_kv *al = gguf_find(g, "general.alignment");
    if (al) {
        if (al->type != GV_UINT32)
            return rt_fail(err, errlen, SLM_E_FORMAT, "gguf: general.alignment has type %s (expected uint32)",
                           vtype_name(al->type));
        g->alignment = rt_le32(al->val);
        if (g->alignment == 0 || (g->alignment & (g->alignment - 1)) || g->alignment > (1u << 16))
            return rt_fail(err, errlen, SLM_E_FORMAT, "gguf: general.alignment %u is not a power of two up to 65536",
                           g->alignment);
    }
    size_t pad = (g->alignment - r.pos % g->alignment) % g->alignment;
    if (g->n_tensors && pad > len - r.pos)
        return rt_fail(err, errlen, SLM_E_FORMAT,
                       "gguf: truncated file: the data section would start past the end (%zu bytes)", len);
    g->data_offset = g->n_tensors ? r.pos + pad : len;
    return check_data(g, a, err, errlen);
}

const gguf_kv *gguf_find(const gguf_file *g, const char *key)
{
    int32_t i = index_get(g->kv_index, g->kv_mask, key, kv_name, g);
    return i < 0 ? NULL : &g->kv[i];
}

const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name)
{
    int32_t i = index_get(g->tensor_index, g->tensor_mask, name, tensor_name, g);
    return i < 0 ? NULL : &g->tensors[i];
}

static int wrong_type(const gguf_kv *kv, const char *key, const char *expected, char *err, size_t errlen)
{
    return rt_fail(err, errlen, SLM_E_FORMAT, "gguf: metadata %s has type %s (expected %s)", key,
                   kv->type == GV_ARRAY ? "array" : vtype_name(kv->type), expected);
}

int gguf_get_u32(const gguf_file *g, const char *key, uint32_t *out, char *err, size_t errlen)
{
    const gguf_kv *kv = gguf_find(g, key);
    if (!kv)
        return 0;
    uint64_t v;
    int64_t s;
    switch (kv->type) {
    case GV_UINT8:
        v = kv->val[0];
        break;
    case GV_UINT16:
        v = rt_le16(kv->val);
        break;
    case GV_UINT32:
        v = rt_le32(kv->val);
        break;
    case GV_UINT64:
        v = rt_le64(kv->val);
        break;
    case GV_INT8:
        s = (int8_t)kv->val[0];
        goto sign;
    case GV_INT16:
        s = (int16_t)rt_le16(kv->val);
        goto sign;
    case GV_INT32:
        s = (int32_t)rt_le32(kv->val);
        goto sign;
    case GV_INT64:
        s = (int64_t)rt_le64(kv->val);
        goto sign;
    default:
        return wrong_type(kv, key, "an integer", err, errlen);
    }
    goto range;
sign:
    if (s < 0)
        return rt_fail(err, errlen, SLM_E_FORMAT, "gguf: metadata %s is negative (%lld)", key, (long long)s);
    v = (uint64_t)s;
range:
    if (v > 0xffffffffu)
        return rt_fail(err, errlen, SLM_E_FORMAT, "gguf: metadata %s = %llu is out of range", key,
                       (unsigned long long)v);
    *out = (uint32_t)v;
    return 1;
}

int gguf_get_f32(const gguf_file *g, const char *key, float *out, char *err, size_t errlen)
{
    const gguf_kv *kv = gguf_find(g, key);
    if (!kv)
        return 0;
    if (kv->type == GV_FLOAT32) {
        *out = rt_f32_from(rt_le32(kv->val));
    } else if (kv->type == GV_FLOAT64) {
        *out = (float)rt_f64_from(rt_le64(kv->val));
    } else {
        return wrong_type(kv, key, "float32", err, errlen);
    }
    return 1;
}

int gguf_get_bool(const gguf_file *g, const char *key, int *out, char *err, size_t errlen)
{
    const gguf_kv *kv = gguf_find(g, key);
    if (!kv)
        return 0;
    if (kv->type != GV_BOOL)
        return wrong_type(kv, key, "bool", err, errlen);
    *out = kv->val[0] != 0;
    return 1;
}

int gguf_get_str(const gguf_file *g, const char *key, rt_str *out, char *err, size_t errlen)
{
    const gguf_kv *kv = gguf_find(g, key);
    if (!kv)
        return 0;
    if (kv->type != GV_STRING)
        return wrong_type(kv, key, "string", err, errlen);
    out->ptr = (const char *)kv->val;
    out->len = kv->val_len;
    return 1;
}

int gguf_get_arr(const gguf_file *g, const char *key, uint32_t elem_type, const gguf_kv **out, char *err, size_t errlen)
{
    const gguf_kv *kv = gguf_find(g, key);
    if (!kv)
        return 0;
    if (kv->type != GV_ARRAY || kv->elem_type != elem_type)
        return rt_fail(err, errlen, SLM_E_FORMAT, "gguf: metadata %s is not an array of %s", key,
                       vtype_name(elem_type));
    *out = kv;
    return 1;
}

int32_t gguf_arr_i32(const gguf_kv *kv, uint64_t i)
{
    return (int32_t)rt_le32(kv->val + 4 * i);
}

float gguf_arr_f32(const gguf_kv *kv, uint64_t i)
{
    return rt_f32_from(rt_le32(kv->val + 4 * i));
}

rt_str gguf_arr_next_str(const uint8_t **cur)
{
    rt_str s;
    s.len = (size_t)rt_le64(*cur);
    s.ptr = (const char *)(*cur + 8);
    *cur += 8 + s.len;
    return s;
}
