/* libbpf's netlink XDP calls (libbpf.h): attaching an XDP program to a network interface
 * without a BPF link (kernels before 5.9, or netlink-only flags), and querying what an
 * interface runs. */

struct bpf_xdp_attach_opts {
    size_t sz;
    int old_prog_fd;
    ...;
};

struct bpf_xdp_query_opts {
    size_t sz;
    __u32 prog_id;
    __u32 drv_prog_id;
    __u32 hw_prog_id;
    __u32 skb_prog_id;
    __u8 attach_mode;
    ...;
};

int bpf_xdp_attach(int ifindex, int prog_fd, __u32 flags,
                   const struct bpf_xdp_attach_opts *opts);
int bpf_xdp_detach(int ifindex, __u32 flags, const struct bpf_xdp_attach_opts *opts);
int bpf_xdp_query(int ifindex, int flags, struct bpf_xdp_query_opts *opts);
