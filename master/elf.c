/* elf: bounds-checked reading of ELF headers and the dynamic symbol table
 * of a shared object held in memory (see elf.h). Both classes (32/64-bit)
 * and both byte orders are read, so that a master on one architecture can
 * check plug-ins built for another. */
#include "elf.h"
#include "hg_error.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define S_ET_REL     1
#define S_ET_EXEC    2
#define S_ET_DYN     3
#define S_ET_CORE    4
#define S_SHT_DYNSYM 11
#define S_SHN_UNDEF  0

/* A reader over the file's bytes in its own byte order. */
typedef struct {
    const uint8_t *data; /* the file */
    size_t len;          /* its size */
    bool msb;            /* big-endian */
    bool is64;           /* ELFCLASS64 */
} s_reader_t;

/* True when [off, off + n) lies inside the file (overflow-safe). */
static bool s_inside(const s_reader_t *r, uint64_t off, uint64_t n)
{
    return off <= r->len && n <= r->len - off;
}

static uint64_t s_uint(const s_reader_t *r, uint64_t off, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) {
        int k = r->msb ? i : bytes - 1 - i;
        v = (v << 8) | r->data[off + (uint64_t) k];
    }
    return v;
}

static const struct {
    unsigned machine; /* e_machine */
    const char *name; /* what people call it */
} s_machines[] = {
    {3, "i386"}, {8, "mips"},    {20, "ppc"},      {21, "ppc64"},  {22, "s390x"},
    {40, "arm"}, {62, "x86_64"}, {183, "aarch64"}, {243, "riscv"}, {258, "loongarch"},
};

static void s_arch_name(unsigned machine, char *buf, size_t size)
{
    for (size_t i = 0; i < sizeof s_machines / sizeof s_machines[0]; i++) {
        if (s_machines[i].machine == machine) {
            snprintf(buf, size, "%s", s_machines[i].name);
            return;
        }
    }
    snprintf(buf, size, "machine-%u", machine);
}

/* Look for a defined, exported symbol in the dynamic symbol table.
 * 1 found, 0 not found, -1 no section headers; HG_EINVAL when the tables
 * point outside the file. */
static int s_find_symbol(const s_reader_t *r, const char *symbol, char *err, size_t err_size)
{
    uint64_t shoff = r->is64 ? s_uint(r, 0x28, 8) : s_uint(r, 0x20, 4);
    uint64_t shentsize = s_uint(r, r->is64 ? 0x3A : 0x2E, 2);
    uint64_t shnum = s_uint(r, r->is64 ? 0x3C : 0x30, 2);
    if (shoff == 0 || shnum == 0) return -1;
    uint64_t min_ent = r->is64 ? 64 : 40;
    if (shentsize < min_ent || !s_inside(r, shoff, shnum * shentsize)) {
        snprintf(err, err_size,
                 "truncated or damaged ELF file: its section table lies past the end of the "
                 "%zu bytes received",
                 r->len);
        return HG_EINVAL;
    }
    size_t symlen = strlen(symbol);
    for (uint64_t i = 0; i < shnum; i++) {
        uint64_t sh = shoff + i * shentsize;
        if (s_uint(r, sh + 4, 4) != S_SHT_DYNSYM) continue;
        uint64_t off = r->is64 ? s_uint(r, sh + 24, 8) : s_uint(r, sh + 16, 4);
        uint64_t size = r->is64 ? s_uint(r, sh + 32, 8) : s_uint(r, sh + 20, 4);
        uint64_t link = r->is64 ? s_uint(r, sh + 40, 4) : s_uint(r, sh + 24, 4);
        uint64_t entsize = r->is64 ? s_uint(r, sh + 56, 8) : s_uint(r, sh + 36, 4);
        uint64_t min_sym = r->is64 ? 24 : 16;
        if (entsize < min_sym || link >= shnum || !s_inside(r, off, size)) {
            snprintf(err, err_size, "damaged ELF file: bad dynamic symbol table");
            return HG_EINVAL;
        }
        uint64_t str_sh = shoff + link * shentsize;
        uint64_t str_off = r->is64 ? s_uint(r, str_sh + 24, 8) : s_uint(r, str_sh + 16, 4);
        uint64_t str_size = r->is64 ? s_uint(r, str_sh + 32, 8) : s_uint(r, str_sh + 20, 4);
        if (!s_inside(r, str_off, str_size)) {
            snprintf(err, err_size, "damaged ELF file: bad dynamic string table");
            return HG_EINVAL;
        }
        const uint8_t *strtab = r->data + str_off;
        for (uint64_t s = 0; s < size / entsize; s++) {
            uint64_t sym = off + s * entsize;
            uint64_t name = s_uint(r, sym, 4);
            unsigned info = r->is64 ? r->data[sym + 4] : r->data[sym + 12];
            unsigned other = r->is64 ? r->data[sym + 5] : r->data[sym + 13];
            uint64_t shndx = s_uint(r, r->is64 ? sym + 6 : sym + 14, 2);
            if (name >= str_size || str_size - name < symlen + 1) continue;
            if (memcmp(strtab + name, symbol, symlen + 1) != 0) continue;
            unsigned bind = info >> 4, visibility = other & 3;
            /* Defined, global or weak, default or protected visibility:
             * what dlsym finds. */
            if (shndx != S_SHN_UNDEF && (bind == 1 || bind == 2) &&
                (visibility == 0 || visibility == 3))
                return 1;
        }
        return 0;
    }
    return 0; /* no dynamic symbol table: it exports nothing */
}

int hg_elf_inspect(const uint8_t *data, size_t len, const char *symbol, hg_elf_info_t *info,
                   char *err, size_t err_size)
{
    memset(info, 0, sizeof *info);
    if (!data || len < 4 ||
        memcmp(data,
               "\x7f"
               "ELF",
               4) != 0) {
        snprintf(err, err_size,
                 "not an ELF file (it does not start with the bytes 7f 45 4c 46); upload the "
                 "plug-in's .so built with cc -shared -fPIC");
        return HG_EINVAL;
    }
    if (len < 16 || (data[4] != 1 && data[4] != 2) || (data[5] != 1 && data[5] != 2)) {
        snprintf(err, err_size, "damaged ELF file: unknown class or byte order");
        return HG_EINVAL;
    }
    s_reader_t r = {.data = data, .len = len, .msb = data[5] == 2, .is64 = data[4] == 2};
    size_t header = r.is64 ? 64 : 52;
    if (len < header) {
        snprintf(err, err_size, "truncated ELF file: %zu bytes, shorter than its %zu-byte header",
                 len, header);
        return HG_EINVAL;
    }
    info->elf_class = r.is64 ? 64 : 32;
    info->big_endian = r.msb;
    s_arch_name((unsigned) s_uint(&r, 18, 2), info->arch, sizeof info->arch);
    unsigned type = (unsigned) s_uint(&r, 16, 2);
    if (type != S_ET_DYN) {
        const char *what = type == S_ET_REL    ? "a relocatable object (.o)"
                           : type == S_ET_EXEC ? "an executable"
                           : type == S_ET_CORE ? "a core dump"
                                               : "an ELF file of unknown type";
        snprintf(err, err_size,
                 "is %s, not a shared object; build the plug-in with cc -shared -fPIC", what);
        return HG_EINVAL;
    }
    info->exports_entry = -1;
    if (symbol) {
        int found = s_find_symbol(&r, symbol, err, err_size);
        if (found == HG_EINVAL) return HG_EINVAL;
        info->exports_entry = found;
    }
    return 0;
}
