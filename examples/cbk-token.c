/* cbk-token - manage ChatBotKit partner user tokens from the shell.
 *
 * A small, complete program on cbk_token.h: one static work buffer, one
 * client and one transport context (libcurl, or the POSIX socket adapter)
 * for the whole run, so connections are reused; retries with nanosleep. The
 * secret is read from CBK_SECRET or --secret-file, never from argv, and
 * never printed: any run of its bytes in what the CLI prints is masked.
 * "cbk-token --help", "cbk-token help COMMAND" and cbk-token(1) (docs/
 * cbk-token.1) describe usage, output and exit statuses.
 *
 * Build (see mk/adapters.mk; `make install` puts it in $(PREFIX)/bin):
 *   cc -std=c99 -I. examples/cbk-token.c $(pkg-config --cflags --libs libcurl)
 *   cc -std=c99 -I. -DCBK_CLI_NO_CURL examples/cbk-token.c     # POSIX only
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CBK_TOKEN_IMPLEMENTATION
#include "cbk_token.h"
#ifndef CBK_CLI_NO_CURL
#define CBK_TOKEN_CURL_IMPLEMENTATION
#include "adapters/cbk_token_curl.h"
#endif
#define CBK_TOKEN_POSIX_IMPLEMENTATION
#include "adapters/cbk_token_posix.h"

#define CLI_VERSION      CBK_TOKEN_VERSION
#define CLI_META_MAX     32
#define CLI_TAKE_DEFAULT 20 /* list's page size when --take is not given */
#define CLI_MASK_PIECE                                                                             \
    8                   /* a run of the secret this long is masked anywhere                        \
                         */
#define CLI_MASK_EDGE 4 /* ... and this long at a field's start or end */

/* Exit statuses (documented in --help and cbk-token(1)). */
#define EXIT_OUTPUT 1 /* stdout could not be written (not a closed pipe) */
#define EXIT_USAGE  (1 + (int)CBK_ERR_INVALID_ARGUMENT)

static char work[16384];
static char secret[1024];
static size_t secret_len;
static char scratch[sizeof work + 1]; /* a masked copy of what is printed */

/* ---- help ---------------------------------------------------------------- */

static const char usage_text[] =
    "usage: cbk-token [global options] COMMAND [options] ARGS\n"
    "\n"
    "commands (cbk-token help COMMAND, or COMMAND --help, for each):\n"
    "  list USER_ID                one page of a user's tokens (--all, "
    "--stream)\n"
    "  create USER_ID              create a token; shows its secret once\n"
    "  update USER_ID TOKEN_ID     change a token's name, description, meta\n"
    "  delete USER_ID TOKEN_ID     delete a token\n"
    "\n"
    "global options (anywhere on the line):\n"
    "  --base-url URL         default $CBK_BASE_URL, else "
    "https://api.chatbotkit.com\n"
    "  --transport curl|posix default curl when built with it (posix: http:// "
    "only)\n"
    "  --ca-file PATH         CA bundle for TLS (curl); default: the system's\n"
    "  --secret-file PATH     read the secret from PATH (\"-\": stdin); "
    "default:\n"
    "                         $CBK_SECRET. Never taken from the command line.\n"
    "  --run-as-user ID       act as this user (X-RunAs-User-Id); "
    "$CBK_RUN_AS_USER_ID\n"
    "  --run-as-child-email E act as this child user "
    "(X-RunAs-Child-User-Email);\n"
    "                         $CBK_RUN_AS_CHILD_EMAIL\n"
    "  --json                 JSON Lines instead of a table\n"
    "  -v, --verbose          each request on stderr: method, URL, status, "
    "time,\n"
    "                         and every retry with its wait (never the "
    "secret)\n"
    "  -q, --quiet            no table header, no notes on stderr; errors "
    "only\n"
    "  -h, --help             this text      --version  version and "
    "transports\n"
    "An empty environment variable counts as unset.\n"
    "\n"
    "exit status:\n"
    "  0 success (also when the reader of stdout went away, as in | head)\n"
    "  1 stdout could not be written\n"
    "  2 bad command line, missing secret, or an argument the library refused\n"
    "  3 a value does not fit in the CLI's buffers\n"
    "  4 transport: cannot resolve, connect, TLS, timeout, connection lost\n"
    "  5 HTTP: the API answered with an error status\n"
    "  6 the API's answer is not what it documents\n"
    "errors go to stderr as one line: cbk-token: <what went wrong>\n";

static const char help_list[] =
    "usage: cbk-token list [--all | --stream] [--cursor C] [--order asc|desc]\n"
    "                      [--take N] [--meta K=V]... USER_ID\n"
    "\n"
    "One page of USER_ID's tokens (--take of them, default 20), newest first\n"
    "unless --order asc. --all follows the cursors to the end; --stream asks "
    "for\n"
    "every token in one response (JSON Lines on the wire). --meta K=V keeps "
    "the\n"
    "tokens whose meta has K equal to V.\n"
    "\n"
    "Table: ID, NAME, DESCRIPTION, CREATED, UPDATED (UTC); long names and\n"
    "descriptions are cut to the column (by display width) and end in '~'.\n"
    "--json: one line per token, always the same shape, never cut:\n"
    "  {\"id\":..,\"name\":..,\"description\":..,\"meta\":{..}|null,\n"
    "   \"createdAt\":ms,\"updatedAt\":ms}\n"
    "The next page: when a single page is full and the API gave a cursor, the\n"
    "table ends with \"next cursor: C\"; with --json the line\n"
    "\"cbk-token: next cursor: C\" goes to stderr (stdout holds tokens only).\n"
    "Not on the last page; not with --all or --stream; not with -q.\n"
    "A token too long for the CLI's 16 KiB buffer is listed with its name or\n"
    "description cut, its meta left out, and a note on stderr naming them.\n";

