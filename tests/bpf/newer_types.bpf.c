// SPDX-License-Identifier: GPL-2.0
/* A program of a type newer than the oldest kernel the tests run on (netfilter: Linux 6.4),
 * for tests/kernel/test_features.py: loading it there must say the type is missing. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("netfilter")
int accept_all(void *ctx)
{
    return 1; /* NF_ACCEPT */
}

char LICENSE[] SEC("license") = "GPL";
