/* dirent.h - a stand-in for targets without directories (the unit tests on
 * the emulated Cortex-M3, whose file I/O is semihosting: files, no listing).
 *
 * opendir(path) reads the names from the text file CBK_DIRENT_INDEX (one
 * name a line; the build writes it with ls from the same directory), so
 * test_json.c walks the JSONTestSuite corpus unchanged and opens each file
 * through semihosting. Only what test_json.c uses: opendir, readdir,
 * closedir, d_name. */
#ifndef CBK_PORTABLE_DIRENT_H
#define CBK_PORTABLE_DIRENT_H

#include <stdio.h>
#include <string.h>

#ifndef CBK_DIRENT_INDEX
#error "define CBK_DIRENT_INDEX: the file that lists the directory's names"
#endif

struct dirent {
    char d_name[256];
};

typedef struct cbk_portable_dir {
    FILE *index;
    struct dirent entry;
} DIR;

static DIR cbk_portable_dir_one;

static DIR *opendir(const char *path) {
    (void)path;
    if (cbk_portable_dir_one.index) return NULL; /* one open directory at a time */
    cbk_portable_dir_one.index = fopen(CBK_DIRENT_INDEX, "r");
    return cbk_portable_dir_one.index ? &cbk_portable_dir_one : NULL;
}

static struct dirent *readdir(DIR *d) {
    char *nl;
    if (!fgets(d->entry.d_name, (int)sizeof d->entry.d_name, d->index)) return NULL;
    nl = strpbrk(d->entry.d_name, "\r\n");
    if (nl) *nl = '\0';
    return &d->entry;
}

static int closedir(DIR *d) {
    int rc = fclose(d->index);
    d->index = NULL;
    return rc;
}

#endif