static const char help_create[] =
    "usage: cbk-token create [--name N] [--description D] [--meta K=V]... "
    "USER_ID\n"
    "\n"
    "Creates a token for USER_ID and prints its id, its secret (shown only\n"
    "this once) and when it was created; with --json one line\n"
    "  {\"id\":..,\"token\":..,\"createdAt\":ms}\n"
    "A create is re-sent only where the API cannot have acted on it.\n";

static const char help_update[] =
    "usage: cbk-token update [--name N] [--description D] [--meta K=V]...\n"
    "                        USER_ID TOKEN_ID\n"
    "\n"
    "Changes the given fields of TOKEN_ID and prints its id; with --json\n"
    "  {\"id\":..}\n";

static const char help_delete[] = "usage: cbk-token delete USER_ID TOKEN_ID\n"
                                  "\n"
                                  "Deletes TOKEN_ID and prints its id; with --json {\"id\":..}\n";

/* ---- the command line ------------------------------------------------------
 */

typedef struct cli {
    const char *command;
    const char *args[2];
    int nargs;
    const char *base_url, *transport, *secret_file, *ca_file, *run_as_user, *child_email;
    const char *name, *description, *cursor, *order, *take_text;
    int json, all, stream, verbose, quiet, help, version;
    int take;
    cbk_kv meta[CLI_META_MAX];
    size_t meta_count;
} cli;

enum { OPT_FLAG, OPT_TEXT, OPT_META };

typedef struct option {
    const char *name;  /* "--name" */
    const char *alias; /* "-v", or NULL */
    int kind;
    size_t at; /* offsetof the int or const char * in cli */
} option;

static const option options[] = {
    {"--base-url", NULL, OPT_TEXT, offsetof(cli, base_url)},
    {"--transport", NULL, OPT_TEXT, offsetof(cli, transport)},
    {"--secret-file", NULL, OPT_TEXT, offsetof(cli, secret_file)},
    {"--ca-file", NULL, OPT_TEXT, offsetof(cli, ca_file)},
    {"--run-as-user", NULL, OPT_TEXT, offsetof(cli, run_as_user)},
    {"--run-as-child-email", NULL, OPT_TEXT, offsetof(cli, child_email)},
    {"--name", NULL, OPT_TEXT, offsetof(cli, name)},
    {"--description", NULL, OPT_TEXT, offsetof(cli, description)},
    {"--cursor", NULL, OPT_TEXT, offsetof(cli, cursor)},
    {"--order", NULL, OPT_TEXT, offsetof(cli, order)},
    {"--take", NULL, OPT_TEXT, offsetof(cli, take_text)},
    {"--meta", NULL, OPT_META, 0},
    {"--json", NULL, OPT_FLAG, offsetof(cli, json)},
    {"--all", NULL, OPT_FLAG, offsetof(cli, all)},
    {"--stream", NULL, OPT_FLAG, offsetof(cli, stream)},
    {"--verbose", "-v", OPT_FLAG, offsetof(cli, verbose)},
    {"--quiet", "-q", OPT_FLAG, offsetof(cli, quiet)},
    {"--help", "-h", OPT_FLAG, offsetof(cli, help)},
    {"--version", NULL, OPT_FLAG, offsetof(cli, version)},
};

static int usage_error(const char *what, const char *arg) {
    fprintf(stderr,
            "cbk-token: %s%s%s\ncbk-token: try 'cbk-token --help' for more "
            "information\n",
            what, arg ? ": " : "", arg ? arg : "");
    return EXIT_USAGE;
}

static const option *find_option(const char *a) {
    size_t i;
    for (i = 0; i < sizeof options / sizeof options[0]; i++)
        if (strcmp(a, options[i].name) == 0 ||
            (options[i].alias != NULL && strcmp(a, options[i].alias) == 0))
            return &options[i];
    return NULL;
}

static int add_meta(cli *o, char *val) {
    char *eq = strchr(val, '=');
    if (eq == NULL || eq == val) return usage_error("--meta needs KEY=VALUE", val);
    if (o->meta_count == CLI_META_MAX) return usage_error("too many --meta options", val);
    *eq = '\0';
    o->meta[o->meta_count].key = val;
    o->meta[o->meta_count++].value = eq + 1;
    return 0;
}

static int add_word(cli *o, const char *a) {
    if (o->command == NULL)
        o->command = a;
    else if (o->nargs < 2)
        o->args[o->nargs++] = a;
    else
        return usage_error("too many arguments", a);
    return 0;
}

/* One option at argv[*i] (its value may be the next word). 0 or an exit
   status. */
static int take_option(cli *o, int argc, char **argv, int *i) {
    char *a = argv[*i], *val = NULL, *eq = strchr(a, '=');
    const option *opt;
    if (strncmp(a, "--secret", 8) == 0 && strncmp(a, "--secret-file", 13) != 0)
        return usage_error("the secret is never taken from the command line; use CBK_SECRET or "
                           "--secret-file",
                           NULL);
    if (eq != NULL && a[1] == '-') {
        *eq = '\0';
        val = eq + 1;
    }
    opt = find_option(a);
    if (opt == NULL) return usage_error("unknown option", a);
    if (opt->kind == OPT_FLAG) {
        if (val != NULL) return usage_error("this option takes no value", a);
        *(int *)(void *)((char *)o + opt->at) = 1;
        return 0;
    }
    if (val == NULL && *i + 1 < argc) val = argv[++*i];
    if (val == NULL) return usage_error("missing value for", a);
    if (opt->kind == OPT_META) return add_meta(o, val);
    *(const char **)(void *)((char *)o + opt->at) = val;
    return 0;
}

