/* The `license` section of an ELF object in memory (csrc/elf.c), NUL-terminated in `out`
 * (truncated to out_size - 1 bytes, as libbpf does to 63).  Returns 0 when found, 1 when the
 * object has no such section, -1 when the bytes are not a 64-bit ELF object of the host's
 * byte order or a header points outside them; `out` is "" unless 0 is returned. */
int bpf4py_elf_license(const unsigned char *elf, size_t size, char *out, size_t out_size);
