/* One BPF_PROG_TEST_RUN (csrc/test_run.c) with every option an argument: a single cffi call
 * instead of filling a struct bpf_test_run_opts field by field.  Returns duration << 32 |
 * retval with errno 0, or 0 with errno set; sizes_out (may be NULL): data_size_out,
 * ctx_size_out. */
__u64 bpf4py_test_run(int prog_fd, const char *data_in, __u32 data_size_in, char *data_out,
                      __u32 data_size_out, const char *ctx_in, __u32 ctx_size_in,
                      char *ctx_out, __u32 ctx_size_out, int repeat, __u32 flags, __u32 cpu,
                      __u32 batch_size, __u32 *sizes_out);

/* The common case in three arguments: a packet in, run once, nothing out, no context. */
__u64 bpf4py_test_run_packet(int prog_fd, const char *data_in, __u32 data_size_in);