static int parse_args(int argc, char **argv, cli *o) {
    int i, no_more = 0, status = 0;
    for (i = 1; i < argc && status == 0; i++) {
        const char *a = argv[i];
        if (!no_more && strcmp(a, "--") == 0)
            no_more = 1;
        else if (no_more || a[0] != '-' || a[1] == '\0')
            status = add_word(o, a);
        else
            status = take_option(o, argc, argv, &i);
    }
    return status;
}

static int parse_take(cli *o) {
    long v = 0;
    const char *s = o->take_text;
    if (s == NULL) return 0;
    if (*s == '\0') return usage_error("--take needs a number from 1 to 100", s);
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > 1000) return usage_error("--take needs a number", s);
        v = v * 10 + (*s - '0');
    }
    if (v < 1) return usage_error("--take needs a positive number", o->take_text);
    o->take = (int)v;
    return 0;
}

/* The help text of a command, or NULL. */
static const char *command_help(const char *command) {
    if (command == NULL) return usage_text;
    if (strcmp(command, "list") == 0) return help_list;
    if (strcmp(command, "create") == 0) return help_create;
    if (strcmp(command, "update") == 0) return help_update;
    if (strcmp(command, "delete") == 0) return help_delete;
    return NULL;
}

static int has_list_options(const cli *o) {
    return o->all || o->stream || o->cursor || o->order || o->take_text;
}

/* The options only some commands take; 0 when o->command takes them all. */
static int check_command_options(const cli *o, int is_list, int is_delete) {
    if (!is_list && has_list_options(o))
        return usage_error("--all, --stream, --cursor, --order and --take are for list",
                           o->command);
    if ((is_list || is_delete) && (o->name || o->description))
        return usage_error("--name and --description are for create and update", o->command);
    if (is_delete && o->meta_count > 0) return usage_error("delete takes no --meta", NULL);
    if (o->all && o->stream) return usage_error("--all and --stream exclude each other", NULL);
    return 0;
}

/* Which arguments and options each command takes; 0 when the line fits. */
static int check_args(const cli *o) {
    int is_list = strcmp(o->command, "list") == 0;
    int one_arg = is_list || strcmp(o->command, "create") == 0;
    if (command_help(o->command) == NULL) return usage_error("unknown command", o->command);
    if (o->nargs != (one_arg ? 1 : 2))
        return usage_error(one_arg ? "expected USER_ID" : "expected USER_ID TOKEN_ID", o->command);
    return check_command_options(o, is_list, strcmp(o->command, "delete") == 0);
}

