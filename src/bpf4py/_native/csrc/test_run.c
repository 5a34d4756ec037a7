/* BPF_PROG_TEST_RUN in one call (declared in decl/test_run.h).  Setting the ~12 fields of a
 * struct bpf_test_run_opts through cffi costs about as much as the syscall itself; here
 * Python passes them as arguments.  Returns the program's return value in the low 32 bits and
 * the duration (ns) in the high 32 bits, with errno 0; on failure 0 with errno set.  When
 * `sizes_out` is not NULL it gets data_size_out and ctx_size_out. */
__u64 bpf4py_test_run(int prog_fd, const char *data_in, __u32 data_size_in, char *data_out,
                      __u32 data_size_out, const char *ctx_in, __u32 ctx_size_in,
                      char *ctx_out, __u32 ctx_size_out, int repeat, __u32 flags, __u32 cpu,
                      __u32 batch_size, __u32 *sizes_out)
{
    LIBBPF_OPTS(bpf_test_run_opts, opts,
        .data_in = data_in,
        .data_size_in = data_size_in,
        .data_out = data_out,
        .data_size_out = data_size_out,
        .ctx_in = ctx_in,
        .ctx_size_in = ctx_size_in,
        .ctx_out = ctx_out,
        .ctx_size_out = ctx_size_out,
        .repeat = repeat,
        .flags = flags,
        .cpu = cpu,
        .batch_size = batch_size,
    );

    if (bpf_prog_test_run_opts(prog_fd, &opts))
        return 0;  /* errno set by libbpf */
    if (sizes_out) {
        sizes_out[0] = opts.data_size_out;
        sizes_out[1] = opts.ctx_size_out;
    }
    errno = 0;
    return (__u64)opts.duration << 32 | opts.retval;
}

__u64 bpf4py_test_run_packet(int prog_fd, const char *data_in, __u32 data_size_in)
{
    return bpf4py_test_run(prog_fd, data_in, data_size_in, NULL, 0, NULL, 0, NULL, 0, 1, 0, 0, 0,
                           NULL);
}
