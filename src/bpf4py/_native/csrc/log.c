/* libbpf's print callback: format the va_list in C, hand Python a finished string. */

static void bpf4py_log(int level, const char *message);
static int bpf4py_max_level = LIBBPF_WARN;

static int bpf4py_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
    char small[512];
    char *buf = small;
    va_list copy;
    int n;

    if ((int)level > bpf4py_max_level)
        return 0;
    va_copy(copy, args);
    n = vsnprintf(small, sizeof(small), fmt, args);
    if (n >= (int)sizeof(small)) {
        buf = malloc((size_t)n + 1);
        if (buf)
            vsnprintf(buf, (size_t)n + 1, fmt, copy);
        else
            buf = small;
    }
    va_end(copy);
    if (n >= 0)
        bpf4py_log((int)level, buf);
    if (buf != small)
        free(buf);
    return n;
}

static void bpf4py_set_print(int max_level)
{
    bpf4py_max_level = max_level;
    libbpf_set_print(bpf4py_print);
}
