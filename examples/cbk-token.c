/* cbk-token - manage ChatBotKit partner user tokens from the shell.
 *
 * A small, complete program on cbk_token.h: one static work buffer, the
 * libcurl or the POSIX socket adapter, retries with nanosleep. The secret is
 * read from CBK_SECRET or --secret-file, never from argv, and never printed.
 * Run "cbk-token --help" for usage and exit statuses.
 *
 * Build (see mk/adapters.mk):
 *   cc -std=c99 -I. examples/cbk-token.c $(pkg-config --cflags --libs libcurl)
 *   cc -std=c99 -I. -DCBK_CLI_NO_CURL examples/cbk-token.c     # POSIX only
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
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

#define CLI_META_MAX 32
#define EXIT_LOCAL   1 /* a failure outside the library: writing the output */

static const char usage_text[] =
    "usage: cbk-token [global options] COMMAND [options] ARGS\n"
    "\n"
    "commands:\n"
    "  list [--all | --stream] [--cursor C] [--order asc|desc] [--take N]\n"
    "       [--meta K=V]... USER_ID       list a user's tokens (one page unless\n"
    "                                      --all follows cursors or --stream\n"
    "                                      asks for JSON Lines)\n"
    "  create [--name N] [--description D] [--meta K=V]... USER_ID\n"
    "                                      create a token; shows its secret once\n"
    "  update [--name N] [--description D] [--meta K=V]... USER_ID TOKEN_ID\n"
    "  delete USER_ID TOKEN_ID\n"
    "\n"
    "global options (anywhere on the line):\n"
    "  --base-url URL         default $CBK_BASE_URL, else https://api.chatbotkit.com\n"
    "  --transport curl|posix default curl (posix: plain http:// only)\n"
    "  --ca-file PATH         CA bundle for TLS (curl); default: the system's\n"
    "  --json                 one JSON object per line instead of a table\n"
    "  --secret-file PATH     read the secret from PATH (\"-\": stdin);\n"
    "                         default: the CBK_SECRET environment variable.\n"
    "                         The secret is never taken from the command line.\n"
    "  -h, --help             this text\n"
    "\n"
    "output: list prints id, name, description, created, updated (UTC);\n"
    "  the table cuts long names and descriptions, --json never cuts. A single\n"
    "  page ends with its next cursor: \"next cursor: C\" in the table, a last\n"
    "  line {\"cursor\":\"C\"} with --json (\"\" when there is none).\n"
    "  create prints id, token (the secret: shown only this once), created.\n"
    "  update and delete print the id.\n"
    "\n"
    "exit status: 0 success; otherwise 1 + the cbk_result:\n"
    "  2 CBK_ERR_INVALID_ARGUMENT (also bad command lines and a missing secret)\n"
    "  3 CBK_ERR_BUFFER_TOO_SMALL   4 CBK_ERR_TRANSPORT   5 CBK_ERR_HTTP\n"
    "  6 CBK_ERR_PARSE   7 CBK_ERR_CANCELLED (output could not be written)\n"
    "  8 CBK_ERR_NOT_FOUND; and 1 when the output could not be flushed.\n"
    "errors go to stderr as\n"
    "  error: <result>: <http status> <API code>: <message>\n";

typedef struct cli {
    const char *command;
    const char *args[2];
    int nargs;
    const char *base_url, *transport, *secret_file, *ca_file;
    const char *name, *description, *cursor, *order;
    int json, all, stream, take;
    cbk_kv meta[CLI_META_MAX];
    size_t meta_count;
} cli;

typedef struct output {
    int json;
    int header; /* the table header is out */
} output;

static char work[16384];
static char secret[1024];

static int usage_error(const char *what, const char *arg) {
    fprintf(stderr, "cbk-token: %s%s%s\n(try cbk-token --help)\n", what, arg ? ": " : "",
            arg ? arg : "");
    return 1 + (int)CBK_ERR_INVALID_ARGUMENT;
}

/* ---- output helpers ----------------------------------------------------- */