/* An environment variable; an empty one counts as unset. */
static const char *env(const char *name) {
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* ---- masking and terminal-safe text -----------------------------------------
 */

/* The length of the run of the secret's bytes at s[i] that must be masked:
   CLI_MASK_PIECE bytes or more anywhere (all of a shorter secret), or
   CLI_MASK_EDGE or more where the field starts with the secret's end or
   ends with its start (a secret cut in two at a field boundary). */
static size_t secret_run(const char *s, size_t len, size_t i) {
    size_t best = 0, j, k, piece = secret_len < CLI_MASK_PIECE ? secret_len : CLI_MASK_PIECE;
    for (j = 0; j < secret_len; j++) {
        int edge;
        for (k = 0; i + k < len && j + k < secret_len && s[i + k] == secret[j + k]; k++) {
        }
        edge = k >= CLI_MASK_EDGE && ((i == 0 && j + k == secret_len) || (i + k == len && j == 0));
        if (k > best && k > 0 && (k >= piece || edge)) best = k;
    }
    return best;
}

/* s with every run of the secret replaced by '*', in scratch (cut to its
   size). Returns scratch. */
static const char *masked(const char *s, size_t *len) {
    size_t n = *len < sizeof scratch - 1 ? *len : sizeof scratch - 1, i = 0;
    memcpy(scratch, s, n);
    scratch[n] = '\0';
    while (i < n) {
        size_t run = secret_len ? secret_run(scratch, n, i) : 0;
        if (run == 0) {
            i++;
            continue;
        }
        memset(scratch + i, '*', run);
        i += run;
    }
    *len = n;
    return scratch;
}

/* The next code point of UTF-8 text at s[*i] (the library hands over valid
   UTF-8; a stray byte reads as U+FFFD and takes one byte). */
static unsigned long next_code_point(const char *s, size_t len, size_t *i) {
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t left = len - *i, n = 1, k;
    unsigned long cp = p[0];
    if (p[0] >= 0xf0 && left >= 4) {
        n = 4;
        cp = p[0] & 0x07u;
    } else if (p[0] >= 0xe0 && left >= 3) {
        n = 3;
        cp = p[0] & 0x0fu;
    } else if (p[0] >= 0xc0 && left >= 2) {
        n = 2;
        cp = p[0] & 0x1fu;
    } else if (p[0] >= 0x80) {
        *i += 1;
        return 0xfffd;
    }
    for (k = 1; k < n; k++) cp = (cp << 6) | (p[k] & 0x3fu);
    *i += n;
    return cp;
}

/* Code points a terminal would act on: C0, DEL, C1. */
static int is_control(unsigned long cp) {
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

typedef struct cp_range {
    unsigned long lo, hi;
} cp_range;

/* East Asian Wide and Fullwidth blocks (2 columns), and combining marks and
   zero-width characters (0 columns): a table of our own, so the columns do
   not depend on the locale. */
static const cp_range wide_ranges[] = {
    {0x1100, 0x115f},   {0x231a, 0x231b},   {0x2329, 0x232a},   {0x23e9, 0x23ec},
    {0x2e80, 0x303e},   {0x3041, 0x33ff},   {0x3400, 0x4dbf},   {0x4e00, 0x9fff},
    {0xa000, 0xa4cf},   {0xa960, 0xa97f},   {0xac00, 0xd7a3},   {0xf900, 0xfaff},
    {0xfe10, 0xfe19},   {0xfe30, 0xfe6f},   {0xff00, 0xff60},   {0xffe0, 0xffe6},
    {0x1f300, 0x1f64f}, {0x1f900, 0x1f9ff}, {0x20000, 0x2fffd}, {0x30000, 0x3fffd},
};
static const cp_range zero_ranges[] = {
    {0x0300, 0x036f}, {0x0483, 0x0489}, {0x0591, 0x05bd}, {0x0610, 0x061a},
    {0x064b, 0x065f}, {0x1ab0, 0x1aff}, {0x1dc0, 0x1dff}, {0x200b, 0x200f},
    {0x20d0, 0x20ff}, {0xfe00, 0xfe0f}, {0xfe20, 0xfe2f}, {0xe0100, 0xe01ef},
};

static int in_ranges(unsigned long cp, const cp_range *r, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (cp >= r[i].lo && cp <= r[i].hi) return 1;
    return 0;
}

/* Columns a code point takes on a terminal; a control shows as '?' (1). */
static int display_width(unsigned long cp) {
    if (in_ranges(cp, zero_ranges, sizeof zero_ranges / sizeof zero_ranges[0])) return 0;
    if (in_ranges(cp, wide_ranges, sizeof wide_ranges / sizeof wide_ranges[0])) return 2;
    return 1;
}

/* Text for a terminal, masked: controls (C0, DEL, C1) become '?'. Prints at
   most max_width columns (-1: all); returns the columns printed. */
static int put_text(FILE *f, const char *s, size_t len, int max_width) {
    size_t i = 0;
    int cols = 0;
    s = masked(s, &len);
    while (i < len) {
        size_t at = i;
        unsigned long cp = next_code_point(s, len, &i);
        int w = is_control(cp) ? 1 : display_width(cp);
        if (max_width >= 0 && cols + w > max_width) break;
        if (is_control(cp) || cp == 0xfffd)
            fputc('?', f);
        else
            fwrite(s + at, 1, i - at, f);
        cols += w;
    }
    return cols;
}

static void put_str(FILE *f, const char *s) {
    put_text(f, s, strlen(s), -1);
}

/* The columns s takes (after masking, which keeps the length). */
static int text_width(const char *s, size_t len) {
    size_t i = 0;
    int cols = 0;
    while (i < len) {
        unsigned long cp = next_code_point(s, len, &i);
        cols += is_control(cp) ? 1 : display_width(cp);
    }
    return cols;
}

/* A table cell of width columns, padded: s is len bytes (it may hold U+0000,
   shown as '?'), NULL is "-". cut = 0 never cuts (ids must stay copyable);
   else longer text is cut to width - 1 columns and ends in '~'. */
static void put_cell(const char *s, size_t len, int width, int cut) {
    int cols;
    if (s == NULL) {
        s = "-";
        len = 1;
    }
    if (!cut || text_width(s, len) <= width) {
        cols = put_text(stdout, s, len, -1);
    } else {
        cols = put_text(stdout, s, len, width - 1);
        fputc('~', stdout);
        cols++;
    }
    for (; cols < width; cols++) fputc(' ', stdout);
}

static void put_heading(const char *s, int width) {
    put_cell(s, strlen(s), width, 0);
}

/* A JSON escape for a code point a terminal would act on, or that breaks
   JavaScript (U+2028, U+2029); NULL for one printed as is. */
static const char *json_escape(unsigned long cp, char buf[8]) {
    static const char hex[] = "0123456789abcdef";
    switch (cp) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\b': return "\\b";
    case '\f': return "\\f";
    default: break;
    }
    if (!is_control(cp) && cp != 0x2028 && cp != 0x2029) return NULL;
    buf[0] = '\\';
    buf[1] = 'u';
    buf[2] = hex[(cp >> 12) & 15];
    buf[3] = hex[(cp >> 8) & 15];
    buf[4] = hex[(cp >> 4) & 15];
    buf[5] = hex[cp & 15];
    buf[6] = '\0';
    return buf;
}

/* A JSON string of len bytes (or null), masked, every control escaped (C1
   and U+0000 included). */
static void put_json_text(const char *s, size_t len) {
    size_t i = 0;
    char buf[8];
    if (s == NULL) {
        fputs("null", stdout);
        return;
    }
    s = masked(s, &len);
    fputc('"', stdout);
    while (i < len) {
        size_t at = i;
        const char *esc = json_escape(next_code_point(s, len, &i), buf);
        if (esc != NULL)
            fputs(esc, stdout);
        else
            fwrite(s + at, 1, i - at, stdout);
    }
    fputc('"', stdout);
}

static void put_json_string(const char *s) {
    put_json_text(s, s != NULL ? strlen(s) : 0);
}

/* Valid JSON text (the library checked it) of len bytes on one line,
   masked: whitespace outside strings dropped, C1 controls and U+2028/9
   inside strings escaped (C0 cannot be there raw). */
static void put_json_compact(const char *s, size_t len) {
    size_t i = 0;
    int in_string = 0, escaped = 0;
    char buf[8];
    s = masked(s, &len);
    while (i < len) {
        size_t at = i;
        unsigned long cp = next_code_point(s, len, &i);
        const char *esc = cp >= 0x7f ? json_escape(cp, buf) : NULL;
        if (!in_string && (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r')) continue;
        if (in_string && escaped)
            escaped = 0;
        else if (in_string && cp == '\\')
            escaped = 1;
        else if (cp == '"')
            in_string = !in_string;
        if (esc != NULL)
            fputs(esc, stdout);
        else
            fwrite(s + at, 1, i - at, stdout);
    }
}

/* Milliseconds since the epoch as "2024-05-01T12:00:00.000Z" (proleptic
   Gregorian, integer arithmetic only). */
static void format_time(int64_t ms, char out[64]) {
    int64_t secs = ms / 1000, millis = ms % 1000, days, rem, era, doe, yoe, y, doy, mp, d, m;
    if (millis < 0) {
        millis += 1000;
        secs--;
    }
    days = secs / 86400;
    rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    days += 719468; /* days from 0000-03-01 to 1970-01-01 */
    era = (days >= 0 ? days : days - 146096) / 146097;
    doe = days - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) y++;
    snprintf(out, 64, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", (long long)y,
             (long long)m, (long long)d, (long long)(rem / 3600), (long long)(rem / 60 % 60),
             (long long)(rem % 60), (long long)millis);
}

/* ---- token output
 * ------------------------------------------------------------ */

typedef struct output {
    int json, quiet;
    int header;      /* the table header is out */
    size_t count;    /* tokens printed */
    int write_errno; /* errno of the first failed write to stdout, else 0 */
} output;

static void table_header(output *out) {
    if (out->json || out->header || out->quiet) return;
    out->header = 1;
    put_heading("ID", 25);
    fputs("  ", stdout);
    put_heading("NAME", 20);
    fputs("  ", stdout);
    put_heading("DESCRIPTION", 30);
    fputs("  ", stdout);
    put_heading("CREATED", 24);
    fputs("  UPDATED\n", stdout);
}

static void token_json(const cbk_token *t) {
    fputs("{\"id\":", stdout);
    put_json_text(t->id, t->id_len);
    fputs(",\"name\":", stdout);
    put_json_text(t->name, t->name_len);
    fputs(",\"description\":", stdout);
    put_json_text(t->description, t->description_len);
    fputs(",\"meta\":", stdout);
    if (t->meta != NULL)
        put_json_compact(t->meta, t->meta_len);
    else
        fputs("null", stdout);
    printf(",\"createdAt\":%lld,\"updatedAt\":%lld}\n", (long long)t->created_at,
           (long long)t->updated_at);
}

static void token_row(const cbk_token *t) {
    char created[64], updated[64];
    format_time(t->created_at, created);
    format_time(t->updated_at, updated);
    put_cell(t->id, t->id_len, 25, 0);
    fputs("  ", stdout);
    put_cell(t->name, t->name_len, 20, 1);
    fputs("  ", stdout);
    put_cell(t->description, t->description_len, 30, 1);
    printf("  %s  %s\n", created, updated);
}

/* Notes a failed write to stdout; nonzero once one failed. */
static int output_failed(output *out) {
    if (out->write_errno == 0 && ferror(stdout)) out->write_errno = errno ? errno : EIO;
    return out->write_errno != 0;
}

/* A token the work buffer could not hold whole: which fields were cut (or,
   for meta, left out), on stderr unless -q. */
static void note_truncated(const output *out, const cbk_token *t) {
    if (t->truncated == 0 || out->quiet) return;
    fputs("cbk-token: token ", stderr);
    put_text(stderr, t->id, t->id_len, -1);
    fprintf(stderr, ": too long for the CLI's buffer, cut:%s%s%s\n",
            (t->truncated & CBK_FIELD_NAME) ? " name" : "",
            (t->truncated & CBK_FIELD_DESCRIPTION) ? " description" : "",
            (t->truncated & CBK_FIELD_META) ? " meta (left out)" : "");
}

static int on_token(void *user, const cbk_token *t) {
    output *out = (output *)user;
    note_truncated(out, t);
    table_header(out);
    if (out->json)
        token_json(t);
    else
        token_row(t);
    out->count++;
    return output_failed(out); /* a failed write stops the operation */
}

/* ---- the session: one client, one transport
 * ---------------------------------- */

typedef struct session {
    cbk_client client;
    cbk_send_fn send; /* the transport under the tracing wrapper */
    void *send_ctx;
    int use_curl;
#ifndef CBK_CLI_NO_CURL
    cbk_curl curl;
#endif
    cbk_posix posix;
    int verbose, quiet;
    unsigned retries; /* opts.retries, for "retry 1 of 3" */
    unsigned retry;   /* retries made in this operation */
    char host[256];   /* host[:port] of the last request */
    int last_rc;      /* what the transport returned last */
} session;

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms) {
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000u);
    ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* host[:port] of an absolute URL, for messages. */
static void remember_host(session *s, const char *url) {
    const char *p = strstr(url, "://"), *end;
    size_t n;
    p = p != NULL ? p + 3 : url;
    end = p + strcspn(p, "/?#");
    n = (size_t)(end - p) < sizeof s->host - 1 ? (size_t)(end - p) : sizeof s->host - 1;
    memcpy(s->host, p, n);
    s->host[n] = '\0';
}

/* The HTTP status of the last response, 0 when none arrived. */
static int last_status(const session *s) {
    return cbk_client_http_status(&s->client);
}

static void lower_first(char *text) {
    if (text[0] >= 'A' && text[0] <= 'Z' && !(text[1] >= 'A' && text[1] <= 'Z'))
        text[0] = (char)(text[0] - 'A' + 'a');
}

/* A transport failure in words: "cannot connect to HOST" and its cause. */
typedef struct failure {
    char what[320];
    char cause[320];
} failure;

static void set_what(failure *f, const char *verb, const char *host, const char *after) {
    snprintf(f->what, sizeof f->what, "%s%s%s", verb, host, after);
}

static void set_cause(failure *f, const char *text) {
    snprintf(f->cause, sizeof f->cause, "%s", text != NULL ? text : "");
    lower_first(f->cause);
}

static void posix_failure(const session *s, int rc, failure *f) {
    const cbk_posix *p = &s->posix;
    int code = p->error != 0 ? p->error : CBK_SEND_CODE(rc);
    const char *h = s->host;
    set_cause(f, p->sys_error != 0 ? strerror(p->sys_error) : cbk_posix_strerror(code));
    switch (code) {
    case CBK_POSIX_ERR_RESOLVE:
        set_what(f, "cannot resolve ", h, "");
        set_cause(f, gai_strerror(p->sys_error));
        break;
    case CBK_POSIX_ERR_CONNECT: set_what(f, "cannot connect to ", h, ""); break;
    case CBK_POSIX_ERR_CONNECT_TIMEOUT:
        set_what(f, "cannot connect to ", h, "");
        set_cause(f, "timed out");
        break;
    case CBK_POSIX_ERR_SEND: set_what(f, "cannot send the request to ", h, ""); break;
    case CBK_POSIX_ERR_TIMEOUT: set_what(f, "no answer from ", h, " in time"); break;
    case CBK_POSIX_ERR_RECV:
    case CBK_POSIX_ERR_CLOSED:
    case CBK_POSIX_ERR_TRUNCATED: set_what(f, "lost the connection to ", h, ""); break;
    case CBK_POSIX_ERR_HTTPS_UNSUPPORTED:
        set_what(f, "cannot use https:// with --transport posix (no TLS)", "", "");
        set_cause(f, "use --transport curl");
        break;
    default: set_what(f, "the request to ", h, " failed"); break;
    }
}

#ifndef CBK_CLI_NO_CURL
static const char *curl_verb(int code, const char **after) {
    *after = "";
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return "cannot resolve ";
    case CURLE_COULDNT_CONNECT: return "cannot connect to ";
    case CURLE_OPERATION_TIMEDOUT: *after = " in time"; return "no answer from ";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM: return "TLS failed with ";
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE: return "lost the connection to ";
    default: *after = " failed"; return "the request to ";
    }
}

