/* bpf4py's own C helpers, defined in build_ffi.py's set_source. */

/* The version of bpf4py this module was compiled for: checked at import. */
extern const char BPF4PY_BUILD_VERSION[];

/* libbpf's print callback has a va_list; this helper formats each message in C and hands
 * Python a finished string through bpf4py_log. Messages above `max_level` are dropped in C. */
extern "Python" void bpf4py_log(int level, const char *message);
void bpf4py_set_print(int max_level);