/* Writes text for a terminal: control characters (C0, DEL, C1) become '?'. */
static void put_safe(FILE *f, const char *s, size_t len) {
    size_t i;
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f) {
            fputc('?', f);
        } else if (ch == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
                   (unsigned char)s[i + 1] <= 0x9f) {
            fputc('?', f);
            i++;
        } else {
            fputc(ch, f);
        }
    }
}

/* A table cell: at most width code points (cut ones end in "~"), padded.
   cut = 0 never cuts (ids must stay copyable). */
static void put_cell(const char *s, int width, int cut) {
    size_t len = s ? strlen(s) : 1, i, end = len;
    int points = 0;
    if (s == NULL) s = "-";
    for (i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xc0) == 0x80) continue;
        if (cut && points == width - 1) {
            size_t j = i + 1;
            while (j < len && ((unsigned char)s[j] & 0xc0) == 0x80) j++;
            if (j < len) { /* more than width code points: cut here */
                end = i;
                break;
            }
        }
        points++;
    }
    put_safe(stdout, s, end);
    if (end < len) {
        fputc('~', stdout);
        points = width;
    }
    for (; points < width; points++) fputc(' ', stdout);
}

static void put_json_string(const char *s) {
    static const char hex[] = "0123456789abcdef";
    if (s == NULL) {
        fputs("null", stdout);
        return;
    }
    fputc('"', stdout);
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        switch (ch) {
        case '"': fputs("\\\"", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        case '\b': fputs("\\b", stdout); break;
        case '\f': fputs("\\f", stdout); break;
        default:
            if (ch < 0x20 || ch == 0x7f) {
                fputs("\\u00", stdout);
                fputc(hex[ch >> 4], stdout);
                fputc(hex[ch & 15], stdout);
            } else {
                fputc(ch, stdout);
            }
        }
    }
    fputc('"', stdout);
}

/* Valid JSON text (the library checked it) on one line: whitespace outside
   strings dropped. */
static void put_json_compact(const char *s) {
    int in_string = 0, escaped = 0;
    for (; *s != '\0'; s++) {
        char ch = *s;
        if (in_string) {
            if (escaped)
                escaped = 0;
            else if (ch == '\\')
                escaped = 1;
            else if (ch == '"')
                in_string = 0;
        } else if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            continue;
        } else if (ch == '"') {
            in_string = 1;
        }
        fputc(ch, stdout);
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

static void table_header(output *out) {
    if (out->json || out->header) return;
    out->header = 1;
    put_cell("ID", 25, 0);
    fputs("  ", stdout);
    put_cell("NAME", 20, 1);
    fputs("  ", stdout);
    put_cell("DESCRIPTION", 30, 1);
    fputs("  ", stdout);
    put_cell("CREATED", 24, 1);
    fputs("  UPDATED\n", stdout);
}

static int on_token(void *user, const cbk_token *t) {
    output *out = (output *)user;
    char created[64], updated[64];
    format_time(t->created_at, created);
    format_time(t->updated_at, updated);
    table_header(out);
    if (out->json) {
        fputs("{\"id\":", stdout);
        put_json_string(t->id);
        fputs(",\"name\":", stdout);
        put_json_string(t->name);
        fputs(",\"description\":", stdout);
        put_json_string(t->description);
        fputs(",\"meta\":", stdout);
        if (t->meta != NULL)
            put_json_compact(t->meta);
        else
            fputs("null", stdout);
        printf(",\"createdAt\":%lld,\"updatedAt\":%lld}\n", (long long)t->created_at,
               (long long)t->updated_at);
    } else {
        put_cell(t->id, 25, 0);
        fputs("  ", stdout);
        put_cell(t->name, 20, 1);
        fputs("  ", stdout);
        put_cell(t->description, 30, 1);
        printf("  %s  %s\n", created, updated);
    }
    return ferror(stdout) ? 1 : 0; /* a failed write stops: CBK_ERR_CANCELLED */
}

/* ---- the secret, the transport, errors ---------------------------------- */

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
        const char *env = getenv("CBK_SECRET");
        if (env == NULL || env[0] == '\0')
            return usage_error("no secret: set CBK_SECRET or use --secret-file", NULL);
        n = strlen(env);
        if (n >= sizeof secret) return usage_error("CBK_SECRET is too long", NULL);
        memcpy(secret, env, n);
    }
    while (n > 0 && (secret[n - 1] == '\n' || secret[n - 1] == '\r' || secret[n - 1] == ' ' ||
                     secret[n - 1] == '\t'))
        n--;
    secret[n] = '\0';
    if (n == 0) return usage_error("the secret is empty", NULL);
    return 0;
}