static void curl_failure(const session *s, int rc, failure *f) {
    int code = CBK_SEND_CODE(rc);
    const char *after, *verb = curl_verb(code, &after);
    long os_errno = 0;
    char cause[CURL_ERROR_SIZE + 32];
    if (s->curl.easy != NULL) curl_easy_getinfo(s->curl.easy, CURLINFO_OS_ERRNO, &os_errno);
    set_what(f, verb, s->host, after);
    if (code == CURLE_COULDNT_CONNECT && os_errno != 0) { /* the system's words say it all */
        set_cause(f, strerror((int)os_errno));
        return;
    }
    snprintf(cause, sizeof cause, "%s (curl error %d)",
             s->curl.errbuf[0] ? s->curl.errbuf : curl_easy_strerror((CURLcode)code), code);
    set_cause(f, cause);
}
#endif

static void transport_failure(const session *s, int rc, failure *f) {
#ifndef CBK_CLI_NO_CURL
    if (s->use_curl) {
        curl_failure(s, rc, f);
        return;
    }
#endif
    posix_failure(s, rc, f);
}

/* The send callback the client calls: the transport's, timed and traced. */
static int traced_send(void *ctx, const cbk_request *req, cbk_response *res) {
    session *s = (session *)ctx;
    long long t0 = now_ms();
    int rc;
    remember_host(s, req->url);
    rc = s->send(s->send_ctx, req, res);
    s->last_rc = rc;
    if (!s->verbose) return rc;
    fprintf(stderr, "cbk-token: %s ", req->method);
    put_str(stderr, req->url);
    if (rc == 0) {
        fprintf(stderr, " -> %d (%lld ms)\n", last_status(s), now_ms() - t0);
    } else {
        failure f;
        transport_failure(s, rc, &f);
        fprintf(stderr, " -> ");
        put_str(stderr, f.what);
        fputs(": ", stderr);
        put_str(stderr, f.cause);
        fprintf(stderr, " (%lld ms)\n", now_ms() - t0);
    }
    return rc;
}

