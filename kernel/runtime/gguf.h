/* GGUF (v2, v3) parser over an in-memory image. The image is untrusted: every read is
 * bounds-checked, counts and lengths are checked against the bytes that remain before
 * anything is allocated, tensor shapes/types/offsets are validated (aligned, inside the data
 * section, not overlapping), and duplicate keys or tensor names are rejected. Nothing is
 * copied: keys, strings and tensor data point into the image. The index lives in the arena's
 * temporary region (see rt.h) and is valid until arena_release_temp. */
#ifndef AUTON_GGUF_H
#define AUTON_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "slm.h"

enum {
    GV_UINT8 = 0,
    GV_INT8 = 1,
    GV_UINT16 = 2,
    GV_INT16 = 3,
    GV_UINT32 = 4,
    GV_INT32 = 5,
    GV_FLOAT32 = 6,
    GV_BOOL = 7,
    GV_STRING = 8,
    GV_ARRAY = 9,
    GV_UINT64 = 10,
    GV_INT64 = 11,
    GV_FLOAT64 = 12,
    GV_COUNT
};

typedef struct {
    const char *ptr; /* not NUL-terminated; may contain any bytes */
    size_t len;
} rt_str;

typedef struct {
    rt_str key;
    uint32_t type;      /* GV_* */
    uint32_t elem_type; /* arrays: the element type */
    uint64_t n;         /* arrays: the element count; 1 otherwise */
    const uint8_t *val; /* scalar bytes, string bytes, or the first array element */
    size_t val_len;     /* bytes at val (strings: the length; arrays: all elements) */
} gguf_kv;

typedef struct {
    rt_str name;
    uint32_t n_dims, type;
    uint64_t ne[4]; /* ne[0] is the row length; unused dims are 1 */
    uint64_t offset, nbytes;
    const uint8_t *data;
} gguf_tensor;

typedef struct {
    const uint8_t *base;
    size_t len;
    uint32_t version, alignment;
    uint64_t n_kv, n_tensors;
    gguf_kv *kv;
    gguf_tensor *tensors;
    size_t data_offset;
    int32_t *kv_index, *tensor_index; /* open-addressing hash tables of indices, -1 = empty */
    uint32_t kv_mask, tensor_mask;
} gguf_file;

int gguf_parse(gguf_file *g, const uint8_t *data, size_t len, slm_arena *a, char *err, size_t errlen);

const gguf_kv *gguf_find(const gguf_file *g, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name);

/* Typed metadata getters: 1 found, 0 absent (out untouched), SLM_E_FORMAT on a wrong type. */
int gguf_get_u32(const gguf_file *g, const char *key, uint32_t *out, char *err, size_t errlen);
int gguf_get_f32(const gguf_file *g, const char *key, float *out, char *err, size_t errlen);
int gguf_get_bool(const gguf_file *g, const char *key, int *out, char *err, size_t errlen);
int gguf_get_str(const gguf_file *g, const char *key, rt_str *out, char *err, size_t errlen);
int gguf_get_arr(const gguf_file *g, const char *key, uint32_t elem_type, const gguf_kv **out, char *err,
                 size_t errlen);

/* Elements of validated arrays. */
int32_t gguf_arr_i32(const gguf_kv *kv, uint64_t i);
float gguf_arr_f32(const gguf_kv *kv, uint64_t i);
/* Strings of a validated string array, in order: start at kv->val, each call advances *cur. */
rt_str gguf_arr_next_str(const uint8_t **cur);

int rt_str_eq(rt_str s, const char *c);

#endif
