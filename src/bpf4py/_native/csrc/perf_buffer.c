/* bpf4py's perf buffer reader: libbpf's struct perf_buffer (one perf ring per CPU) on a
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY map.  perf_buffer__new_raw rather than perf_buffer__new: it
 * takes the perf_event_attr, so the reader can choose a byte watermark as well as a count of
 * events per wake-up, and its event callback can stop a drain at a record limit without
 * dropping the records after it.  Samples are collected into a bpf4py_batch (batch.c); lost
 * samples are counted per CPU. */
#include <fcntl.h>
#include <unistd.h>
#include <linux/perf_event.h>

struct bpf4py_perfbuf {
    struct bpf4py_batch batch;
    struct perf_buffer *pb;
    unsigned long long *lost;   /* samples the kernel dropped, per CPU, since the reader opened */
    int ncpus;                  /* entries of lost: the possible CPUs */
    int map_fd;                 /* the reader's own duplicate of the map's descriptor:
                                   perf_buffer__free uses it again, to clear the map's slots */
    size_t limit;               /* the most records the running drain collects */
    size_t next;                /* the buffer the next drain starts with (round robin) */
    int err;                    /* -ENOMEM when the running drain ran out of memory */
};

/* PERF_SAMPLE_RAW and PERF_RECORD_LOST records, as the kernel lays them out. */
struct bpf4py_perf_sample {
    struct perf_event_header header;
    __u32 size;
    unsigned char data[];
};

struct bpf4py_perf_lost {
    struct perf_event_header header;
    __u64 id;
    __u64 lost;
};

static enum bpf_perf_event_ret bpf4py_perfbuf_event(void *ctx, int cpu,
                                                     struct perf_event_header *e)
{
    struct bpf4py_perfbuf *r = ctx;

    if (e->type == PERF_RECORD_SAMPLE) {
        struct bpf4py_perf_sample *s = (void *)e;

        if (bpf4py_batch_add(&r->batch, s->data, s->size)) {
            r->err = -ENOMEM;
            return LIBBPF_PERF_EVENT_ERROR;
        }
        /* DONE stops this buffer after this record, which is consumed and collected. */
        return r->batch.count >= r->limit ? LIBBPF_PERF_EVENT_DONE : LIBBPF_PERF_EVENT_CONT;
    }
    if (e->type == PERF_RECORD_LOST && cpu >= 0 && cpu < r->ncpus)
        r->lost[cpu] += ((struct bpf4py_perf_lost *)e)->lost;
    return LIBBPF_PERF_EVENT_CONT;
}

static void bpf4py_perfbuf_free(struct bpf4py_perfbuf *r)
{
    if (!r)
        return;
    perf_buffer__free(r->pb);
    if (r->map_fd >= 0)
        close(r->map_fd);
    free(r->lost);
    bpf4py_batch_free(&r->batch);
    free(r);
}

/* wakeup_bytes > 0: wake a waiting reader each time that many bytes were written (a
 * watermark); otherwise every wakeup_events samples.  Either way the kernel also wakes it
 * when a buffer is half full.  NULL with errno set on failure. */
static struct bpf4py_perfbuf *bpf4py_perfbuf_new(int map_fd, size_t page_cnt,
                                                 unsigned int wakeup_events,
                                                 unsigned int wakeup_bytes)
{
    struct perf_event_attr attr;
    struct bpf4py_perfbuf *r;
    int err;

    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_BPF_OUTPUT;
    attr.sample_type = PERF_SAMPLE_RAW;
    if (wakeup_bytes) {
        attr.watermark = 1;
        attr.wakeup_watermark = wakeup_bytes;
    } else {
        attr.wakeup_events = wakeup_events;
    }

    r = calloc(1, sizeof(*r));
    if (!r) {
        errno = ENOMEM;
        return NULL;
    }
    r->map_fd = -1;
    r->ncpus = libbpf_num_possible_cpus();
    if (r->ncpus < 0) {
        err = -r->ncpus;
        goto fail;
    }
    r->lost = calloc((size_t)r->ncpus, sizeof(*r->lost));
    if (!r->lost) {
        err = ENOMEM;
        goto fail;
    }
    r->map_fd = fcntl(map_fd, F_DUPFD_CLOEXEC, 0);
    if (r->map_fd < 0) {
        err = errno;
        goto fail;
    }
    r->pb = perf_buffer__new_raw(r->map_fd, page_cnt, &attr, bpf4py_perfbuf_event, r, NULL);
    if (!r->pb) {
        err = errno;
        goto fail;
    }
    return r;

fail:
    bpf4py_perfbuf_free(r);
    errno = err;
    return NULL;
}

/* Consume up to max_records (<= INT_MAX) samples without waiting, buffer after buffer: the
 * number collected in batch, or -errno. */
static int bpf4py_perfbuf_drain(struct bpf4py_perfbuf *r, size_t max_records)
{
    size_t n = perf_buffer__buffer_cnt(r->pb);
    size_t i, idx;
    int err = 0;

    if (bpf4py_batch_begin(&r->batch))
        return -ENOMEM;
    r->limit = max_records;
    r->err = 0;
    for (i = 0; i < n && r->batch.count < max_records; i++) {
        idx = (r->next + i) % n;
        err = perf_buffer__consume_buffer(r->pb, idx);
        if (r->err)
            err = r->err;
        if (err < 0)
            break;
        if (r->batch.count >= max_records)
            r->next = (idx + 1) % n;  /* fair to the other CPUs when reading in small steps */
    }
    bpf4py_batch_end(&r->batch);
    return err < 0 ? err : (int)r->batch.count;
}