/* opts.sleep_ms: a retry's wait, announced on stderr unless -q. */
static void traced_sleep(void *ctx, unsigned ms) {
    session *s = (session *)ctx;
    s->retry++;
    if (!s->quiet) {
        fputs("cbk-token: ", stderr);
        if (s->last_rc != 0) {
            failure f;
            transport_failure(s, s->last_rc, &f);
            put_str(stderr, f.what);
            fputs(": ", stderr);
            put_str(stderr, f.cause);
        } else {
            fprintf(stderr, "HTTP %d", last_status(s));
        }
        fprintf(stderr, "; retry %u of %u in %u ms\n", s->retry, s->retries, ms);
    }
    sleep_ms(ms);
}

/* 0, or an exit status. */
static int session_open(session *s, const cli *o) {
    const char *t = o->transport;
#ifndef CBK_CLI_NO_CURL
    s->use_curl = t == NULL || strcmp(t, "curl") == 0;
#endif
    if (!s->use_curl && t != NULL && strcmp(t, "posix") != 0)
        return usage_error(strcmp(t, "curl") == 0 ? "this cbk-token is built without libcurl"
                                                  : "--transport is curl or posix",
                           t);
    cbk_posix_init(&s->posix);
    s->send = cbk_posix_send;
    s->send_ctx = &s->posix;
#ifndef CBK_CLI_NO_CURL
    if (s->use_curl) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fputs("cbk-token: cannot initialise libcurl\n", stderr);
            return 1 + (int)CBK_ERR_TRANSPORT;
        }
        cbk_curl_init(&s->curl);
        s->curl.easy = curl_easy_init(); /* ours, for the whole run: connections are reused */
        s->curl.ca_file = o->ca_file;
        s->send = cbk_curl_send;
        s->send_ctx = &s->curl;
    }
