/* A bounded walker over a flattened device tree (lib/fdt.c). Every offset is checked against
 * the header's sizes (themselves capped by the caller's max_bytes) before it is read, each step
 * moves forward, so a damaged, looping or huge blob ends the walk with an error or simply ends
 * it: it never faults or hangs. */
#ifndef AUTON_FDT_H
#define AUTON_FDT_H

#include <stddef.h>
#include <stdint.h>

#define FDT_MAX_DEPTH 16 /* deeper nodes are walked over but not visited */

struct fdt_node {
    const char *name; /* "serial@10000000" (not NUL-terminated within name_len) */
    size_t name_len;
    int depth;                               /* root = 0 */
    const struct fdt_node *parent;           /* NULL for the root */
    uint32_t addr_cells, size_cells;         /* the parent's #address-cells/#size-cells: how reg reads */
    uint32_t own_addr_cells, own_size_cells; /* this node's, for its children (default 2/1) */
    const uint8_t *props, *props_end;        /* the node's property tokens, already validated */
    const char *strings;
    uint32_t strings_size;
};

/* A property of `node`: its value and length, or NULL. */
const uint8_t *fdt_prop(const struct fdt_node *node, const char *name, uint32_t *len);

/* The first string of a string(-list) property copied into dst (bounded), or "" ; returns the
 * length of the whole property (0 if absent). */
uint32_t fdt_prop_str(const struct fdt_node *node, const char *name, char *dst, size_t cap);

/* Does the (NUL-separated) list `list` of `len` bytes hold the string `want`? */
int fdt_list_has(const uint8_t *list, uint32_t len, const char *want);

/* A big-endian value of 1 or 2 cells (other counts read as 0). */
uint64_t fdt_cells(const uint8_t *p, uint32_t cells);

/* The i-th (base, size) pair of the node's reg, using the parent's cells; -1 past the end or
 * for cell counts other than 1 or 2 (size cells may be 0). */
int fdt_reg(const struct fdt_node *node, uint32_t i, uint64_t *base, uint64_t *size);

/* Call visit(node, ctx) for every node up to FDT_MAX_DEPTH once its properties are known, in
 * document order; a non-zero return stops the walk. Returns 0, or -1 for a malformed blob. */
typedef int (*fdt_visit_fn)(const struct fdt_node *node, void *ctx);
int fdt_walk(const void *blob, size_t max_bytes, fdt_visit_fn visit, void *ctx);

/* Is the node named `want`, with or without a unit address ("memory" matches "memory@80000000")? */
int fdt_name_is(const struct fdt_node *node, const char *want);

#endif
