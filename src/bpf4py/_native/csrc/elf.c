/* The `license` section of an ELF object held in memory (declared in decl/elf.h).  bpf4py
 * loads each program with bpf_prog_load itself and so needs the license libbpf read at open
 * but does not expose.  Headers are copied out with memcpy (the buffer may be unaligned) and
 * every offset is checked against `size`: the bytes may be anything.  Only objects of the
 * host's byte order are read; libbpf refuses to load any other. */
#include <elf.h>

static int bpf4py_elf_range(size_t size, __u64 offset, __u64 length)
{
    return offset <= size && length <= size - offset;
}

int bpf4py_elf_license(const unsigned char *elf, size_t size, char *out, size_t out_size)
{
    Elf64_Ehdr eh;
    Elf64_Shdr names, sh;
    size_t i, n;

    out[0] = '\0';
    if (size < sizeof(eh))
        return -1;
    memcpy(&eh, elf, sizeof(eh));
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_ident[EI_DATA] != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB
                                                                          : ELFDATA2MSB) ||
        eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shstrndx >= eh.e_shnum ||
        !bpf4py_elf_range(size, eh.e_shoff, (__u64)eh.e_shnum * sizeof(Elf64_Shdr)))
        return -1;
    memcpy(&names, elf + eh.e_shoff + eh.e_shstrndx * sizeof(Elf64_Shdr), sizeof(names));
    if (!bpf4py_elf_range(size, names.sh_offset, names.sh_size))
        return -1;
    for (i = 0; i < eh.e_shnum; i++) {
        memcpy(&sh, elf + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof(sh));
        /* "license" and its NUL must lie inside the section-name table */
        if (sh.sh_name >= names.sh_size || names.sh_size - sh.sh_name < sizeof("license") ||
            memcmp(elf + names.sh_offset + sh.sh_name, "license", sizeof("license")) != 0)
            continue;
        if (!bpf4py_elf_range(size, sh.sh_offset, sh.sh_size))
            return -1;
        n = strnlen((const char *)elf + sh.sh_offset, sh.sh_size);
        n = n < out_size - 1 ? n : out_size - 1;
        memcpy(out, elf + sh.sh_offset, n);
        out[n] = '\0';
        return 0;
    }
    return 1;
}
