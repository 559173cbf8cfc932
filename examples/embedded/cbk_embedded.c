/* cbk_embedded.c - HTTP/1.1 over a socket-like API, as a cbk_token send
 * callback, and a token printer. See cbk_embedded.h.
 *
 * Uses no C library function, so that it builds freestanding next to
 * CBK_TOKEN_NO_LIBC. Every loop is bounded by the bytes it consumes. */
#include "cbk_embedded.h"

enum {
    EMB__STATUS,   /* the status line */
    EMB__INTERIM,  /* the header lines of a 1xx response, skipped */
    EMB__HEADERS,  /* header lines */
    EMB__BODY,     /* Content-Length bytes */
    EMB__BODY_EOF, /* everything until the peer closes */
    EMB__CHUNK,    /* a chunk-size line */
    EMB__CHUNK_DATA,
    EMB__CHUNK_END, /* the CRLF after a chunk's data */
    EMB__TRAILER,   /* trailer lines after the last chunk */
    EMB__DONE
};

/* what emb__input reports besides an emb_error */
#define EMB__GO_ON 0
#define EMB__STOP  (-1) /* the response is complete, or the library wants no more */

static size_t emb__len(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

static unsigned char emb__lower(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* s[0..n) equals the lower-case literal lit, ignoring case */
static int emb__ieq(const char *s, size_t n, const char *lit) {
    size_t i;
    for (i = 0; i < n; i++)
        if (!lit[i] || emb__lower((unsigned char)s[i]) != (unsigned char)lit[i]) return 0;
    return lit[n] == '\0';
}

void emb_http_init(emb_http *http, const emb_socket *sock) {
    unsigned char *p = (unsigned char *)http;
    size_t i;
    for (i = 0; i < sizeof *http; i++) p[i] = 0;
    http->sock = sock;
}

/* ---------------------------------------------------------------------------
 * Writing the request
 * ------------------------------------------------------------------------- */

/* A failed write ends the request: state -1 makes every later put fail
   without touching the socket again. */
static int emb__flush(emb_http *h) {
    size_t off = 0;
    if (h->state < 0) return -1;
    while (off < h->io_len) {
        int n = h->sock->write(h->sock->ctx, h->io + off, h->io_len - off);
        if (n <= 0 || (size_t)n > h->io_len - off) {
            h->state = -1;
            return -1;
        }
        off += (size_t)n;
    }
    h->io_len = 0;
    return 0;
}

static int emb__put(emb_http *h, const char *s, size_t n) {
    if (h->state < 0) return -1;
    while (n) {
        size_t room = sizeof h->io - h->io_len, k, i;
        if (!room) {
            if (emb__flush(h)) return -1;
            room = sizeof h->io;
        }
        k = n < room ? n : room;
        for (i = 0; i < k; i++) h->io[h->io_len + i] = (unsigned char)s[i];
        h->io_len += k;
        s += k;
        n -= k;
    }
    return 0;
}

static int emb__puts(emb_http *h, const char *s) {
    return emb__put(h, s, emb__len(s));
}

static int emb__put_uint(emb_http *h, uint64_t v) {
    char t[20];
    size_t n = 0;
    do {
        t[sizeof t - ++n] = (char)('0' + (unsigned)(v % 10u));
        v /= 10u;
    } while (v);
    return emb__put(h, t + sizeof t - n, n);
}

/* The parts of an absolute http(s) URL. */
typedef struct emb__url {
    int tls;
    const char *authority; /* host[:port] as written, for Host: */
    size_t authority_len;
    char host[EMB_HOST_MAX]; /* for connect, without brackets */
    unsigned port;
    const char *target; /* path and query, "" for "/" */
} emb__url;

static int emb__parse_url(const char *url, emb__url *u) {
    const char *a, *end, *h, *hend, *p;
    size_t i, n;
    if (emb__ieq(url, 7, "http://")) {
        u->tls = 0;
        u->port = 80;
        a = url + 7;
    } else if (emb__ieq(url, 8, "https://")) {
        u->tls = 1;
        u->port = 443;
        a = url + 8;
    } else {
        return -1;
    }
    end = a;
    while (*end && *end != '/' && *end != '?' && *end != '#') end++;
    h = a;
    for (p = a; p < end; p++)
        if (*p == '@') h = p + 1; /* userinfo is never sent */
    u->authority = h;
    u->authority_len = (size_t)(end - h);
    if (*h == '[') { /* an IPv6 literal */
        h++;
        hend = h;
        while (hend < end && *hend != ']') hend++;
        if (hend == end) return -1;
        p = hend + 1;
    } else {
        hend = h;
        while (hend < end && *hend != ':') hend++;
        p = hend;
    }
    n = (size_t)(hend - h);
    if (!n || n >= sizeof u->host) return -1;
    for (i = 0; i < n; i++) u->host[i] = h[i];
    u->host[n] = '\0';
    if (p < end) {
        unsigned port = 0;
        if (*p != ':' || p + 1 == end) return -1;
        for (p++; p < end; p++) {
            if (*p < '0' || *p > '9') return -1;
            port = port * 10u + (unsigned)(*p - '0');
            if (port > 65535u) return -1;
        }
        if (!port) return -1;
        u->port = port;
    }
    u->target = end;
    return 0;
}

static int emb__write_request(emb_http *h, const cbk_request *req, const emb__url *u) {
    size_t i;
    int r = 0;
    r |= emb__puts(h, req->method);
    r |= emb__put(h, " ", 1);
    if (*u->target != '/') r |= emb__put(h, "/", 1);
    r |= emb__puts(h, u->target);
    r |= emb__puts(h, " HTTP/1.1\r\nHost: ");
    r |= emb__put(h, u->authority, u->authority_len);
    r |= emb__puts(h, "\r\n");
    for (i = 0; i < req->header_count; i++) {
        r |= emb__puts(h, req->headers[i].name);
        r |= emb__put(h, ": ", 2);
        r |= emb__puts(h, req->headers[i].value);
        r |= emb__put(h, "\r\n", 2);
    }
    if (req->body || !(emb__ieq(req->method, emb__len(req->method), "get") ||
                       emb__ieq(req->method, emb__len(req->method), "head"))) {
        r |= emb__puts(h, "Content-Length: ");
        r |= emb__put_uint(h, req->body ? req->body_len : 0u);
        r |= emb__put(h, "\r\n", 2);
    }
    r |= emb__puts(h, "Connection: close\r\n\r\n");
    if (req->body) r |= emb__put(h, req->body, req->body_len);
    r |= emb__flush(h);
    return r ? -1 : 0;
}

/* ---------------------------------------------------------------------------
 * Reading the response
 * ------------------------------------------------------------------------- */

static int emb__hex(char ch) {
    unsigned char c = emb__lower((unsigned char)ch);
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* "HTTP/1.x NNN ..." */
static int emb__status_line(const char *s, size_t n) {
    int st = 0;
    size_t i;
    if (n < 12 || !emb__ieq(s, 7, "http/1.") || s[7] < '0' || s[7] > '9' || s[8] != ' ') return -1;
    for (i = 9; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        st = st * 10 + (s[i] - '0');
    }
    if (n > 12 && s[12] != ' ') return -1;
    return st < 100 ? -1 : st;
}

static int emb__header_line(emb_http *h, cbk_response *res, const char *s, size_t n) {
    const char *v, *vend;
    size_t name_len = 0;
    if (h->line_long || *s == ' ' || *s == '\t') return EMB__GO_ON; /* cut, or obsolete folding */
    while (name_len < n && s[name_len] != ':') name_len++;
    if (name_len == n || name_len == 0) return EMB_ERR_PROTOCOL;
    v = s + name_len + 1;
    vend = s + n;
    while (v < vend && (*v == ' ' || *v == '\t')) v++;
    while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t')) vend--;
    if (emb__ieq(s, name_len, "content-length")) {
        uint64_t len = 0;
        const char *p;
        if (v == vend) return EMB_ERR_PROTOCOL;
        for (p = v; p < vend; p++) {
            if (*p < '0' || *p > '9' || len > (UINT64_C(1) << 53)) return EMB_ERR_PROTOCOL;
            len = len * 10u + (uint64_t)(*p - '0');
        }
        if (h->has_length && len != h->remain) return EMB_ERR_PROTOCOL;
        h->has_length = 1;
        h->remain = len;
    } else if (emb__ieq(s, name_len, "transfer-encoding")) {
        /* chunked must be the last coding; anything else is read to EOF */
        h->chunked = (size_t)(vend - v) >= 7 && emb__ieq(vend - 7, 7, "chunked");
    }
    return cbk_response_header(res, s, name_len, v, (size_t)(vend - v)) ? EMB__STOP : EMB__GO_ON;
}

/* A complete line (CR LF or LF stripped) in the state that collects lines. */
static int emb__line(emb_http *h, cbk_response *res) {
    const char *s = h->line;
    size_t n = h->line_len;
    switch (h->state) {
    case EMB__STATUS: {
        int st = h->line_long ? -1 : emb__status_line(s, n);
        if (st < 0) return EMB_ERR_PROTOCOL;
        if (st < 200) {
            h->state = EMB__INTERIM;
            return EMB__GO_ON;
        }
        h->status = st;
        h->state = EMB__HEADERS;
        return cbk_response_status(res, st) ? EMB__STOP : EMB__GO_ON;
    }
    case EMB__INTERIM:
        if (n == 0) h->state = EMB__STATUS;
        return EMB__GO_ON;
    case EMB__HEADERS:
        if (n != 0) return emb__header_line(h, res, s, n);
        if (h->no_body || h->status == 204 || h->status == 304)
            h->state = EMB__DONE;
        else if (h->chunked)
            h->state = EMB__CHUNK;
        else if (h->has_length)
            h->state = h->remain ? EMB__BODY : EMB__DONE;
        else
            h->state = EMB__BODY_EOF;
        return h->state == EMB__DONE ? EMB__STOP : EMB__GO_ON;
    case EMB__CHUNK: {
        uint64_t size = 0;
        size_t i = 0, digits = 0;
        if (h->line_long) return EMB_ERR_PROTOCOL;
        for (; i < n && emb__hex(s[i]) >= 0; i++, digits++) {
            if (digits == 15) return EMB_ERR_PROTOCOL;
            size = size * 16u + (uint64_t)emb__hex(s[i]);
        }
        while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
        if (!digits || (i < n && s[i] != ';')) return EMB_ERR_PROTOCOL;
        h->remain = size;
        h->state = size ? EMB__CHUNK_DATA : EMB__TRAILER;
        return EMB__GO_ON;
    }
    case EMB__CHUNK_END:
        if (n != 0) return EMB_ERR_PROTOCOL;
        h->state = EMB__CHUNK;
        return EMB__GO_ON;
    case EMB__TRAILER:
        if (n != 0) return EMB__GO_ON;
        h->state = EMB__DONE;
        return EMB__STOP;
    default: return EMB_ERR_PROTOCOL;
    }
}

/* Consumes p[0..n): EMB__GO_ON for more, EMB__STOP, or an emb_error. */
static int emb__input(emb_http *h, cbk_response *res, const unsigned char *p, size_t n) {
    while (n) {
        int r;
        if (h->state == EMB__BODY || h->state == EMB__CHUNK_DATA || h->state == EMB__BODY_EOF) {
            size_t k = n;
            if (h->state != EMB__BODY_EOF && h->remain < k) k = (size_t)h->remain;
            if (cbk_response_body(res, (const char *)p, k)) return EMB__STOP;
            p += k;
            n -= k;
            if (h->state == EMB__BODY_EOF) continue;
            h->remain -= k;
            if (h->remain) continue;
            if (h->state == EMB__BODY) {
                h->state = EMB__DONE;
                return EMB__STOP;
            }
            h->state = EMB__CHUNK_END;
            continue;
        }
        /* a line: collect up to LF */
        if (*p != '\n') {
            if (h->line_len < sizeof h->line)
                h->line[h->line_len++] = (char)*p;
            else
                h->line_long = 1;
            p++;
            n--;
            continue;
        }
        p++;
        n--;
        if (h->line_len && h->line[h->line_len - 1] == '\r') h->line_len--;
        r = emb__line(h, res);
        h->line_len = 0;
        h->line_long = 0;
        if (r != EMB__GO_ON) return r;
    }
    return EMB__GO_ON;
}

int emb_send(void *ctx, const cbk_request *req, cbk_response *res) {
    emb_http *h = (emb_http *)ctx;
    const emb_socket *sock = h->sock;
    emb__url u;
    int r = EMB__GO_ON;
    if (emb__parse_url(req->url, &u)) return CBK_SEND_NOT_SENT;
    h->io_len = h->line_len = 0;
    h->line_long = h->status = h->chunked = h->has_length = 0;
    h->remain = 0;
    h->state = EMB__STATUS;
    h->no_body = emb__ieq(req->method, emb__len(req->method), "head");
    if (sock->connect(sock->ctx, u.host, u.port, u.tls) < 0) return CBK_SEND_NOT_SENT;
    if (emb__write_request(h, req, &u)) {
        sock->close(sock->ctx);
        return EMB_ERR_WRITE;
    }
    while (r == EMB__GO_ON) {
        int got = sock->read(sock->ctx, h->io, sizeof h->io);
        if (got < 0 || (size_t)got > sizeof h->io) {
            r = EMB_ERR_READ;
        } else if (got == 0) {
            /* the peer closed: the end of a body that runs to EOF, or a
               response cut short */
            r = h->state == EMB__BODY_EOF ? EMB__STOP : EMB_ERR_TRUNCATED;
        } else {
            r = emb__input(h, res, h->io, (size_t)got);
        }
    }
    sock->close(sock->ctx);
    return r == EMB__STOP ? 0 : r;
}

/* ---------------------------------------------------------------------------
 * Printing tokens
 * ------------------------------------------------------------------------- */

int emb_print_token(void *user, const cbk_token *token) {
    const emb_console *con = (const emb_console *)user;
    const char *name = token->name ? token->name : "-";
    con->write(con->ctx, token->id, emb__len(token->id));
    con->write(con->ctx, " ", 1);
    con->write(con->ctx, name, emb__len(name));
    con->write(con->ctx, "\n", 1);
    return 0;
}