static void wipe_secret(void) {
    volatile char *p = secret;
    size_t i;
    for (i = 0; i < sizeof secret; i++) p[i] = 0;
}

static void sleep_ms(void *ctx, unsigned ms) {
    struct timespec ts;
    (void)ctx;
    ts.tv_sec = (time_t)(ms / 1000u);
    ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

typedef struct transport {
    int use_curl;
#ifndef CBK_CLI_NO_CURL
    cbk_curl curl;
#endif
    cbk_posix posix;
} transport;

static int report(const cbk_client *c, const transport *tr, cbk_result r) {
    const cbk_error *e = cbk_client_error(c);
    fprintf(stderr, "error: %s: %d ", cbk_result_str(r), e->http_status);
    put_safe(stderr, e->code, strlen(e->code));
    fputs(": ", stderr);
    put_safe(stderr, e->message, strlen(e->message));
    if (r == CBK_ERR_TRANSPORT && e->transport_code != 0) {
        const char *detail = NULL;
#ifndef CBK_CLI_NO_CURL
        if (tr->use_curl)
            detail = tr->curl.errbuf[0] ? tr->curl.errbuf
                     : CBK_SEND_HAS(e->transport_code, CBK_SEND_NOT_SENT)
                         ? "not sent"
                         : curl_easy_strerror((CURLcode)CBK_SEND_CODE(e->transport_code));
#endif
        if (!tr->use_curl)
            detail = cbk_posix_strerror(tr->posix.error ? tr->posix.error : e->transport_code);
        fprintf(stderr, " (%s transport %d: ", tr->use_curl ? "curl" : "posix",
                CBK_SEND_CODE(e->transport_code));
        put_safe(stderr, detail, strlen(detail));
        if (!tr->use_curl && tr->posix.sys_error != 0)
            fprintf(stderr, ": %s",
                    tr->posix.error == CBK_POSIX_ERR_RESOLVE ? gai_strerror(tr->posix.sys_error)
                                                             : strerror(tr->posix.sys_error));
        fputc(')', stderr);
    }
    fputc('\n', stderr);
    return 1 + (int)r;
}

/* ---- the command line --------------------------------------------------- */

static int parse_int(const char *s, int *out) {
    long v = 0;
    if (*s == '\0') return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (INT_MAX - 9) / 10) return -1;
        v = v * 10 + (*s - '0');
    }
    if (v <= 0) return -1;
    *out = (int)v;
    return 0;
}

