/* BPF_PROG_TEST_RUN in one call (declared in decl/test_run.h).  Setting the ~12 fields of a
 * struct bpf_test_run_opts through cffi costs about as much as the syscall itself; here
 * Python passes them as arguments and gets the results back in `out` (retval, duration,
 * data_size_out, ctx_size_out).  Returns what bpf_prog_test_run_opts returns (0, or a
 * negative errno). */
int bpf4py_test_run(int prog_fd, const char *data_in, __u32 data_size_in, char *data_out,
                    __u32 data_size_out, const char *ctx_in, __u32 ctx_size_in, char *ctx_out,
                    __u32 ctx_size_out, int repeat, __u32 flags, __u32 cpu, __u32 batch_size,
                    __u32 *out)
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
    int ret = bpf_prog_test_run_opts(prog_fd, &opts);

    out[0] = opts.retval;
    out[1] = opts.duration;
    out[2] = opts.data_size_out;
    out[3] = opts.ctx_size_out;
    return ret;
}
