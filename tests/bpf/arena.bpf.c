// SPDX-License-Identifier: GPL-2.0
/* An arena shared with user space, used from a program built by a clang without the __arena
 * address space (clang < 18): the program turns an arena address into a pointer the
 * verifier accepts with the addr_space_cast instruction, written out as raw bytes. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARENA);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 4); /* pages */
} ARENA SEC(".maps");

/* What user space passes in and reads back (the syscall program's context). */
struct request {
    __u64 addr;  /* an address in the arena, as user space sees it */
    __u64 value;
};

extern void *bpf_arena_alloc_pages(void *map, void *addr, __u32 page_cnt, int node_id,
                                   __u64 flags) __ksym;

/* r1 = addr_space_cast(r1, 0, 1): BPF_ALU64|BPF_MOV|BPF_X, dst r1, src r1, off 1, imm 1 */
#define CAST_R1_TO_KERNEL ".quad 0x00000001000111bf;"

/* The verifier takes an addr_space_cast only in a program that uses the arena map: name it. */
#define USE_ARENA() asm volatile("" :: "r"(&ARENA))

static __always_inline void arena_store(__u64 addr, __u64 value)
{
    asm volatile("r1 = %[addr];" CAST_R1_TO_KERNEL "*(u64 *)(r1 + 0) = %[value];"
                 :: [addr] "r"(addr), [value] "r"(value) : "r1", "memory");
}

static __always_inline __u64 arena_load(__u64 addr)
{
    __u64 value;

    asm volatile("r1 = %[addr];" CAST_R1_TO_KERNEL "%[value] = *(u64 *)(r1 + 0);"
                 : [value] "=r"(value) : [addr] "r"(addr) : "r1", "memory");
    return value;
}

/* Allocate one page, store req->value 8 bytes into it, hand back the page's address. */
SEC("syscall")
int alloc_and_store(struct request *req)
{
    void *page = bpf_arena_alloc_pages(&ARENA, 0, 1, -1 /* any NUMA node */, 0);

    if (!page)
        return 1;
    arena_store((__u64)page + 8, req->value);
    req->addr = (__u64)page;
    return 0;
}

/* Read the u64 at req->addr into req->value. */
SEC("syscall")
int load(struct request *req)
{
    USE_ARENA();
    req->value = arena_load(req->addr);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