/* 0, -1 for --help, or an exit status. */
static int parse_args(int argc, char **argv, cli *o) {
    int i, no_more = 0;
    for (i = 1; i < argc; i++) {
        char *a = argv[i], *val = NULL, *eq;
        if (no_more || a[0] != '-' || a[1] == '\0') {
            if (o->command == NULL)
                o->command = a;
            else if (o->nargs < 2)
                o->args[o->nargs++] = a;
            else
                return usage_error("too many arguments", a);
            continue;
        }
        if (strcmp(a, "--") == 0) {
            no_more = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return -1;
        if (strcmp(a, "--json") == 0 || strcmp(a, "--all") == 0 || strcmp(a, "--stream") == 0) {
            *(a[2] == 'j' ? &o->json : a[2] == 'a' ? &o->all : &o->stream) = 1;
            continue;
        }
        if (strncmp(a, "--secret", 8) == 0 && strncmp(a, "--secret-file", 13) != 0)
            return usage_error("the secret is never taken from the command line; use "
                               "CBK_SECRET or --secret-file",
                               NULL);
        eq = strchr(a, '=');
        if (eq != NULL && strncmp(a, "--", 2) == 0) {
            *eq = '\0';
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        }
        if (strcmp(a, "--base-url") == 0)
            o->base_url = val;
        else if (strcmp(a, "--transport") == 0)
            o->transport = val;
        else if (strcmp(a, "--secret-file") == 0)
            o->secret_file = val;
        else if (strcmp(a, "--ca-file") == 0)
            o->ca_file = val;
        else if (strcmp(a, "--name") == 0)
            o->name = val;
        else if (strcmp(a, "--description") == 0)
            o->description = val;
        else if (strcmp(a, "--cursor") == 0)
            o->cursor = val;
        else if (strcmp(a, "--order") == 0)
            o->order = val;
        else if (strcmp(a, "--take") == 0) {
            if (val == NULL || parse_int(val, &o->take) != 0)
                return usage_error("--take needs a positive number", val);
        } else if (strcmp(a, "--meta") == 0) {
            char *kv = val ? strchr(val, '=') : NULL;
            if (kv == NULL || kv == val) return usage_error("--meta needs KEY=VALUE", val);
            if (o->meta_count == CLI_META_MAX) return usage_error("too many --meta options", val);
            *kv = '\0';
            o->meta[o->meta_count].key = val;
            o->meta[o->meta_count++].value = kv + 1;
        } else {
            return usage_error("unknown option", a);
        }
        if (val == NULL) return usage_error("missing value for", a);
    }
    return 0;
}

/* Which options each command takes; 0 when the line fits the command. */
static int check_args(const cli *o) {
    int is_list = strcmp(o->command, "list") == 0;
    int is_create = strcmp(o->command, "create") == 0;
    int is_update = strcmp(o->command, "update") == 0;
    int is_delete = strcmp(o->command, "delete") == 0;
    if (!is_list && !is_create && !is_update && !is_delete)
        return usage_error("unknown command", o->command);
    if (o->nargs != ((is_list || is_create) ? 1 : 2))
        return usage_error(is_list || is_create ? "expected USER_ID" : "expected USER_ID TOKEN_ID",
                           o->command);
    if (!is_list && (o->all || o->stream || o->cursor || o->order || o->take))
        return usage_error("--all, --stream, --cursor, --order and --take are for list",
                           o->command);
    if ((is_list || is_delete) && (o->name || o->description))
        return usage_error("--name and --description are for create and update", o->command);
    if (is_delete && o->meta_count > 0) return usage_error("delete takes no --meta", NULL);
    if (o->all && o->stream) return usage_error("--all and --stream exclude each other", NULL);
    return 0;
}

static cbk_result cmd_list(cbk_client *c, const cli *o, output *out) {
    cbk_token_list_options lo;
    char cursor[CBK_CURSOR_MAX];
    cbk_result r;
    memset(&lo, 0, sizeof lo);
    lo.cursor = o->cursor;
    lo.order = o->order;
    lo.take = o->take;
    lo.meta = o->meta;
    lo.meta_count = o->meta_count;
    cursor[0] = '\0';
    if (o->all)
        r = cbk_token_list_all(c, o->args[0], &lo, on_token, out);
    else if (o->stream)
        r = cbk_token_list_stream(c, o->args[0], &lo, on_token, out);
    else
        r = cbk_token_list(c, o->args[0], &lo, on_token, out, cursor, sizeof cursor);
    if (r == CBK_OK) table_header(out); /* an empty table still has its header */
    if (r != CBK_OK || o->all || o->stream) return r;
    if (o->json) {
        fputs("{\"cursor\":", stdout);
        put_json_string(cursor);
        fputs("}\n", stdout);
    } else if (cursor[0] != '\0') {
        fputs("next cursor: ", stdout);
        put_safe(stdout, cursor, strlen(cursor));
        fputc('\n', stdout);
    }
    return r;
}

static cbk_result cmd_change(cbk_client *c, const cli *o) {
    static cbk_token_created made; /* holds the new secret: wiped below */
    cbk_token_fields f;
    char id[CBK_ID_MAX], when[64];
    cbk_result r;
    memset(&f, 0, sizeof f);
    f.name = o->name;
    f.description = o->description;
    f.meta = o->meta;
    f.meta_count = o->meta_count;
    if (strcmp(o->command, "create") != 0) {
        if (strcmp(o->command, "update") == 0)
            r = cbk_token_update(c, o->args[0], o->args[1], &f, id);
        else
            r = cbk_token_delete(c, o->args[0], o->args[1], id);
        if (r == CBK_OK && o->json) {
            fputs("{\"id\":", stdout);
            put_json_string(id);
            fputs("}\n", stdout);
        } else if (r == CBK_OK) {
            put_safe(stdout, id, strlen(id));
            fputc('\n', stdout);
        }
        return r;
    }
    r = cbk_token_create(c, o->args[0], &f, &made);
    if (r == CBK_OK && o->json) {
        fputs("{\"id\":", stdout);
        put_json_string(made.id);
        fputs(",\"token\":", stdout);
        put_json_string(made.token);
        printf(",\"createdAt\":%lld}\n", (long long)made.created_at);
    } else if (r == CBK_OK) {
        format_time(made.created_at, when);
        fputs("id       ", stdout);
        put_safe(stdout, made.id, strlen(made.id));
        fputs("\ntoken    ", stdout);
        put_safe(stdout, made.token, strlen(made.token));
        printf("\ncreated  %s\n", when);
    }
    memset(&made, 0, sizeof made);
    return r;
}

int main(int argc, char **argv) {
    static cli o;
    static transport tr;
    static cbk_client client;
    cbk_client_options opts;
    output out;
    cbk_send_fn send;
    void *send_ctx;
    cbk_result r;
    int status;

    status = parse_args(argc, argv, &o);
    if (status < 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (status != 0) return status;
    if (o.command == NULL) return usage_error("no command", NULL);
    if ((status = check_args(&o)) != 0) return status;
    if (o.base_url == NULL) o.base_url = getenv("CBK_BASE_URL");
#ifndef CBK_CLI_NO_CURL
    tr.use_curl = o.transport == NULL || strcmp(o.transport, "curl") == 0;
#endif
    if (!tr.use_curl && o.transport != NULL && strcmp(o.transport, "posix") != 0)
        return usage_error("--transport is curl or posix", o.transport);
    if ((status = load_secret(o.secret_file)) != 0) return status;

#ifndef CBK_CLI_NO_CURL
    if (tr.use_curl) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            wipe_secret();
            fputs("error: curl_global_init failed\n", stderr);
            return 1 + (int)CBK_ERR_TRANSPORT;
        }
        cbk_curl_init(&tr.curl);
        tr.curl.ca_file = o.ca_file;
    }
    send = tr.use_curl ? cbk_curl_send : cbk_posix_send;
    send_ctx = tr.use_curl ? (void *)&tr.curl : (void *)&tr.posix;
#else
    send = cbk_posix_send;
    send_ctx = &tr.posix;
#endif
    cbk_posix_init(&tr.posix);

    cbk_client_options_init(&opts);
    opts.base_url = o.base_url;
    opts.sleep_ms = sleep_ms;
    out.json = o.json;
    out.header = 0;
    r = cbk_client_init(&client, secret, send, send_ctx, work, sizeof work, &opts);
    if (r == CBK_OK)
        r = strcmp(o.command, "list") == 0 ? cmd_list(&client, &o, &out) : cmd_change(&client, &o);
    status = r == CBK_OK ? 0 : report(&client, &tr, r);
    wipe_secret();
#ifndef CBK_CLI_NO_CURL
    if (tr.use_curl) curl_global_cleanup();
#endif
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (status == 0) {
            fputs("error: cannot write the output\n", stderr);
            status = EXIT_LOCAL;
        }
    }
    return status;
}