#endif
    s->verbose = o->verbose;
    s->quiet = o->quiet;
    return 0;
}

static void session_close(session *s) {
    cbk_posix_cleanup(&s->posix); /* closes its kept connection */
#ifndef CBK_CLI_NO_CURL
    if (s->use_curl) {
        if (s->curl.easy != NULL) curl_easy_cleanup(s->curl.easy);
        s->curl.easy = NULL;
        curl_global_cleanup();
    }
#endif
}

/* ---- the secret ------------------------------------------------------------
 */

/* Fills the static secret from the file or CBK_SECRET. 0, or an exit status. */
static int load_secret(const char *path) {
    size_t n;
    if (path != NULL) {
        FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
        if (f == NULL) return usage_error("cannot open the secret file", strerror(errno));
        n = fread(secret, 1, sizeof secret, f);
        if (f != stdin) fclose(f);
        if (n == sizeof secret) return usage_error("the secret file is too large", path);
    } else {
        const char *e = env("CBK_SECRET");
        if (e == NULL) return usage_error("no secret: set CBK_SECRET or use --secret-file", NULL);
        n = strlen(e);
        if (n >= sizeof secret) return usage_error("CBK_SECRET is too long", NULL);
        memcpy(secret, e, n);
    }
    while (n > 0 && (secret[n - 1] == '\n' || secret[n - 1] == '\r' || secret[n - 1] == ' ' ||
                     secret[n - 1] == '\t'))
        n--;
    secret[n] = '\0';
    secret_len = n;
    if (n == 0) return usage_error("the secret is empty", NULL);
    return 0;
}

static void wipe_secret(void) {
    volatile char *p = secret;
    size_t i;
    for (i = 0; i < sizeof secret; i++) p[i] = 0;
    for (i = 0; i < sizeof scratch; i++) ((volatile char *)scratch)[i] = 0;
    secret_len = 0;
}

/* ---- errors ----------------------------------------------------------------
 */

/* One line on stderr: "cbk-token: " and what went wrong, in words. Returns
   the exit status, 1 + the cbk_result. */
static int report(const session *s, cbk_result r) {
    const cbk_error *e = cbk_client_error(&s->client);
    fputs("cbk-token: ", stderr);
    if (r == CBK_ERR_TRANSPORT) {
        failure f;
        transport_failure(s, e->transport_code != 0 ? e->transport_code : s->last_rc, &f);
        put_str(stderr, f.what);
        fputs(": ", stderr);
        put_str(stderr, f.cause);
    } else if (r == CBK_ERR_HTTP) {
        fprintf(stderr, "HTTP %d", e->http_status);
        if (e->code[0] != '\0') fputc(' ', stderr);
        put_str(stderr, e->code);
        fputs(": ", stderr);
        put_str(stderr, e->message);
    } else {
        const char *what = r == CBK_ERR_PARSE              ? "unexpected answer from the API: "
                           : r == CBK_ERR_BUFFER_TOO_SMALL ? "does not fit: "
                           : r == CBK_ERR_INVALID_ARGUMENT ? "invalid argument: "
                                                           : "";
        fputs(what, stderr);
        put_str(stderr, e->message[0] != '\0' ? e->message : cbk_result_str(r));
    }
    fputc('\n', stderr);
    return 1 + (int)r;
}

/* ---- the commands
 * ------------------------------------------------------------ */

static void print_next_cursor(const output *out, const char *cursor) {
    if (out->quiet) return;
    if (out->json) {
        fputs("cbk-token: next cursor: ", stderr);
        put_str(stderr, cursor);
        fputc('\n', stderr);
    } else {
        fputs("next cursor: ", stdout);
        put_str(stdout, cursor);
        fputc('\n', stdout);
    }
}

static cbk_result cmd_list(session *s, const cli *o, output *out) {
    cbk_token_list_options lo;
    char cursor[CBK_CURSOR_MAX];
    cbk_result r;
    int take = o->take > 0 ? o->take : CLI_TAKE_DEFAULT;
    memset(&lo, 0, sizeof lo);
    lo.cursor = o->cursor;
    lo.order = o->order;
    lo.take = o->all || o->stream ? o->take : take;
    lo.meta = o->meta;
    lo.meta_count = o->meta_count;
    cursor[0] = '\0';
    if (o->all)
        r = cbk_token_list_all(&s->client, o->args[0], &lo, on_token, out);
    else if (o->stream)
        r = cbk_token_list_stream(&s->client, o->args[0], &lo, on_token, out);
    else
        r = cbk_token_list(&s->client, o->args[0], &lo, on_token, out, cursor, sizeof cursor);
    if (r == CBK_OK) table_header(out); /* an empty table still has its header */
    /* a short page is the last one, whatever cursor came with it */
    if (r == CBK_OK && cursor[0] != '\0' && out->count >= (size_t)take)
        print_next_cursor(out, cursor);
    return r;
}

