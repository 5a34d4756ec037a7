/* Load one program of a prepared bpf_object (declared in decl/prog_load.h).  The aya model
 * loads each program on its own load(), so bpf4py cannot use bpf_object__load; this helper
 * reads what bpf_prog_load needs from libbpf's object in C (type, name, instructions, the
 * object's BTF and the program's func/line info, flags, kernel version) instead of through a
 * dozen cffi calls and a cffi-built struct bpf_prog_load_opts.  Sections that libbpf marks
 * sleepable only inside its own load (`syscall`, `<kind>.s/...`) get BPF_F_SLEEPABLE here.
 * Returns the program's descriptor, or a negative errno. */
static int bpf4py_section_sleepable(const char *section)
{
    const char *slash = section ? strchr(section, '/') : NULL;
    size_t kind = section ? (slash ? (size_t)(slash - section) : strlen(section)) : 0;

    if (kind == 7 && strncmp(section, "syscall", 7) == 0)
        return 1;
    return kind >= 2 && section[kind - 2] == '.' && section[kind - 1] == 's';
}

int bpf4py_prog_load(struct bpf_object *obj, struct bpf_program *prog, const char *license,
                     __u32 attach_btf_id, __u32 log_level, char *log_buf, __u32 log_size)
{
    int btf_fd = bpf_object__btf_fd(obj);
    LIBBPF_OPTS(bpf_prog_load_opts, opts,
        .expected_attach_type = bpf_program__expected_attach_type(prog),
        .prog_flags = bpf_program__flags(prog),
        .kern_version = bpf_object__kversion(obj),
        .attach_btf_id = attach_btf_id,
        .log_level = log_level,
        .log_buf = log_buf,
        .log_size = log_size,
    );

    if (bpf4py_section_sleepable(bpf_program__section_name(prog)))
        opts.prog_flags |= BPF_F_SLEEPABLE;
    if (btf_fd > 0) {
        opts.prog_btf_fd = btf_fd;
        opts.func_info = bpf_program__func_info(prog);
        opts.func_info_cnt = bpf_program__func_info_cnt(prog);
        opts.func_info_rec_size = sizeof(struct bpf_func_info);
        opts.line_info = bpf_program__line_info(prog);
        opts.line_info_cnt = bpf_program__line_info_cnt(prog);
        opts.line_info_rec_size = sizeof(struct bpf_line_info);
    }
    return bpf_prog_load(bpf_program__type(prog), bpf_program__name(prog), license,
                         bpf_program__insns(prog), bpf_program__insn_cnt(prog), &opts);
}
