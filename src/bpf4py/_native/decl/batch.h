/* A batch of records collected in C (csrc/batch.c): buf[0:len] is the marshal stream of a
 * list of bytes, decoded by _native/batch.py; count is how many records it holds (Python
 * sets it to 0 once it has them). */
struct bpf4py_batch {
    unsigned char *buf;
    size_t len;
    size_t count;
    ...;
};