static void print_id(const output *out, const char *id) {
    if (out->json) {
        fputs("{\"id\":", stdout);
        put_json_string(id);
        fputs("}\n", stdout);
    } else {
        put_str(stdout, id);
        fputc('\n', stdout);
    }
}

static void print_created(const output *out, const cbk_token_created *made) {
    char when[64];
    if (out->json) {
        fputs("{\"id\":", stdout);
        put_json_string(made->id);
        fputs(",\"token\":", stdout);
        put_json_string(made->token);
        printf(",\"createdAt\":%lld}\n", (long long)made->created_at);
        return;
    }
    format_time(made->created_at, when);
    fputs("id       ", stdout);
    put_str(stdout, made->id);
    fputs("\ntoken    ", stdout);
    put_str(stdout, made->token);
    printf("\ncreated  %s\n", when);
}

static cbk_result cmd_change(session *s, const cli *o, const output *out) {
    static cbk_token_created made; /* holds the new secret: wiped below */
    cbk_token_fields f;
    char id[CBK_ID_MAX];
    cbk_result r;
    memset(&f, 0, sizeof f);
    f.name = o->name;
    f.description = o->description;
    f.meta = o->meta;
    f.meta_count = o->meta_count;
    if (strcmp(o->command, "create") == 0) {
        r = cbk_token_create(&s->client, o->args[0], &f, &made);
        if (r == CBK_OK) print_created(out, &made);
        memset(&made, 0, sizeof made);
        return r;
    }
    if (strcmp(o->command, "update") == 0)
        r = cbk_token_update(&s->client, o->args[0], o->args[1], &f, id);
    else
        r = cbk_token_delete(&s->client, o->args[0], o->args[1], id);
    if (r == CBK_OK) print_id(out, id);
    return r;
}

/* ---- main ------------------------------------------------------------------
 */

static void print_version(void) {
    printf("cbk-token %s (cbk_token.h %s)\ntransports:", CLI_VERSION, CBK_TOKEN_VERSION);
#ifndef CBK_CLI_NO_CURL
    printf(" curl (libcurl %s)", curl_version_info(CURLVERSION_NOW)->version);
#endif
    printf(" posix\n");
}

/* --help, help [COMMAND], --version: 0 when one was asked for and printed,
   -1 when none was, or an exit status. */
static int print_help(const cli *o) {
    const char *topic = o->command;
    if (o->version) {
        print_version();
        return 0;
    }
    if (topic != NULL && strcmp(topic, "help") == 0)
        topic = o->args[0];
    else if (!o->help)
        return -1;
    if (command_help(topic) == NULL) return usage_error("no such command", topic);
    fputs(command_help(topic), stdout);
    return 0;
}

/* The client's options from the command line and the environment. */
static void client_options(const cli *o, session *s, cbk_client_options *opts) {
    cbk_client_options_init(opts);
    opts->base_url = o->base_url != NULL ? o->base_url : env("CBK_BASE_URL");
    opts->run_as_user_id = o->run_as_user != NULL ? o->run_as_user : env("CBK_RUN_AS_USER_ID");
    opts->sleep_ms = traced_sleep;
    opts->sleep_ctx = s;
    s->retries = opts->retries;
    opts->run_as_child_user_email =
        o->child_email != NULL ? o->child_email : env("CBK_RUN_AS_CHILD_EMAIL");
}

/* Stdout's last flush; a closed pipe (the reader went away) is no error. */
static int finish_output(output *out, int status) {
    if (fflush(stdout) != 0) output_failed(out);
    if (out->write_errno == EPIPE) return status == 1 + (int)CBK_ERR_CANCELLED ? 0 : status;
    if (out->write_errno != 0 && (status == 0 || status == 1 + (int)CBK_ERR_CANCELLED)) {
        fprintf(stderr, "cbk-token: cannot write the output: %s\n", strerror(out->write_errno));
        return EXIT_OUTPUT;
    }
    return status;
}

static int run(session *s, const cli *o, output *out) {
    cbk_client_options opts;
    cbk_result r;
    client_options(o, s, &opts);
    r = cbk_client_init(&s->client, secret, traced_send, s, work, sizeof work, &opts);
    if (r == CBK_OK)
        r = strcmp(o->command, "list") == 0 ? cmd_list(s, o, out) : cmd_change(s, o, out);
    if (r == CBK_ERR_CANCELLED && out->write_errno != 0) return 1 + (int)r; /* see finish */
    return r == CBK_OK ? 0 : report(s, r);
}

int main(int argc, char **argv) {
    static cli o;
    static session s;
    output out;
    int status;

    signal(SIGPIPE, SIG_IGN); /* a closed stdout is an EPIPE error, handled quietly */
    status = parse_args(argc, argv, &o);
    if (status != 0) return status;
    if ((status = print_help(&o)) >= 0) return fflush(stdout) == 0 ? status : EXIT_OUTPUT;
    if (o.command == NULL) return usage_error("no command", NULL);
    if ((status = check_args(&o)) != 0 || (status = parse_take(&o)) != 0) return status;
    if ((status = session_open(&s, &o)) != 0) return status;
    if ((status = load_secret(o.secret_file)) == 0) {
        memset(&out, 0, sizeof out);
        out.json = o.json;
        out.quiet = o.quiet;
        status = finish_output(&out, run(&s, &o, &out));
    }
    wipe_secret();
    session_close(&s);
    return status;
}
