// SPDX-License-Identifier: GPL-2.0
/* A syscall program: run from user space on a context it passes in and reads back. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct numbers {
    __u32 a;
    __u32 b;
    __u32 sum;
};

/* Store a + b into the context; return how many bytes of context came in. */
SEC("syscall")
int add(struct numbers *ctx)
{
    ctx->sum = ctx->a + ctx->b;
    return sizeof(*ctx);
}

char LICENSE[] SEC("license") = "GPL";
