/* Tracing attach points (build_ffi.py reads this after libbpf's declarations). */

/* libbpf bpf.h: BPF_RAW_TRACEPOINT_OPEN; the returned fd is a BPF link (Linux 4.17). */
int bpf_raw_tracepoint_open(const char *name, int prog_fd);

/* bpf4py's helper (csrc/trace.c): perf_event_open(2) of the tracepoint with id `tp_id`
 * (tracefs events/<category>/<name>/id), all processes, on CPU 0, close-on-exec -- what
 * libbpf's bpf_program__attach_tracepoint opens.  -1 with errno set on failure. */
int bpf4py_perf_event_open_tracepoint(__u64 tp_id);
