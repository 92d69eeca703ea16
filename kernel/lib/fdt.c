/* A flattened device tree (DTB) reader: the bounded walker of hw/fdt.h (lib/fdt_boot.c reads
 * the boot facts with it; hw/dt.c the devices).
 *
 * The blob comes from QEMU, but it is still read defensively: every offset is checked against
 * the header's sizes before it is dereferenced, and every step moves forward, so a damaged blob
 * makes the walk fail or end instead of faulting or looping. */
#include "fdt.h"
#include "kernel.h"

enum { FDT_MAGIC = 0xd00dfeed, FDT_BEGIN_NODE = 1, FDT_END_NODE = 2, FDT_PROP = 3, FDT_NOP = 4, FDT_END = 9 };

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t fdt_cells(const uint8_t *p, uint32_t cells)
{
    return cells == 2 ? (uint64_t)be32(p) << 32 | be32(p + 4) : cells == 1 ? be32(p) : 0;
}

int fdt_name_is(const struct fdt_node *node, const char *want)
{
    size_t n = strlen(want);
    return node->name_len >= n && strncmp(node->name, want, n) == 0 && (node->name_len == n || node->name[n] == '@');
}

/* Is the NUL-terminated string at strings[off] equal to `want`, within strings_size? */
static int string_is(const struct fdt_node *node, uint32_t off, const char *want)
{
    size_t n = strlen(want);
    return off < node->strings_size && node->strings_size - off > n && memcmp(node->strings + off, want, n + 1) == 0;
}

const uint8_t *fdt_prop(const struct fdt_node *node, const char *name, uint32_t *len)
{
    const uint8_t *p = node->props, *end = node->props_end;
    while (end - p >= 4) {
        uint32_t tok = be32(p);
        p += 4;
        if (tok == FDT_NOP)
            continue;
        if (tok != FDT_PROP || end - p < 8)
            return NULL;
        uint32_t plen = be32(p), nameoff = be32(p + 4);
        p += 8;
        if (plen > (size_t)(end - p))
            return NULL;
        if (string_is(node, nameoff, name)) {
            *len = plen;
            return p;
        }
        p += (plen + 3) & ~(uint32_t)3;
    }
    return NULL;
}

uint32_t fdt_prop_str(const struct fdt_node *node, const char *name, char *dst, size_t cap)
{
    uint32_t len = 0;
    const uint8_t *v = fdt_prop(node, name, &len);
    size_t n = 0;
    while (v && n < len && v[n])
        n++;
    if (cap) {
        if (n >= cap)
            n = cap - 1;
        if (n)
            memcpy(dst, v, n);
        dst[n] = '\0';
    }
    return v ? len : 0;
}

int fdt_list_has(const uint8_t *list, uint32_t len, const char *want)
{
    size_t n = strlen(want);
    for (uint32_t i = 0; i < len;) {
        uint32_t j = i;
        while (j < len && list[j])
            j++;
        if (j - i == n && memcmp(list + i, want, n) == 0)
            return 1;
        i = j + 1;
    }
    return 0;
}

int fdt_reg(const struct fdt_node *node, uint32_t i, uint64_t *base, uint64_t *size)
{
    uint32_t len = 0, ac = node->addr_cells, sc = node->size_cells;
    const uint8_t *reg = fdt_prop(node, "reg", &len);
    if (!reg || ac - 1 > 1 || sc > 2)
        return -1;
    uint32_t entry = 4 * (ac + sc);
    if (i >= len / entry)
        return -1;
    *base = fdt_cells(reg + i * entry, ac);
    *size = sc ? fdt_cells(reg + i * entry + 4 * ac, sc) : 0;
    return 0;
}

int fdt_walk(const void *blob, size_t max_bytes, fdt_visit_fn visit, void *ctx)
{
    const uint8_t *b = blob;
    if (!b || max_bytes < 40 || ((uintptr_t)b & 3) || be32(b) != FDT_MAGIC)
        return -1;
    uint32_t total = be32(b + 4), off_struct = be32(b + 8), off_strings = be32(b + 12);
    uint32_t size_strings = be32(b + 32), size_struct = be32(b + 36);
    if (total < 40 || total > max_bytes || off_struct > total || size_struct > total - off_struct ||
        off_strings > total || size_strings > total - off_strings || (off_struct & 3))
        return -1;

    struct fdt_node stack[FDT_MAX_DEPTH];
    const uint8_t *p = b + off_struct, *end = p + size_struct;
    int depth = 0, pending = 0; /* open nodes; is the innermost one still unvisited? */
    while (end - p >= 4) {
        uint32_t tok = be32(p);
        const uint8_t *at = p;
        p += 4;
        if (tok == FDT_BEGIN_NODE || tok == FDT_END_NODE) {
            if (pending) { /* its properties are all known now */
                pending = 0;
                stack[depth - 1].props_end = at;
                if (visit(&stack[depth - 1], ctx))
                    return 0;
            }
            if (tok == FDT_END_NODE) {
                if (depth == 0)
                    return -1;
                depth--;
                continue;
            }
            const char *name = (const char *)p;
            size_t len = 0;
            while (len < (size_t)(end - p) && name[len])
                len++;
            if (len >= (size_t)(end - p))
                return -1;
            p += (len + 1 + 3) & ~(size_t)3;
            if (p > end)
                return -1;
            if (depth < FDT_MAX_DEPTH) {
                struct fdt_node *n = &stack[depth];
                const struct fdt_node *up = depth ? &stack[depth - 1] : NULL;
                *n = (struct fdt_node){
                    .name = name,
                    .name_len = len,
                    .depth = depth,
                    .parent = up,
                    .addr_cells = up ? up->own_addr_cells : 2,
                    .size_cells = up ? up->own_size_cells : 1,
                    .own_addr_cells = 2,
                    .own_size_cells = 1,
                    .props = p,
                    .props_end = p,
                    .strings = (const char *)b + off_strings,
                    .strings_size = size_strings,
                };
                pending = 1;
            }
            depth++;
        } else if (tok == FDT_PROP) {
            if (end - p < 8)
                return -1;
            uint32_t len = be32(p), nameoff = be32(p + 4);
            p += 8;
            if (len > (size_t)(end - p) || nameoff >= size_strings)
                return -1;
            if (pending && len == 4) {
                struct fdt_node *n = &stack[depth - 1];
                if (string_is(n, nameoff, "#address-cells"))
                    n->own_addr_cells = be32(p);
                else if (string_is(n, nameoff, "#size-cells"))
                    n->own_size_cells = be32(p);
            }
            p += (len + 3) & ~(uint32_t)3;
            if (p > end)
                return -1;
        } else if (tok == FDT_END) {
            break;
        } else if (tok != FDT_NOP) {
            return -1;
        }
    }
    if (pending) {
        stack[depth - 1].props_end = p;
        visit(&stack[depth - 1], ctx);
    }
    return 0;
}
