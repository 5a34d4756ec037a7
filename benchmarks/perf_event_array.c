// SPDX-License-Identifier: MIT
/* The C libbpf baseline of benchmarks/perf_event_array.py: the same map and program as
 * bpf4py, passed as inherited file descriptors.
 *
 *   perf_event_array MAP_FD PROG_FD N TRIALS PAGES
 *       open libbpf's perf buffer (PAGES pages per CPU) on the map, then per trial fill the
 *       current CPU's ring with N records (test_run repeat=N, not timed) and time
 *       perf_buffer__consume with a callback that copies each record out; prints the best
 *       nanoseconds per record.  The caller pins the process to one CPU.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

struct sink {
    char *buf;
    size_t len;
    long count;
};

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what, int err)
{
    fprintf(stderr, "perf_event_array: %s: %s\n", what, strerror(err < 0 ? -err : err));
    exit(1);
}

static void copy_out(void *ctx, int cpu, void *data, __u32 size)
{
    struct sink *s = ctx;

    memcpy(s->buf + s->len, data, size);
    s->len += size;
    s->count++;
}

int main(int argc, char **argv)
{
    LIBBPF_OPTS(perf_buffer_opts, pb_opts, .sample_period = 1 << 20);  /* no wake-ups */
    struct perf_buffer *pb;
    struct sink s = { 0 };
    double best = 1e300, t;
    long n, trials;
    int prog_fd;

    if (argc != 6) {
        fprintf(stderr, "usage: see the comment at the top of perf_event_array.c\n");
        return 2;
    }
    prog_fd = atoi(argv[2]);
    n = atol(argv[3]);
    trials = atol(argv[4]);
    s.buf = malloc(n * 64);
    pb = perf_buffer__new(atoi(argv[1]), atol(argv[5]), copy_out, NULL, &s, &pb_opts);
    if (!pb || !s.buf)
        die("perf_buffer__new", errno);
    for (; trials > 0; trials--) {
        char packet[64] = { 0 };
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet,
                    .data_size_in = sizeof(packet), .repeat = n);

        if (bpf_prog_test_run_opts(prog_fd, &opts))
            die("test_run (fill)", errno);
        s.len = 0;
        s.count = 0;
        t = now_ns();
        if (perf_buffer__consume(pb))
            die("perf_buffer__consume", errno);
        t = now_ns() - t;
        if (s.count != n) {
            fprintf(stderr, "perf_event_array: drained %ld records, expected %ld\n", s.count, n);
            return 1;
        }
        best = t / n < best ? t / n : best;
    }
    perf_buffer__free(pb);
    free(s.buf);
    printf("%.3f\n", best);
    return 0;
}
