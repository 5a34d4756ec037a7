/* perf_event_open(2) of a tracepoint, for TracePoint.attach (glibc has no wrapper). */
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

static int bpf4py_perf_event_open_tracepoint(__u64 tp_id)
{
    struct perf_event_attr attr;

    memset(&attr, 0, sizeof(attr));
    attr.type = PERF_TYPE_TRACEPOINT;
    attr.size = sizeof(attr);
    attr.config = tp_id;
    attr.sample_period = 1;
    attr.wakeup_events = 1;
    return (int)syscall(__NR_perf_event_open, &attr, -1 /* any pid */, 0 /* cpu */,
                        -1 /* no group */, PERF_FLAG_FD_CLOEXEC);
}
