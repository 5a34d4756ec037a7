/* The few libc calls bpf4py needs that Python's os module lacks. */

int mount(const char *source, const char *target, const char *filesystemtype,
          unsigned long mountflags, const void *data);
