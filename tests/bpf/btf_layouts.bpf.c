// SPDX-License-Identifier: GPL-2.0
/* Types for the BTF codec unit tests (compiled, never loaded): every shape the codecs lay out
 * besides those of btf_types.bpf.c -- floats, bool and enum arrays, 2-D arrays, arrays of
 * unions, pointers, a 16-byte integer, an anonymous struct inside an anonymous union inside a
 * member struct, arrays of C strings, a zero-length trailing array, a typedef'd anonymous
 * struct. */
#include <linux/bpf.h>

enum shade { DARK = 3, LIGHT = 1 };

union cell {
    __u32 word;
    __u8 bytes[4];
};

typedef struct {
    __u32 v;
} wrapped_t;

struct exotic {
    double ratio;
    float scale;
    _Bool flags[3];
    enum shade shades[2];
    __s16 grid[2][3];
    union cell cells[2];
    void *ptr;
    unsigned __int128 wide;
    struct {
        union {
            struct {
                __u8 a;
                __u8 b;
            };
            __u16 ab;
        };
        __u8 tail;
    } nested;
    char names[2][4];
    wrapped_t wrapped;
    __u8 rest[0];
};

struct exotic exotic_sample;
