/* elf: read-only inspection of an uploaded shared object, without loading
 * it. The master never dlopens a plug-in (its code is not trusted there);
 * this reads the ELF header and the dynamic symbol table as bytes, with
 * every offset bounds-checked, to refuse an upload that no worker could
 * load with a clear message. */
#ifndef HG_MASTER_ELF_H
#define HG_MASTER_ELF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int elf_class;     /* 32 or 64 */
    int big_endian;    /* 1 for MSB byte order */
    char arch[32];     /* e_machine as a name: "x86_64", "aarch64", ... or "machine-N" */
    int exports_entry; /* 1: defines the symbol asked for; 0: does not; -1: cannot tell
                          (no section headers) */
} hg_elf_info_t;

/* Inspect data[0..len). symbol is the entry point to look for in the
 * dynamic symbol table (may be NULL: exports_entry is then -1). Returns 0
 * with *info filled, or HG_EINVAL with a one-line reason in err ("not an
 * ELF file: ...", "is an ELF executable, not a shared object ...",
 * "truncated: ..."). Never reads outside data. */
int hg_elf_inspect(const uint8_t *data, size_t len, const char *symbol, hg_elf_info_t *info,
                   char *err, size_t err_size);

#endif
