// SPDX-License-Identifier: MIT
/* The C libbpf baseline for benchmarks/run.py.
 *
 * run.py loads the benchmark object with bpf4py and passes this program the same maps and
 * programs as inherited file descriptors, so both sides measure the same kernel objects.
 * Each command prints one number: the best (lowest) nanoseconds per operation over TRIALS
 * trials of N operations.
 *
 *   baseline lookup    MAP_FD N KEYS TRIALS   bpf_map_lookup_elem, key i % KEYS
 *   baseline update    MAP_FD N KEYS TRIALS   bpf_map_update_elem, key and value i % KEYS
 *   baseline dump      MAP_FD TRIALS          get_next_key + lookup over the map (per entry)
 *   baseline dumpbatch MAP_FD TRIALS          bpf_map_lookup_batch over the map (per entry)
 *   baseline ring      MAP_FD PROG_FD N TRIALS
 *                      fill the ring with N records (test_run repeat=N, not timed), then time
 *                      ring_buffer__consume with a callback that copies each record out
 *   baseline testrun   PROG_FD N TRIALS       bpf_prog_test_run_opts, repeat=1, 64-byte packet
 *   baseline openload  PATH N TRIALS          bpf_object__open_file + load + close
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what, int err)
{
    fprintf(stderr, "baseline: %s: %s\n", what, strerror(err < 0 ? -err : err));
    exit(1);
}

static long arg(char **argv, int i)
{
    return strtol(argv[i], NULL, 10);
}

static double best(double a, double b)
{
    return a < b ? a : b;
}

static double lookup(int fd, long n, long keys)
{
    uint64_t value;
    double t = now_ns();

    for (long i = 0; i < n; i++) {
        uint32_t key = i % keys;

        if (bpf_map_lookup_elem(fd, &key, &value))
            die("lookup", errno);
    }
    return (now_ns() - t) / n;
}

static double update(int fd, long n, long keys)
{
    double t = now_ns();

    for (long i = 0; i < n; i++) {
        uint32_t key = i % keys;
        uint64_t value = key;

        if (bpf_map_update_elem(fd, &key, &value, BPF_ANY))
            die("update", errno);
    }
    return (now_ns() - t) / n;
}

static double dump(int fd)
{
    uint32_t key, next;
    uint64_t value;
    long n = 0;
    double t = now_ns();
    int err = bpf_map_get_next_key(fd, NULL, &next);

    while (!err) {
        key = next;
        if (!bpf_map_lookup_elem(fd, &key, &value))
            n++;
        err = bpf_map_get_next_key(fd, &key, &next);
    }
    if (errno != ENOENT)
        die("get_next_key", errno);
    return (now_ns() - t) / n;
}

static double dumpbatch(int fd, long max_entries)
{
    uint32_t *keys = malloc(max_entries * sizeof(*keys));
    uint64_t *values = malloc(max_entries * sizeof(*values));
    uint32_t out_batch, count;
    long n = 0;
    int err = 0;
    double t = now_ns();

    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    while (!err) {
        count = max_entries - n;
        err = bpf_map_lookup_batch(fd, n ? &out_batch : NULL, &out_batch, keys + n,
                                   values + n, &count, &opts);
        if (err && errno != ENOENT)
            die("lookup_batch", errno);
        n += count;
    }
    t = (now_ns() - t) / n;
    free(keys);
    free(values);
    return t;
}

struct sink {
    char *buf;
    size_t len;
};

static int copy_out(void *ctx, void *data, size_t size)
{
    struct sink *s = ctx;

    memcpy(s->buf + s->len, data, size);
    s->len += size;
    return 0;
}

static void fill(int prog_fd, long n)
{
    char packet[64] = { 0 };
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = sizeof(packet),
                .repeat = n);

    if (bpf_prog_test_run_opts(prog_fd, &opts))
        die("test_run (fill)", errno);
}

static double ring(struct ring_buffer *rb, struct sink *s, int prog_fd, long n)
{
    double t;
    int got;

    fill(prog_fd, n);
    s->len = 0;
    t = now_ns();
    got = ring_buffer__consume(rb);
    t = now_ns() - t;
    if (got != n) {
        fprintf(stderr, "baseline: ring: drained %d records, expected %ld\n", got, n);
        exit(1);
    }
    return t / n;
}

static double testrun(int prog_fd, long n)
{
    char packet[64] = { 0 };
    double t = now_ns();

    for (long i = 0; i < n; i++) {
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = sizeof(packet),
                    .repeat = 1);
        if (bpf_prog_test_run_opts(prog_fd, &opts))
            die("test_run", errno);
    }
    return (now_ns() - t) / n;
}

static double openload(const char *path, long n)
{
    double t = now_ns();

    for (long i = 0; i < n; i++) {
        struct bpf_object *obj = bpf_object__open_file(path, NULL);
        int err;

        if (!obj)
            die("open", errno);
        err = bpf_object__load(obj);
        if (err)
            die("load", err);
        bpf_object__close(obj);
    }
    return (now_ns() - t) / n;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    double result = 1e300;

    if (!strcmp(cmd, "lookup") && argc == 6) {
        for (long t = arg(argv, 5); t > 0; t--)
            result = best(result, lookup(arg(argv, 2), arg(argv, 3), arg(argv, 4)));
    } else if (!strcmp(cmd, "update") && argc == 6) {
        for (long t = arg(argv, 5); t > 0; t--)
            result = best(result, update(arg(argv, 2), arg(argv, 3), arg(argv, 4)));
    } else if (!strcmp(cmd, "dump") && argc == 4) {
        for (long t = arg(argv, 3); t > 0; t--)
            result = best(result, dump(arg(argv, 2)));
    } else if (!strcmp(cmd, "dumpbatch") && argc == 4) {
        struct bpf_map_info info = {};
        uint32_t len = sizeof(info);

        if (bpf_map_get_info_by_fd(arg(argv, 2), &info, &len))
            die("map info", errno);
        for (long t = arg(argv, 3); t > 0; t--)
            result = best(result, dumpbatch(arg(argv, 2), info.max_entries));
    } else if (!strcmp(cmd, "ring") && argc == 6) {
        long n = arg(argv, 4);
        struct sink s = { .buf = malloc(n * 64) };
        struct ring_buffer *rb = ring_buffer__new(arg(argv, 2), copy_out, &s, NULL);

        if (!rb || !s.buf)
            die("ring_buffer__new", errno);
        for (long t = arg(argv, 5); t > 0; t--)
            result = best(result, ring(rb, &s, arg(argv, 3), n));
        ring_buffer__free(rb);
        free(s.buf);
    } else if (!strcmp(cmd, "testrun") && argc == 5) {
        for (long t = arg(argv, 4); t > 0; t--)
            result = best(result, testrun(arg(argv, 2), arg(argv, 3)));
    } else if (!strcmp(cmd, "openload") && argc == 5) {
        openload(argv[2], 1); /* warm: the file in the page cache, libbpf's probes done */
        for (long t = arg(argv, 4); t > 0; t--)
            result = best(result, openload(argv[2], arg(argv, 3)));
    } else {
        fprintf(stderr, "usage: see the comment at the top of baseline.c\n");
        return 2;
    }
    printf("%.3f\n", result);
    return 0;
}
