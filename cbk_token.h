/* cbk_token.h v0.1.0 - ChatBotKit partner user tokens from C - MIT or public domain
 *
 * TABLE OF CONTENTS
 *   ABOUT, QUICK START, INTEGRATION (drop-in, CMake, pkg-config), MEMORY
 *   MODEL, THE TRANSPORT CONTRACT, WITHOUT A SEND CALLBACK (sans-I/O),
 *   RESULTS AND ERRORS, RETRIES, DIFFERENCES FROM THE NODE SDK,
 *   CONFIGURATION, VERSION, THREADS, NAMES, LICENSE. Every public function
 *   is documented again where declared.
 *
 * ABOUT
 *   One header that lists, streams, creates, updates and deletes ChatBotKit
 *   partner user tokens over the ChatBotKit REST API, and sends any other
 *   API request (cbk_fetch). It is the C peer of the official Node SDK's
 *   PartnerUserTokenClient, for firmware with its own HTTP stack, programs
 *   that vendor one file, and code that takes no dependency. It builds the
 *   requests, decodes the responses with a resumable JSON tokenizer as
 *   their bytes arrive, and retries as the SDK does; the HTTP exchange
 *   itself is yours: a send callback. adapters/ ships libcurl, POSIX
 *   sockets, an HTTP/1.1 engine (cbk_token_http1.h) with its mbedTLS and
 *   lwIP stream adapters; docs/porting.md covers the rest (ESP-IDF,
 *   Zephyr, your own stack).
 *
 *   C99, and clean as C++. No heap, no globals, no static mutable state, no
 *   floating point, no recursion, no stdio. Needs <stddef.h>, <stdint.h>
 *   and, in the implementation only, memcpy/memset/strlen (replaceable)
 *   and, in hosted POSIX or Windows builds, a sleep and a clock for the
 *   retries (poll/gettimeofday, Sleep/GetTickCount64; replaceable, or off
 *   with CBK_NO_DEFAULT_TIME: see RETRIES).
 *
 * QUICK START
 *   #include <stdio.h>
 *   #define CBK_TOKEN_IMPLEMENTATION            // in exactly one .c file
 *   #define CBK_TOKEN_CURL_IMPLEMENTATION       // (same file) the adapter
 *   #include "cbk_token.h"
 *   #include "adapters/cbk_token_curl.h"        // or your own send callback
 *
 *   static int show(void *user, const cbk_token *t) {
 *       (void)user;
 *       printf("%s %s\n", t->id, t->name ? t->name : "-");
 *       return 0;                               // nonzero stops the list
 *   }
 *
 *   static char work[CBK_WORK_MIN];             // all the memory it uses
 *   cbk_client c;
 *   cbk_curl net;
 *   curl_global_init(CURL_GLOBAL_DEFAULT);      // once per program
 *   cbk_curl_init(&net);
 *   cbk_client_init(&c, secret, cbk_curl_send, &net, work, sizeof work, NULL);
 *   if (cbk_token_list_all(&c, "user-1", NULL, show, NULL) != CBK_OK)
 *       fprintf(stderr, "%s: %s\n", cbk_client_error(&c)->code,
 *               cbk_client_error(&c)->message);
 *   cbk_curl_cleanup(&net);                     // the adapter keeps a handle
 *   curl_global_cleanup();
 *
 *   Link with libcurl. examples/dropin/main.c is a complete program that
 *   needs nothing but this header: cc -I. examples/dropin/main.c
 *
 * INTEGRATION
 *   Drop-in: copy cbk_token.h (and an adapter header, if you use one) into
 *   your tree. Define CBK_TOKEN_IMPLEMENTATION in exactly one .c file
 *   before including it; every other file includes it plainly. No build
 *   system, generated file or library is needed (the curl adapter needs
 *   libcurl).
 *   CMake: add_subdirectory(cbk_token) or, after `cmake --install`,
 *   find_package(cbk_token 0.1 REQUIRED [COMPONENTS curl]); link
 *   cbk_token::cbk_token (the headers) or cbk_token::curl (adds libcurl).
 *   pkg-config: cbk_token (or cbk_token-curl). Installed headers live in
 *   <prefix>/include/cbk_token/ and that directory is the include path, so
 *   "cbk_token.h" and "adapters/cbk_token_curl.h" are spelled the same in
 *   every case.
 *
 * MEMORY MODEL
 *   - cbk_client is a complete type: put it on the stack, in a static or in
 *     a pool. The library keeps nothing anywhere else.
 *   - The work buffer given to cbk_client_init holds everything an
 *     operation needs: the request (URL, header array, body, the
 *     "Bearer <secret>" value) and the response's decoding state (the
 *     current token's strings). CBK_WORK_MIN (1024) bytes run every
 *     operation with typical ids (about 30 bytes) and a secret of up to
 *     128 bytes; tokens whose name, description and meta together stay
 *     under about 400 bytes arrive whole. A list delivers every token
 *     whatever its fields hold (another client may have written them): a
 *     name or description that does not fit is cut at a UTF-8 boundary, a
 *     meta left out, and cbk_token.truncated says which. Anything else that
 *     does not fit (a request, an id, a cursor, a created secret) gives
 *     CBK_ERR_BUFFER_TOO_SMALL: never a silent truncation, never an
 *     overflow.
 *     cbk_token_list_all also keeps its cursor there (CBK_CURSOR_MAX bytes).
 *   - Lifetimes. The secret, the options' strings and header array, and the
 *     work buffer must outlive the client's use: they are referenced, not
 *     copied. Strings handed to your callbacks (cbk_token fields, body
 *     chunks, JSON tokens) point into the work buffer or the transport's
 *     chunk and are valid only during the callback: copy what you keep.
 *     A request from a *_prepare call is valid until cbk_client_finish or
 *     cbk_client_abort.
 *   - Outputs are always NUL-terminated and never partial: on every
 *     failure, argument errors included (they are reset before anything is
 *     checked), an id or cursor output is "" and a cbk_token_created is
 *     zeroed.
 *   - Secrets. The Authorization value is wiped from the work buffer when
 *     an operation ends (also when a blocking call finds no send callback,
 *     and when a prepared request is dropped for another operation); after
 *     a create, the work buffer bytes that held the new token's secret are
 *     wiped too, so it exists only in your cbk_token_created. No error
 *     field ever contains the client's secret (see DIFFERENCES for pieces
 *     of it). Token data (names, cursors) is delivered as the server sent
 *     it: a program that prints it masks what it must.
 *
 * THE TRANSPORT CONTRACT
 *   int send(void *ctx, const cbk_request *req, cbk_response *res);
 *
 *   The request. req->method is "GET" or "POST"; req->url an absolute,
 *   NUL-terminated http:// or https:// URL; req->headers[0..header_count)
 *   NUL-terminated names and values, already checked for CR, LF and NUL;
 *   req->body/body_len the body (NULL and 0 for GET). All of it is valid
 *   until send returns. Send the headers as given and add what framing
 *   needs (Host; Content-Length for a POST). Keep TLS verification on.
 *   req->idempotent is 1 when sending the request twice does what sending
 *   it once does (GETs, updates, deletes): only such a request may be
 *   re-sent by the transport on a fresh connection when a kept-alive one
 *   proves closed. A create or cbk_fetch POST (0) is never re-sent once any
 *   byte of it may have reached the server.
 *
 *   The response. Feed it into res as it arrives, in this order:
 *     cbk_response_status(res, status)     once, the final status (skip 1xx)
 *     cbk_response_header(res, n, nl, v, vl)   0..n times; n/v need no NUL
 *     cbk_response_body(res, data, len)    0..n times, in any chunking, the
 *                                          body after transfer decoding
 *                                          (chunked) and content decoding
 *   Each returns 0 to go on. Nonzero means the library wants no more bytes
 *   (it failed, or a user callback stopped it): stop reading and return;
 *   the value you then return does not matter, the library knows why it
 *   stopped.
 *
 *   The return value, which also lands in cbk_error.transport_code:
 *     0                  the exchange completed: a status arrived and the
 *                        body was read to its end, whatever the status.
 *     a positive value   the exchange failed: your code for the cause
 *                        (1..CBK_SEND_CODE_MAX, e.g. a CURLcode or an
 *                        errno), with these flags or'ed in:
 *       CBK_SEND_NOT_SENT  (0x4000) the request certainly never left: the
 *                        name did not resolve, the connection was refused,
 *                        no socket. Only then may a create be re-sent.
 *       CBK_SEND_FINAL     (0x2000) retrying cannot help: a refused
 *                        certificate, an unsupported scheme, a malformed
 *                        URL. The library does not retry it.
 *                        Without a flag the server may have received the
 *                        request: TLS, timeout, reset, a body cut short
 *                        (which must not return 0), a response that is not
 *                        HTTP.
 *     a negative value   a failure without flags (as a positive code
 *                        without flags).
 *   Every value fits a 16-bit int. All failures give CBK_ERR_TRANSPORT;
 *   CBK_SEND_CODE(rc) takes the flags off again. When unsure, do not set
 *   CBK_SEND_NOT_SENT: it is a promise that makes re-sending a create safe.
 *
 *   The call is synchronous, never re-entered for the same client, and may
 *   block as long as your timeouts allow. Redirects: the API sends none;
 *   following them or not makes no difference.
 *
 * WITHOUT A SEND CALLBACK (sans-I/O)
 *   For event-driven stacks that cannot block. Each operation also comes as
 *   two halves:
 *     cbk_token_list_prepare, cbk_token_list_stream_prepare,
 *     cbk_token_create_prepare, cbk_token_update_prepare,
 *     cbk_token_delete_prepare, cbk_fetch_prepare
 *       check the arguments, build the request in the work buffer and arm
 *       the receiver; *out_req is the request to send;
 *     cbk_client_response(c)   the receiver to feed, as a send callback would;
 *     cbk_client_finish(c)     the exchange completed: the result;
 *     cbk_client_abort(c, code)  the transport failed (code as above);
 *     cbk_client_retry_delay(c, attempt, &ms)  1 when the policy allows
 *       another try after ms milliseconds (then call the same prepare
 *       again), else 0.
 *   Exactly one finish or abort per prepare; one operation at a time per
 *   client. The blocking functions are these halves joined by the send
 *   callback and the retry loop. cbk_client_init accepts a NULL send
 *   callback for a client used only this way. cbk_token_list_all has no
 *   prepare: page with cbk_token_list_prepare and the cursor.
 *
 * RESULTS AND ERRORS
 *   Every operation returns a cbk_result; CBK_OK (0) is the only success.
 *     CBK_ERR_INVALID_ARGUMENT  NULL/empty id, "." or "..", CR/LF/NUL in a
 *                               header value, invalid UTF-8 in text to send,
 *                               a bad option; nothing was sent
 *     CBK_ERR_BUFFER_TOO_SMALL  the work buffer or an output cannot hold a
 *                               value (nothing is truncated)
 *     CBK_ERR_TRANSPORT         the send callback failed
 *     CBK_ERR_HTTP              the server answered outside 2xx
 *     CBK_ERR_PARSE             the body is not the JSON the API documents
 *                               (or cbk_token_list_all's cursors never end)
 *     CBK_ERR_CANCELLED         a callback of yours returned nonzero
 *     CBK_ERR_NOT_FOUND         cbk_json_get_string: no such key
 *   cbk_result_str() names them. cbk_client_error(c) has the details of the
 *   last failure: http_status, the send callback's transport_code, and the
 *   API's error code and message, decoded by the official SDK's rules (for
 *   failures without a response, code is the cbk_result_str() name and
 *   message says what went wrong). Codes are only ever appended.
 *   cbk_client_http_status(c) is the status of the last response received,
 *   kept on success too (what a verbose log prints).
 *
 * RETRIES
 *   On 429, 500, 502, 503 and 504 and on transport failures, up to
 *   opts.retries times (default 3), waiting opts.retry_delay_ms (default
 *   250) doubled each time, or the server's Retry-After seconds (at most
 *   CBK_RETRY_AFTER_MAX_MS). A create, and a cbk_fetch POST, are re-sent
 *   only where the server cannot have acted: 429, 503, CBK_SEND_NOT_SENT.
 *   A transport failure flagged CBK_SEND_FINAL is never retried.
 *   Nothing is retried once a token reached your callback. The blocking
 *   functions wait with opts.sleep_ms. Without one (opts NULL, or
 *   sleep_ms NULL) a hosted build waits with its default sleep: poll() on
 *   POSIX, Sleep() on Windows, or CBK_SLEEP_MS(ms) where you define it;
 *   so the QUICK START retries as the SDK does. Builds without one
 *   (CBK_TOKEN_NO_LIBC, freestanding, CBK_NO_DEFAULT_TIME, other systems)
 *   do not retry unless you set opts.sleep_ms: do so on a device.
 *   opts.timeout_ms bounds a whole blocking operation (every attempt and
 *   wait; all the pages of cbk_token_list_all): no wait or attempt starts
 *   that would end after it, the transport is told the time left in
 *   cbk_request.timeout_ms, and a body still arriving then is cut off
 *   (CBK_ERR_TRANSPORT, message "... deadline ..."); when retries stop for
 *   it, the last attempt's error is returned. Its clock is opts.now_ms,
 *   else the default one (CLOCK_MONOTONIC where the including file made it
 *   visible, else gettimeofday(), GetTickCount64() on Windows Vista and
 *   later, or CBK_NOW_MS()); without a clock timeout_ms is not enforced.
 *   The sans-I/O halves run no deadline: their caller owns the clock.
 *
 * DIFFERENCES FROM THE NODE SDK (on purpose; tests/conformance checks each)
 *   - Ids are percent-encoded as one path segment ("." and ".." refused);
 *     the SDK pastes them raw, so "/" or "?" in an id walks its URL.
 *   - Retry-After is honoured; the SDK ignores it.
 *   - A create is never re-sent after 500/502/504 or a transport failure
 *     where the server may have acted; the SDK re-sends it.
 *   - A path in base_url is kept as a prefix; the SDK drops it.
 *   - Blank lines in a JSON Lines stream are skipped; the SDK throws.
 *   - A 2xx JSON body is decoded whatever its Content-Type says.
 *   - "HTTP Error: <reason>" uses the status's IANA reason phrase; the SDK
 *     uses the phrase the server sent.
 *   - Error text is cut to cbk_error's 255/63 bytes at a UTF-8 boundary,
 *     and the client's secret in it is masked with '*': every run of 8 or
 *     more of its bytes wherever it stands, the whole secret if shorter, a
 *     start of it where a field was cut, and a secret split between the
 *     end of one field and the start of the other (message/code, either
 *     order). A shorter piece standing alone is left as it is.
 *   - A U+0000 in error text is shown as U+2400 (SYMBOL FOR NULL), so the
 *     C string goes on past it; the SDK's string holds U+0000.
 *   - A number as error message or code (or in an array there) is shown
 *     as JavaScript shows it when it has at most 15 significant digits
 *     and lies inside the normal double range (exact without floating
 *     point); otherwise its own digits in JavaScript's layout, where
 *     JavaScript rounds to a double first (98765432109876543210 is shown
 *     so, JavaScript shows 98765432109876540000); beyond 1e309 it is
 *     Infinity, below 1e-324 zero (falsy), as there.
 *   - An error body is read leniently (it is a diagnostic): invalid UTF-8
 *     becomes U+FFFD as TextDecoder makes it, a lone surrogate escape
 *     U+FFFD (the SDK keeps the lone UTF-16 unit, which UTF-8 output shows
 *     as U+FFFD), nesting past CBK_JSON_MAX_DEPTH is read past; anything
 *     JSON.parse refuses still gives GENERIC_ERROR. Brackets past that
 *     depth are counted, not matched, so "[{]}" there passes where
 *     JSON.parse fails.
 *   - take 0 and an empty cursor mean "not set" and are not sent.
 *   - opts.timeout_ms is one deadline for the whole operation (attempts
 *     and waits); the SDK's timeout is per attempt, and its retryTimeout
 *     says whether a timed-out attempt is retried (here a transport's own
 *     timeout is a transport failure, retried as any).
 *   - A token's name or description too long for the work buffer is cut
 *     at a UTF-8 boundary, a meta too long is left out (NULL), and
 *     cbk_token.truncated says which; the SDK, with all the memory it
 *     wants, has them whole.
 *   - A U+0000 in a created token's id or secret, or in the id an update
 *     or delete answers with, fails the operation (CBK_ERR_PARSE): those
 *     are fixed C string outputs that a caller sends back as ids or
 *     headers. The SDK returns them. In a listed token's fields it is
 *     delivered, with the fields' lengths and cbk_token.nul.
 *
 * CONFIGURATION (all optional; define before including)
 *   In every file that includes the header (they change declarations or
 *   the layout of public structs, so they must agree everywhere):
 *   CBK_TOKEN_STATIC      every function static: a private copy per
 *                         translation unit (define IMPLEMENTATION there too).
 *   CBKDEF                the linkage of every public function; default
 *                         extern, or static (unused-safe) under
 *                         CBK_TOKEN_STATIC.
 *   CBK_ID_MAX            bytes of an id output (cbk_token_created.id,
 *                         id_out); default 64.
 *   CBK_SECRET_MAX        bytes of cbk_token_created.token; default 256.
 *   CBK_JSON_MAX_DEPTH    deepest JSON nesting accepted; default 32; sizes
 *                         struct cbk_json (and so cbk_client).
 *   In the file with the implementation only:
 *   CBK_TOKEN_IMPLEMENTATION  compile the implementation here (once).
 *   CBK_TOKEN_NO_LIBC     use the library's own memcpy/memset/strlen
 *                         (freestanding builds).
 *   CBK_TOKEN_NO_MESSAGES leave every diagnostic text out (about 2.3 KB of
 *                         constants, and 1.1 KB of HTTP reason phrases):
 *                         cbk_error.message is then "" unless the server's
 *                         error body gave one; cbk_error.code still names
 *                         the result ("CBK_ERR_PARSE", "ERROR_404",
 *                         "GENERIC_ERROR", the server's code). Results are
 *                         the same.
 *   CBK_MEMCPY(d,s,n), CBK_MEMSET(d,c,n), CBK_STRLEN(s)
 *                         replace those calls (with or without NO_LIBC).
 *   CBK_TOKEN_BYTE_SCAN   scan strings and keys a byte at a time, not a
 *                         word at a time. The default where reading an
 *                         unaligned word is a call (Cortex-M0+; NO_LIBC
 *                         builds on targets without native unaligned
 *                         loads); results are the same either way.
 *   CBK_CURSOR_MAX        bytes cbk_token_list_all keeps for a cursor;
 *                         default 128 (the work buffer must be larger).
 *   CBK_RETRY_AFTER_MAX_MS  the longest Retry-After wait honoured; default
 *                         60000 (a longer one is waited this long).
 *   CBK_SLEEP_MS(ms), CBK_NOW_MS()  the default sleep and millisecond clock
 *                         used when the options give none (see RETRIES).
 *   CBK_NO_DEFAULT_TIME   no default sleep or clock (then set
 *                         opts.sleep_ms to retry); also implied by
 *                         CBK_TOKEN_NO_LIBC and freestanding builds.
 *   Constants (not settings): CBK_WORK_MIN (1024), CBK_SEND_NOT_SENT
 *   (0x4000), CBK_SEND_FINAL (0x2000), CBK_SEND_CODE_MAX (0x1FFF), the
 *   macro CBK_SEND_CODE(rc), CBK_JSON_TRUNCATE and CBK_JSON_LINES
 *   (cbk_json_init flags).
 *
 * VERSION
 *   CBK_TOKEN_VERSION_MAJOR, CBK_TOKEN_VERSION_MINOR, CBK_TOKEN_VERSION_PATCH
 *   (integers) and CBK_TOKEN_VERSION ("0.1.0"). CMake and pkg-config read
 *   them from here. Semantic versioning; while MAJOR is 0 a minor release
 *   may change the API. Changes are listed in CHANGELOG.md and, briefly, in
 *   REVISION HISTORY at the end of this file.
 *
 * THREADS
 *   Separate clients share nothing: use one client per thread, or lock
 *   around one. A client runs one operation at a time; callbacks are called
 *   on the thread that runs the operation.
 *
 * NAMES
 *   Public names start with cbk_ / CBK_. Names with a double underscore
 *   (cbk__, CBK__) and struct fields marked private are internal and may
 *   change in any release.
 *
 * LICENSE
 *   MIT or public domain (the Unlicense), your choice: see the end of the
 *   file.
 */
#ifndef CBK_TOKEN_H
#define CBK_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define CBK_TOKEN_VERSION_MAJOR 0
#define CBK_TOKEN_VERSION_MINOR 1
#define CBK_TOKEN_VERSION_PATCH 0
#define CBK_TOKEN_VERSION       "0.1.0"

#ifndef CBKDEF
#ifdef CBK_TOKEN_STATIC
#if defined(__GNUC__) || defined(__clang__)
/* a unit that calls only some functions must not warn about the rest */
#define CBKDEF static __attribute__((unused))
#else
#define CBKDEF static
#endif
#else
#define CBKDEF extern
#endif
#endif

#ifndef CBK_ID_MAX
#define CBK_ID_MAX 64
#endif
#ifndef CBK_SECRET_MAX
#define CBK_SECRET_MAX 256
#endif
#ifndef CBK_CURSOR_MAX
#define CBK_CURSOR_MAX 128
#endif
#ifndef CBK_RETRY_AFTER_MAX_MS
/* A Retry-After longer than this is waited as this long (a hostile or
   confused server must not park a device for a day). */
#define CBK_RETRY_AFTER_MAX_MS 60000u
#endif
#ifndef CBK_JSON_MAX_DEPTH
#define CBK_JSON_MAX_DEPTH 32
#endif
#ifndef CBK_LIST_MAX_PAGES
/* cbk_token_list_all's page limit when the options set none. */
#define CBK_LIST_MAX_PAGES 1000u
#endif

/* The smallest work buffer that runs every operation with typical ids
   (about 30 bytes), a secret of up to 128 bytes, and tokens whose name,
   description and meta together stay under about 400 bytes. */
#define CBK_WORK_MIN 1024

/* Flags a send callback or's into a failure code (see THE TRANSPORT
   CONTRACT); codes and flags together fit a 16-bit int. */
#define CBK_SEND_NOT_SENT 0x4000 /* the request certainly never left */
#define CBK_SEND_FINAL    0x2000 /* retrying cannot help */
#define CBK_SEND_CODE_MAX 0x1FFF /* the largest code of a transport's own */
#define CBK_SEND_CODE(rc) ((rc) > 0 ? (rc)&CBK_SEND_CODE_MAX : (rc))
/* Whether a send callback's return value carries a flag. */
#define CBK_SEND_HAS(rc, flag) ((rc) > 0 && ((rc) & (flag)) != 0)

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Results and errors
 * ------------------------------------------------------------------------- */

/* Every public function that can fail returns one of these. Codes are only
   ever appended, never renumbered. */
typedef enum cbk_result {
    CBK_OK = 0,
    /* NULL/empty id, "." or "..", CR/LF/NUL in a header value, invalid UTF-8
       in text to send, a bad option value. Nothing was sent. */
    CBK_ERR_INVALID_ARGUMENT,
    /* The work buffer or an output buffer cannot hold a value. Never a
       silent truncation (a list token's long name, description or meta
       is cut or left out, and flagged in cbk_token.truncated). */
    CBK_ERR_BUFFER_TOO_SMALL,
    /* The send callback failed: connect, TLS, timeout, reset, or a response
       that ended before its body was complete at the transport level. */
    CBK_ERR_TRANSPORT,
    /* The server answered outside 2xx; cbk_client_error() has the status,
       the API's error code and message. */
    CBK_ERR_HTTP,
    /* The body is not the JSON the API documents: bad syntax, wrong shape,
       a missing required field, a number out of range, or truncated. */
    CBK_ERR_PARSE,
    /* A user callback returned nonzero. */
    CBK_ERR_CANCELLED,
    /* cbk_json_get_string: no such key. */
    CBK_ERR_NOT_FOUND
} cbk_result;

/* "CBK_OK", "CBK_ERR_HTTP", ...; "CBK_ERR_UNKNOWN" for a value out of range.
   Never NULL. */
CBKDEF const char *cbk_result_str(cbk_result r);

/* Details of a client's last failure. Filled on every failure:
   - CBK_ERR_HTTP: http_status, and code/message from the error body by the
     official SDK's rules (a JSON {message, code}; otherwise "ERROR_<status>"
     and "HTTP Error: <reason>"; a non-JSON body gives "GENERIC_ERROR", or
     "CONTENT_TOO_LARGE" for 413).
   - any other failure: code is the cbk_result_str() name (e.g.
     "CBK_ERR_PARSE") and message says what went wrong in words.
   Under CBK_TOKEN_NO_MESSAGES the library writes no text of its own into
   message (it is "" unless the server's body gave one); code is as above.
   A non-string message or code is shown as JavaScript's String() makes it
   (1e3 as "1000", [1,[2,null]] as "1,2,", {} as "[object Object]"); a
   falsy one (0, "", false, null) falls back as in the SDK.
   message and code are always NUL-terminated valid UTF-8; over-long server
   text is cut at a UTF-8 boundary, a U+0000 in it is shown as U+2400,
   invalid UTF-8 as U+FFFD. The client's secret never appears in them (see
   DIFFERENCES for how pieces of it are found). */
typedef struct cbk_error {
    int http_status;    /* 0 when no response arrived */
    int transport_code; /* what the send callback returned, 0 if it succeeded */
    char code[64];      /* API error code, e.g. "NOT_FOUND" */
    char message[256];  /* API error message */
} cbk_error;

/* ---------------------------------------------------------------------------
 * The JSON tokenizer
 *
 * A resumable push tokenizer: feed it chunks of any size, it calls you with
 * one token at a time. Strict RFC 8259: escapes (surrogate pairs included)
 * are decoded to UTF-8; lone surrogates, invalid UTF-8, control characters,
 * leading zeros, trailing commas and anything but whitespace after the value
 * are refused. Nesting is bounded by CBK_JSON_MAX_DEPTH. A string or number
 * that spans chunks is joined in the caller's buffer; one that lies whole in
 * a chunk and needs no unescaping is handed over in place, uncopied.
 * ------------------------------------------------------------------------- */

typedef enum cbk_json_type {
    CBK_JSON_OBJECT_BEGIN = 1,
    CBK_JSON_OBJECT_END,
    CBK_JSON_ARRAY_BEGIN,
    CBK_JSON_ARRAY_END,
    CBK_JSON_KEY,    /* an object key; text is the decoded key */
    CBK_JSON_STRING, /* text is the decoded value (UTF-8, may hold NUL) */
    CBK_JSON_NUMBER, /* text is the number as written; see cbk_json_int64 */
    CBK_JSON_TRUE,
    CBK_JSON_FALSE,
    CBK_JSON_NULL,
    CBK_JSON_RAW /* a value asked for with cbk_json_capture: its exact text */
} cbk_json_type;

typedef struct cbk_json_token {
    cbk_json_type type;
    const char *text; /* KEY, STRING, NUMBER, RAW: len bytes; not always
                         NUL-terminated; valid only during the callback */
    size_t len;
    unsigned depth; /* 0 for the top value; a container's BEGIN and END
                       carry the depth of the container itself */
    int truncated;  /* 1 when CBK_JSON_TRUNCATE cut text to fit the buffer */
} cbk_json_token;

typedef struct cbk_json cbk_json;

/* Called once per token. Return 0 to go on; any other value stops the
   tokenizer, and cbk_json_feed returns it as a cbk_result (a value that is
   not a cbk_result error becomes CBK_ERR_CANCELLED). */
typedef int (*cbk_json_fn)(void *user, cbk_json *json, const cbk_json_token *token);

/* Flags for cbk_json_init.
   CBK_JSON_TRUNCATE: a string longer than the buffer is cut at a UTF-8
   boundary (token.truncated = 1) instead of failing; a captured value
   that does not fit comes as a RAW token holding only its first byte
   (which tells its type), with truncated = 1.
   CBK_JSON_LINES: JSON Lines: one value per line, blank lines skipped, a
   value may not span lines. */
#define CBK_JSON_TRUNCATE 1u
#define CBK_JSON_LINES    2u

/* The tokenizer's state; a complete type so you can place it anywhere.
   All fields are private. */
struct cbk_json {
    cbk_json_fn on_token;
    void *user;
    char *buf;
    size_t buf_size;
    size_t kept;     /* bytes at buf's start held by cbk_json_keep */
    size_t slen;     /* bytes of the current joined string or number */
    uint64_t offset; /* bytes consumed before the current chunk */
    const char *pos; /* where in the current chunk the tokenizer is */
    const char *cap; /* where the captured value's bytes in this chunk begin */
    size_t cap_len;  /* captured bytes already copied to buf */
    size_t high;     /* bytes of buf ever written (what a wipe must cover) */
    uint32_t ucs;    /* \u escape being read */
    uint32_t hi;     /* high surrogate waiting for its pair */
    unsigned depth;
    unsigned skip_depth;
    unsigned flags;
    uint8_t state;   /* what may come next */
    uint8_t lex;     /* the token being read, if any */
    uint8_t sub;     /* the position inside that token */
    uint8_t utf8_lo; /* bounds of the next UTF-8 continuation byte */
    uint8_t utf8_hi;
    uint8_t is_key;
    uint8_t joined;   /* the current token is being joined in buf */
    uint8_t skipping; /* 1: skip a value; 2: capture it; 3: skip the rest of a container */
    uint8_t truncated;
    uint8_t seen;      /* any value byte seen (CBK_JSON_LINES) */
    uint8_t result;    /* sticky cbk_result after a failure */
    uint8_t nul;       /* the current string holds \u0000 */
    uint8_t num_ok;    /* num is the current number's value */
    int64_t num;       /* (of a plain integer of <= 18 digits) */
    uint8_t stopped;   /* a callback's nonzero ended it */
    uint8_t in_object; /* the innermost open container is an object (its stack bit) */
    uint8_t cap_over;  /* CBK_JSON_TRUNCATE: the captured value does not fit */
    const char *match; /* CBK__JSON_MATCH: what a joined key has yet to match */
    size_t match_len;
    char cap_first; /* the captured value's first byte */
    unsigned deep;  /* lenient: levels past CBK_JSON_MAX_DEPTH, counted only */
    unsigned char stack[(CBK_JSON_MAX_DEPTH + 7) / 8]; /* 1 bit per level: object */
};

/* Checks that text[0..len) is exactly one RFC 8259 JSON text (whitespace
   around it allowed). CBK_OK, or CBK_ERR_PARSE. Uses no buffer: strings
   are checked, not decoded. */
CBKDEF cbk_result cbk_json_validate(const char *text, size_t len);

/* Prepares a tokenizer (any previous state is dropped). buf/buf_size:
   where strings and numbers that span chunks or need unescaping are
   joined, and what cbk_json_keep and cbk_json_capture fill. It must stay
   valid while the tokenizer is used. It may be NULL/0 if no such token
   reaches it: every token is skipped, or each one lies whole in its chunk
   and needs no unescaping. flags: 0, or CBK_JSON_TRUNCATE | CBK_JSON_LINES
   (other bits are ignored). on_token is called from cbk_json_feed and
   cbk_json_finish, once per token, with user. A NULL json does nothing. */
CBKDEF void cbk_json_init(cbk_json *json, char *buf, size_t buf_size, unsigned flags,
                          cbk_json_fn on_token, void *user);

/* Feeds the next chunk. CBK_OK, CBK_ERR_PARSE (syntax; depth over
   CBK_JSON_MAX_DEPTH), CBK_ERR_BUFFER_TOO_SMALL (a token that must be joined
   does not fit in buf), or what a callback returned. After a failure every
   further call returns the same result. CBK_ERR_INVALID_ARGUMENT for a NULL
   json, or NULL data with len > 0 (nothing is read: not a failure of the
   input, so later calls go on); NULL data with len 0 is CBK_OK. */
CBKDEF cbk_result cbk_json_feed(cbk_json *json, const char *data, size_t len);

/* Declares the end of the input. CBK_OK when exactly one complete value was
   read (with CBK_JSON_LINES: when no line was left unfinished), else
   CBK_ERR_PARSE; CBK_ERR_INVALID_ARGUMENT for a NULL json. */
CBKDEF cbk_result cbk_json_finish(cbk_json *json);

/* Byte offset of the tokenizer in the whole input (where it failed, after a
   failure). 0 for a NULL json. */
CBKDEF uint64_t cbk_json_offset(const cbk_json *json);

/* From a KEY token's callback: skip the key's value without tokens (nothing
   is copied, everything is still checked). From an OBJECT_BEGIN or
   ARRAY_BEGIN token's callback: skip everything inside that container
   (still checked); its END token is delivered. From any other token, or
   while a skip or capture is under way (or with a NULL json), it does
   nothing. */
CBKDEF void cbk_json_skip(cbk_json *json);

/* From a KEY token's callback: deliver the key's value as one CBK_JSON_RAW
   token holding its exact text, copied into buf after the kept bytes and
   NUL-terminated (CBK_ERR_BUFFER_TOO_SMALL when it does not fit). A NULL
   json does nothing. */
CBKDEF void cbk_json_capture(cbk_json *json);

/* From a KEY, STRING, NUMBER or RAW token's callback: keep the token's text
   in buf (copying it there if it was handed over in place), NUL-terminated,
   so that it stays valid after the callback. *out receives the kept copy
   (NULL on failure). CBK_OK, CBK_ERR_BUFFER_TOO_SMALL, or
   CBK_ERR_INVALID_ARGUMENT when json, token or out is NULL. */
CBKDEF cbk_result cbk_json_keep(cbk_json *json, const cbk_json_token *token, const char **out);

/* The number of buf bytes held by cbk_json_keep (and a capture) so far: a
   mark to give cbk_json_release later. 0 for a NULL json. */
CBKDEF size_t cbk_json_mark(const cbk_json *json);
/* Forgets the text kept since mark was taken, so its bytes of buf can be
   used again; pointers from those cbk_json_keep calls become invalid. A
   mark above the current count, or a NULL json, is ignored. */
CBKDEF void cbk_json_release(cbk_json *json, size_t mark);

/* Converts a JSON number's text to an int64 without floating point. A
   fraction is truncated toward zero and an exponent applied ("1.7e3" is
   1700, "-2.9" is -2). text need not be NUL-terminated. CBK_OK;
   CBK_ERR_PARSE when the text is not exactly one JSON number or the value
   does not fit in int64 (*out is then 0); CBK_ERR_INVALID_ARGUMENT when
   text or out is NULL. */
CBKDEF cbk_result cbk_json_int64(const char *text, size_t len, int64_t *out);

/* Finds the string value of a top-level key in one JSON object text (e.g. a
   token's meta) and writes it, decoded and NUL-terminated, to out. The last
   of duplicate keys wins, as in JSON.parse. key is NUL-terminated and
   compared after decoding. Results: CBK_OK; CBK_ERR_NOT_FOUND (no such
   key, or the text is not an object); CBK_ERR_PARSE (invalid JSON, or the
   value is not a string); CBK_ERR_BUFFER_TOO_SMALL (out cannot hold the
   value and its NUL: nothing partial is left in out, which is set to "");
   CBK_ERR_INVALID_ARGUMENT (json, key or out NULL, or out_size 0). On every
   failure out is "" (when out and out_size allow). Uses no other memory. */
CBKDEF cbk_result cbk_json_get_string(const char *json, size_t len, const char *key, char *out,
                                      size_t out_size);

/* ---------------------------------------------------------------------------
 * The transport contract
 * ------------------------------------------------------------------------- */

typedef struct cbk_header {
    const char *name;
    const char *value;
} cbk_header;

typedef struct cbk_request {
    const char *method; /* "GET" or "POST" */
    const char *url;    /* absolute URL, NUL-terminated */
    const cbk_header *headers;
    size_t header_count;
    const char *body; /* NULL for GET */
    size_t body_len;
    /* 1: sending it twice does what sending it once does (every GET, an
       update, a delete), so a transport may re-send it on a fresh
       connection when a kept-alive one turns out closed before any byte of
       the response arrived. 0 (a create, a cbk_fetch POST): never re-send
       it once any of its bytes may have reached the server. */
    int idempotent;
    /* 0: no deadline. Else the milliseconds left of the operation's
       opts.timeout_ms when the request was handed over: a transport should
       give up by then (and return a failure without CBK_SEND_FINAL). */
    unsigned timeout_ms;
} cbk_request;

struct cbk_client;

/* The library's receiver; the transport feeds it. */
typedef struct cbk_response {
    struct cbk_client *client; /* private */
} cbk_response;

/* Transport side: the response's final status (1xx interim responses are
   not passed on). Call it once, before any header or body. Returns 0 to go
   on. Nonzero means the library wants no more bytes: stop reading and end
   the exchange. That happens when no operation is prepared, when the
   status is outside 100..999 or a status was already given (the operation
   fails with CBK_ERR_TRANSPORT), or when an earlier failure already
   settled the result. */
CBKDEF int cbk_response_status(cbk_response *r, int http_status);
/* Transport side: one response header (0..n times, after the status, before
   the body). name/value are name_len/value_len bytes, need not be
   NUL-terminated, and are read during the call only; the value should
   have its surrounding whitespace trimmed. Only Retry-After (delta-seconds)
   is used; other headers are ignored, so a transport that cannot report
   headers loses only that hint. Returns 0 to go on, nonzero when the
   library wants no more bytes. */
CBKDEF int cbk_response_header(cbk_response *r, const char *name, size_t name_len,
                               const char *value, size_t value_len);
/* Transport side: the next piece of the body, after transfer decoding
   (chunked) and content decoding (gzip, ...), in any chunking; a piece may
   be empty. data is read during the call only (tokens delivered to your
   callbacks from it are valid only during those callbacks). Returns 0 to
   go on. Nonzero means the library wants no more bytes: it failed (a
   parse error, a full work buffer), or a user callback stopped it. Stop
   reading; the operation's result is already settled. */
CBKDEF int cbk_response_body(cbk_response *r, const char *data, size_t len);

/* See THE TRANSPORT CONTRACT at the top of the file. */
typedef int (*cbk_send_fn)(void *ctx, const cbk_request *req, cbk_response *res);

/* ---------------------------------------------------------------------------
 * The client
 * ------------------------------------------------------------------------- */

typedef struct cbk_client_options {
    const char *base_url;       /* NULL: "https://api.chatbotkit.com" */
    const char *run_as_user_id; /* NULL or "": not sent; else X-RunAs-User-Id */
    const char *timezone;       /* NULL or "": not sent; else X-Timezone */
    const cbk_header *headers;  /* extra headers on every request (none named
                                   Authorization; one named as a header the
                                   library sends is left out) */
    size_t header_count;
    unsigned retries;        /* default 3 */
    unsigned retry_delay_ms; /* default 250, doubled each retry */
    /* How the blocking functions wait between attempts. NULL: the default
       sleep of a hosted POSIX or Windows build (see RETRIES), or, where
       there is none (CBK_TOKEN_NO_LIBC, freestanding), no retries. */
    void (*sleep_ms)(void *ctx, unsigned ms);
    void *sleep_ctx; /* given to sleep_ms and now_ms */
    /* NULL or "": not sent; else X-RunAs-Child-User-Email (the SDK's
       runAsChildUserEmail) */
    const char *run_as_child_user_email;
    /* 0: none. A deadline for a whole blocking operation, attempts and
       waits together (cbk_token_list_all: all its pages): no wait or
       attempt starts that would end after it, the transport is told the
       time left (cbk_request.timeout_ms), and a response still arriving
       then is cut off with CBK_ERR_TRANSPORT. What a watchdog needs; see
       RETRIES. */
    unsigned timeout_ms;
    /* A clock in milliseconds for timeout_ms (monotonic, any origin),
       called with sleep_ctx. NULL: the default clock of a hosted build;
       without one, timeout_ms is not enforced. */
    uint64_t (*now_ms)(void *ctx);
} cbk_client_options;

/* Fills o with the defaults above. */
CBKDEF void cbk_client_options_init(cbk_client_options *o);

/* Bits of cbk_token.nul and cbk_token.truncated: which field. */
#define CBK_FIELD_ID          1u
#define CBK_FIELD_NAME        2u
#define CBK_FIELD_DESCRIPTION 4u
#define CBK_FIELD_META        8u

/* A token as a list delivers it. The strings are NUL-terminated; each also
   has its length in bytes, which is what counts when the field holds
   U+0000 (a \u0000 in the JSON: the C string then ends early, and the
   field's bit is set in `nul`). Data that another client wrote is
   delivered whatever its size: a name or description that does not fit
   the work buffer is cut at a UTF-8 boundary, a meta that does not fit is
   left out (NULL: cut JSON is not JSON), and the field's bit is set in
   `truncated` (list again with a larger work buffer for the whole value).
   The id is never cut: an id that does not fit fails the list with
   CBK_ERR_BUFFER_TOO_SMALL. */
typedef struct cbk_token {
    const char *id;          /* never NULL */
    const char *name;        /* NULL when absent or null */
    const char *description; /* NULL when absent or null */
    const char *meta;        /* the raw JSON object text, NULL when absent */
    int64_t created_at;      /* ms since the epoch */
    int64_t updated_at;
    size_t id_len, name_len, description_len, meta_len; /* bytes; 0 when NULL */
    unsigned nul;       /* CBK_FIELD_* bits: the field holds U+0000 */
    unsigned truncated; /* CBK_FIELD_* bits: the field was cut or left out */
} cbk_token;            /* valid only during the callback */

/* Called for each token. Return 0 to go on, nonzero to stop
   (the operation then returns CBK_ERR_CANCELLED). */
typedef int (*cbk_token_fn)(void *user, const cbk_token *token);

/* A string body or line for cbk_fetch. Return 0 to go on, nonzero to stop. */
typedef int (*cbk_body_fn)(void *user, const char *data, size_t len);

typedef struct cbk_token_created {
    char id[CBK_ID_MAX];
    char token[CBK_SECRET_MAX]; /* the new token's secret */
    int64_t created_at;
} cbk_token_created;

typedef struct cbk_kv {
    const char *key;
    const char *value;
} cbk_kv;

typedef struct cbk_token_list_options {
    const char *cursor; /* NULL: the first page */
    const char *order;  /* NULL, "asc" or "desc" */
    int take;           /* 0: the server's default */
    const cbk_kv *meta; /* sent as meta.KEY=VALUE */
    size_t meta_count;
    /* cbk_token_list_all only: the most pages it reads; 0 means
       CBK_LIST_MAX_PAGES (1000). */
    unsigned max_pages;
} cbk_token_list_options;

typedef struct cbk_token_fields { /* create/update body; NULL fields omitted */
    const char *name;
    const char *description;
    const cbk_kv *meta; /* string values */
    size_t meta_count;
    const char *config_json; /* a JSON object, checked before sending */
} cbk_token_fields;

typedef struct cbk_file {
    const char *name; /* the part's filename */
    const char *type; /* its Content-Type; NULL: application/octet-stream */
    const void *data;
    size_t len;
} cbk_file;

typedef struct cbk_fetch_options {
    const char *method; /* NULL: POST when json or file is set, else GET */
    const cbk_kv *query;
    size_t query_count;
    const char *json;     /* body, sent as application/json, checked first */
    size_t json_len;      /* (nonzero with json NULL is refused) */
    const cbk_file *file; /* multipart/form-data, field "file" */
    int stream;           /* 1: Accept: application/jsonl, one line per callback */
    /* A raw body sent as application/octet-stream (the SDK's buffer);
       NULL: none. At most one of json, body and file. */
    const void *body;
    size_t body_len;
    /* Headers for this request only, after the client's: one with the
       name (in any case) of a header already set replaces its value, as
       the SDK's per-request headers do. Checked as the client's are
       (Authorization is refused: it is the library's). */
    const cbk_header *headers;
    size_t header_count;
} cbk_fetch_options;

/* A decoded token in flight (private). */
typedef struct cbk__item {
    cbk_token token;
    unsigned seen;  /* which fields arrived */
    int field;      /* the field whose value comes next */
    int deferred;   /* a cbk_result held until the stream line's type is known */
    int type_state; /* stream lines: 0 no type yet, 1 "item", 2 other, 3 cut short */
    int pending;    /* a stream item waits for its line to prove whole */
} cbk__item;

/* The client. A complete type you allocate; all fields are private. */
typedef struct cbk_client {
    const char *secret;
    size_t secret_len;
    cbk_send_fn send;
    void *send_ctx;
    char *work;
    size_t work_size;
    cbk_client_options opts;
    size_t base_len;   /* scheme://host[:port] part of base_url */
    size_t prefix_len; /* base_url's path (after base_len, no trailing '/') */
    int drop_api;      /* the host is api.chatbotkit.com */
    cbk_error error;
    cbk_response response;
    cbk_request request;
    /* the operation under way */
    int op;
    int status;
    int finished;
    int delivered; /* something reached a user callback */
    unsigned retry_after_ms;
    int has_retry_after;
    cbk_result result; /* sticky failure from the receiver */
    char *auth;        /* the Authorization value in work, wiped at the end */
    size_t auth_len;
    const struct cbk__kind *kind; /* the operation's own parts (private) */
    cbk_json json;
    cbk__item item;
    cbk_token_fn on_token;
    cbk_body_fn on_body;
    void *user;
    char *out; /* cursor or id output */
    size_t out_size;
    cbk_token_created *created;
    /* what the request is built from (kept for retries) */
    const char *user_id;
    const char *token_id;
    const char *path;
    const cbk_token_list_options *list_opts;
    const cbk_token_fields *fields;
    const cbk_fetch_options *fetch_opts;
    const char *cursor; /* list_all: the cursor this page asks with */
    int unsafe;         /* a POST the server may act on: not re-sent */
    char *region;       /* work bytes after the request */
    size_t region_size;
    const char *got_cursor; /* the response's cursor, kept in region */
    const char *got_id;     /* the response's id, kept in region */
    int field;              /* the top-level field whose value comes next */
    uint32_t flags;         /* what the top level held (CBK__F_* bits) */
    size_t page_items;
    size_t mark;      /* decoding region bytes kept before the current token */
    size_t line_len;  /* cbk_fetch streaming: bytes of the line so far */
    int bom;          /* bytes of a UTF-8 byte order mark skipped (3: done) */
    int last_status;  /* cbk_client_http_status: kept across the attempts */
    int has_deadline; /* a blocking operation's opts.timeout_ms runs */
    uint64_t deadline;
    /* an error body's message (bit 0) and code (bit 1): */
    unsigned char err_set;   /* a truthy value was given */
    unsigned char err_cut;   /* the text was cut at the field's end */
    unsigned char err_arr;   /* inside the value's array */
    unsigned char err_first; /* the next array element is its array's first */
} cbk_client;

/* Sets up a client. secret: the API secret (NULL or "" sends no
   Authorization header); the pointer must stay valid. send/send_ctx: your
   transport. work/work_size: the caller's working memory, used by every
   operation (see CBK_WORK_MIN). opts: NULL for the defaults; copied, but
   the strings and header array it points to must stay valid.
   send may be NULL for a client used only through the sans-I/O halves.
   CBK_OK, or CBK_ERR_INVALID_ARGUMENT (NULL client or work; a base URL
   that is not http:// or https://, holds a space, '?' or '#', user info
   ("user@"), an empty or invalid host or an unclosed '[', or a port that
   is not 1..65535; CR or LF in the secret or a header value; an empty or
   invalid header name, or one named Authorization). A client whose init
   failed sends nothing: its operations return CBK_ERR_INVALID_ARGUMENT. */
CBKDEF cbk_result cbk_client_init(cbk_client *c, const char *secret, cbk_send_fn send,
                                  void *send_ctx, void *work, size_t work_size,
                                  const cbk_client_options *opts);

/* Details of the client's last failure (zeroed on success). Never NULL for
   a non-NULL client. */
CBKDEF const cbk_error *cbk_client_error(const cbk_client *c);

/* The HTTP status of the last response the client received, success or
   not: during an operation the current one's (the latest attempt that got
   a status), after it the last operation's. 0 when no response arrived in
   the current or last operation (nothing sent, a transport failure on
   every attempt, an argument error) and for a NULL client. Unlike
   cbk_client_error()->http_status it is kept on success too (e.g. 201). */
CBKDEF int cbk_client_http_status(const cbk_client *c);

/* ---------------------------------------------------------------------------
 * Partner user token operations
 *
 * Each blocks in the send callback, retries as the options say, and returns
 * CBK_OK or the error the last attempt ended with (cbk_client_error() has
 * the details). Retries: 429, 500, 502, 503, 504 and transport failures, up
 * to opts.retries times, waiting retry_delay_ms, doubled each time, or the
 * server's Retry-After seconds. A create is retried only on 429, 503 and
 * CBK_SEND_NOT_SENT, where the server cannot have acted. Nothing is retried
 * once a token reached your callback.
 * ------------------------------------------------------------------------- */

/* One page of user_id's tokens (GET .../partner/user/{user_id}/token/list
   with opts' cursor, order, take and meta filters; opts may be NULL). Calls
   on_token for each token as it is decoded (on_token may be NULL: the page
   is still read and checked), then writes the server's cursor for the next
   page to next_cursor, NUL-terminated ("" when there is none).
   next_cursor may be NULL; otherwise next_cursor_size must hold the cursor
   and its NUL. Tokens passed to on_token are valid only during the call.
   Results:
     CBK_OK                    the whole body was read and well formed
     CBK_ERR_INVALID_ARGUMENT  NULL client, no send callback, user_id NULL,
                               empty, "." or "..", order not "asc"/"desc",
                               take < 0, text not valid UTF-8; nothing sent
     CBK_ERR_BUFFER_TOO_SMALL  next_cursor_size 0; the work buffer cannot
                               hold the request, a token's id, its keys and
                               timestamps, or the cursor; the cursor does
                               not fit in next_cursor (a long name,
                               description or meta is cut or left out
                               instead: see cbk_token)
     CBK_ERR_TRANSPORT, CBK_ERR_HTTP  see cbk_client_error()
     CBK_ERR_PARSE             the body is not {"items":[...],"cursor":...}
                               with valid items
     CBK_ERR_CANCELLED         on_token returned nonzero
   On failure next_cursor is "". Retries as described above, never after a
   token reached on_token. */
CBKDEF cbk_result cbk_token_list(cbk_client *c, const char *user_id,
                                 const cbk_token_list_options *opts, cbk_token_fn on_token,
                                 void *user, char *next_cursor, size_t next_cursor_size);

/* Every token after opts->cursor in one response, sent as JSON Lines
   (Accept: application/jsonl); each reaches on_token as soon as its line's
   newline arrives (or the body ends), so memory use does not grow with the
   number of tokens. Lines without a string "type" of "item" are skipped:
   another type, no type, a type that is not a string, a line that is not
   an object (the SDK yields them; its users filter on type). Blank lines
   are skipped. Results as for cbk_token_list; a line that is not one JSON
   value as a whole (bytes after the value, two values, values parted by a
   bare CR) gives CBK_ERR_PARSE and hands nothing over from that line, as
   the SDK's JSON.parse of the line throws before it yields; an item line
   whose "data" is not a valid token fails the same way.
   A failure after a token reached on_token is not retried: the tokens seen
   so far stand, and the caller decides whether to list again. */
CBKDEF cbk_result cbk_token_list_stream(cbk_client *c, const char *user_id,
                                        const cbk_token_list_options *opts, cbk_token_fn on_token,
                                        void *user);

/* Every page: calls cbk_token_list page after page, following cursors,
   until the server returns an empty page, an empty cursor, or the cursor
   it was given (CBK_OK). opts->cursor, if set, is where it starts; the
   other options apply to every page. It is bounded against a server whose
   cursors never end: a cursor that an earlier page already gave (a cycle
   A, B, A, ...; found within twice the cycle's length in pages, by
   comparing 64-bit hashes) ends it with CBK_ERR_PARSE, and so does a
   cursor still offered after opts->max_pages pages (0: CBK_LIST_MAX_PAGES,
   1000); the tokens of the pages read stand. The cursor is kept in the first
   CBK_CURSOR_MAX bytes of the work buffer, so the work buffer must be
   larger than that plus one page's needs. Results as for cbk_token_list,
   plus CBK_ERR_BUFFER_TOO_SMALL when a cursor is CBK_CURSOR_MAX bytes or
   longer. On failure, the tokens of earlier pages have already reached
   on_token; each page is retried on its own. */
CBKDEF cbk_result cbk_token_list_all(cbk_client *c, const char *user_id,
                                     const cbk_token_list_options *opts, cbk_token_fn on_token,
                                     void *user);

/* Creates a token for user_id (POST .../token/create with fields as JSON;
   fields NULL sends {}). out (required) receives the new token's id,
   secret and creation time, all NUL-terminated. The secret exists only in
   out: the work buffer bytes that held it are wiped before return, and on
   any failure out is zeroed. Results: CBK_OK; CBK_ERR_INVALID_ARGUMENT
   (out NULL, a bad user_id, text that is not valid UTF-8, config_json that
   is not a JSON object); CBK_ERR_BUFFER_TOO_SMALL (the request does not fit
   the work buffer, or the id or secret does not fit CBK_ID_MAX /
   CBK_SECRET_MAX); CBK_ERR_TRANSPORT; CBK_ERR_HTTP; CBK_ERR_PARSE. It is
   re-sent only on 429, 503 and CBK_SEND_NOT_SENT, where the server cannot
   have made a token, so a retry never makes two. */
CBKDEF cbk_result cbk_token_create(cbk_client *c, const char *user_id,
                                   const cbk_token_fields *fields, cbk_token_created *out);

/* Updates token_id of user_id (POST .../token/{token_id}/update) with the
   non-NULL fields; fields NULL sends {}. id_out (NULL ok, else
   CBK_ID_MAX bytes) receives the id the server answered with; "" on
   failure. Results as for cbk_token_create, with token_id checked like
   user_id. Retried as a read is (the update is idempotent). */
CBKDEF cbk_result cbk_token_update(cbk_client *c, const char *user_id, const char *token_id,
                                   const cbk_token_fields *fields, char id_out[CBK_ID_MAX]);

/* Deletes token_id of user_id (POST .../token/{token_id}/delete with {}).
   id_out (NULL ok, else CBK_ID_MAX bytes) receives the deleted id; "" on
   failure. Results: CBK_OK; CBK_ERR_INVALID_ARGUMENT (a bad user_id or
   token_id); CBK_ERR_BUFFER_TOO_SMALL; CBK_ERR_TRANSPORT; CBK_ERR_HTTP
   (e.g. 404 NOT_FOUND for an unknown token); CBK_ERR_PARSE. */
CBKDEF cbk_result cbk_token_delete(cbk_client *c, const char *user_id, const char *token_id,
                                   char id_out[CBK_ID_MAX]);

/* ---------------------------------------------------------------------------
 * The generic request (the SDK's clientFetch)
 * ------------------------------------------------------------------------- */

/* Any API path ("/api/v1/..."; the /api rule applies): the SDK's
   clientFetch. opts NULL: a GET with no query. A 2xx body goes to on_body
   (NULL ok: it is read and dropped), raw chunks as they arrive, or with
   stream = 1 one JSON line per call (without its line end; blank lines
   skipped; a line must fit in the work buffer; a line that is not one JSON
   value gives CBK_ERR_PARSE and is not handed over, as the SDK's
   JSON.parse of it throws). Any other status is
   decoded into cbk_error and gives CBK_ERR_HTTP without calling on_body.
   opts->body sends raw bytes as application/octet-stream (the SDK's
   buffer); opts->headers are added for this request, replacing a header
   of the same name (in any case).
   Results: CBK_OK; CBK_ERR_INVALID_ARGUMENT (path not starting with '/',
   holding a space, control or non-ASCII byte or '#'; a method other than
   GET/POST, or GET with a body; more than one of json, body and file;
   body_len without body; json that is not one JSON text; a bad file,
   query or header); CBK_ERR_BUFFER_TOO_SMALL;
   CBK_ERR_TRANSPORT; CBK_ERR_HTTP; CBK_ERR_CANCELLED (on_body returned
   nonzero). A POST is retried only where the server cannot have acted, as
   a create is. */
CBKDEF cbk_result cbk_fetch(cbk_client *c, const char *path, const cbk_fetch_options *opts,
                            cbk_body_fn on_body, void *user);

/* ---------------------------------------------------------------------------
 * Without a send callback (sans-I/O)
 *
 *   const cbk_request *req;
 *   if (cbk_token_list_prepare(&c, "u1", NULL, on_token, NULL, NULL, 0, &req) == CBK_OK) {
 *       ... send req, feed cbk_client_response(&c) ...
 *       r = cbk_client_finish(&c);          // or cbk_client_abort(&c, code)
 *   }
 *
 * Each prepare call checks its arguments, builds the request in the work
 * buffer and arms the receiver. cbk_client_retry_delay tells whether and
 * when to try again (then call the same prepare again). The send callback
 * given to cbk_client_init is not used on this path (it may be NULL).
 * ------------------------------------------------------------------------- */

/* The first half of each operation above, for callers that do the I/O
   themselves. Each takes the arguments of its blocking twin plus out_req,
   checks them as the twin does, builds the request in the work buffer,
   arms the receiver, and sets *out_req to the request to send (NULL on
   failure; out_req itself may be NULL). The request and its strings are
   valid until cbk_client_finish or cbk_client_abort. Then feed the
   response into cbk_client_response(c) and end with exactly one of
   cbk_client_finish or cbk_client_abort. Results: CBK_OK, or the twin's
   CBK_ERR_INVALID_ARGUMENT / CBK_ERR_BUFFER_TOO_SMALL, in which case
   nothing is prepared. To retry (see cbk_client_retry_delay), call the
   same prepare again with the same arguments. The client's send callback
   is not used and may be NULL. */
CBKDEF cbk_result cbk_token_list_prepare(cbk_client *c, const char *user_id,
                                         const cbk_token_list_options *opts, cbk_token_fn on_token,
                                         void *user, char *next_cursor, size_t next_cursor_size,
                                         const cbk_request **out_req);
CBKDEF cbk_result cbk_token_list_stream_prepare(cbk_client *c, const char *user_id,
                                                const cbk_token_list_options *opts,
                                                cbk_token_fn on_token, void *user,
                                                const cbk_request **out_req);
CBKDEF cbk_result cbk_token_create_prepare(cbk_client *c, const char *user_id,
                                           const cbk_token_fields *fields, cbk_token_created *out,
                                           const cbk_request **out_req);
CBKDEF cbk_result cbk_token_update_prepare(cbk_client *c, const char *user_id, const char *token_id,
                                           const cbk_token_fields *fields, char id_out[CBK_ID_MAX],
                                           const cbk_request **out_req);
CBKDEF cbk_result cbk_token_delete_prepare(cbk_client *c, const char *user_id, const char *token_id,
                                           char id_out[CBK_ID_MAX], const cbk_request **out_req);
CBKDEF cbk_result cbk_fetch_prepare(cbk_client *c, const char *path, const cbk_fetch_options *opts,
                                    cbk_body_fn on_body, void *user, const cbk_request **out_req);

/* The receiver of the prepared request, to feed with cbk_response_status,
   cbk_response_header and cbk_response_body. The same pointer for the
   client's whole life; feeding it with no operation prepared fails
   harmlessly. NULL for a NULL client. */
CBKDEF cbk_response *cbk_client_response(cbk_client *c);

/* The exchange completed (a status arrived and the body was read to its
   end, whatever the status): decodes what is left and returns the
   operation's result, exactly as the blocking twin would for this attempt
   (the outputs are written on success). Wipes the Authorization value
   and, after a create, every byte that held the new secret. No status was
   fed: CBK_ERR_TRANSPORT. CBK_ERR_INVALID_ARGUMENT when nothing is
   prepared or the operation was already finished or aborted. */
CBKDEF cbk_result cbk_client_finish(cbk_client *c);

/* The exchange failed at the transport. transport_code is nonzero, as a
   send callback would return it: CBK_SEND_NOT_SENT when the request
   certainly never left, any other value otherwise. It is recorded in
   cbk_error.transport_code and decides whether a create may be retried.
   Returns the operation's result: CBK_ERR_TRANSPORT, or the failure the
   receiver already settled (it asked the transport to stop).
   CBK_ERR_INVALID_ARGUMENT when nothing is prepared, the operation was
   already finished or aborted, or transport_code is 0 (which says the
   exchange completed: call cbk_client_finish; the operation stays
   prepared). */
CBKDEF cbk_result cbk_client_abort(cbk_client *c, int transport_code);

/* After cbk_client_finish or cbk_client_abort returned a failure for
   attempt number `attempt` (0 for the first): 1 when the client's retry
   policy allows another attempt, with the wait in *delay_ms (delay_ms may
   be NULL), else 0. The policy is the blocking functions': 429, 500, 502,
   503, 504 and transport failures, at most opts.retries attempts beyond
   the first, opts.retry_delay_ms doubled per attempt, or the server's
   Retry-After seconds (at most CBK_RETRY_AFTER_MAX_MS). It says 0 for a
   create or POST that may have reached the server, once a token reached a
   callback, for any other failure, and before the operation ended. It
   does not depend on opts.sleep_ms. */
CBKDEF int cbk_client_retry_delay(const cbk_client *c, unsigned attempt, unsigned *delay_ms);

#ifdef __cplusplus
}
#endif

#endif /* CBK_TOKEN_H */

/* ===========================================================================
 * Implementation
 * ========================================================================= */
#ifdef CBK_TOKEN_IMPLEMENTATION
#ifndef CBK__IMPLEMENTED
#define CBK__IMPLEMENTED

#if defined(CBK_TOKEN_NO_LIBC)
/* Each replacement is compiled only where the user gave none. */
#ifndef CBK_MEMCPY
#define CBK_MEMCPY(d, s, n) cbk__memcpy((d), (s), (n))
static void *cbk__memcpy(void *d, const void *s, size_t n) {
    unsigned char *dp = (unsigned char *)d;
    const unsigned char *sp = (const unsigned char *)s;
    while (n--) *dp++ = *sp++;
    return d;
}
#endif
#ifndef CBK_MEMSET
#define CBK_MEMSET(d, c, n) cbk__memset((d), (c), (n))
static void *cbk__memset(void *d, int c, size_t n) {
    unsigned char *dp = (unsigned char *)d;
    while (n--) *dp++ = (unsigned char)c;
    return d;
}
#endif
#ifndef CBK_STRLEN
#define CBK_STRLEN(s) cbk__strlen(s)
static size_t cbk__strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}
#endif
#else
#include <string.h>
#ifndef CBK_MEMCPY
#define CBK_MEMCPY(d, s, n) memcpy((d), (s), (n))
#endif
#ifndef CBK_MEMSET
#define CBK_MEMSET(d, c, n) memset((d), (c), (n))
#endif
#ifndef CBK_STRLEN
#define CBK_STRLEN(s) strlen(s)
#endif
#endif

/* A word read from memory of any alignment, for the word-at-a-time scans
   (CBK__WORDS: the scans read words at all). Where unaligned loads are
   native (x86; ARM and AArch64 unless built for strict alignment), the
   compiler's own copy of a constant size: one load, never a call, with or
   without a C library. In other hosted builds the C library's memcpy,
   which compilers expand for a constant size. Otherwise
   (ARM cores without unaligned loads, Cortex-M0+ among them, where a copy
   of an unaligned word is a call; CBK_TOKEN_NO_LIBC builds for other
   targets without native unaligned loads, RISC-V among them; or
   CBK_TOKEN_BYTE_SCAN) the scans go byte by byte: a call per word costs
   more than the bytes it would save. */
#if defined(CBK_TOKEN_BYTE_SCAN)
/* the scans go byte by byte */
#elif (defined(__GNUC__) || defined(__clang__)) &&                                                 \
    (defined(__x86_64__) || defined(__i386__) || defined(__ARM_FEATURE_UNALIGNED))
#define CBK__WORDS             1
#define CBK__LOAD(dst, src, n) __builtin_memcpy((dst), (src), (n))
#elif !defined(CBK_TOKEN_NO_LIBC) && !defined(__arm__)
#define CBK__WORDS             1
#define CBK__LOAD(dst, src, n) CBK_MEMCPY((dst), (src), (n))
#endif

/* A slow path kept out of line, so that its locals stay out of the frame of
   the hot function that calls it (the tokenizer's frames are under every
   callback: the stack budget). */
#if defined(__GNUC__) || defined(__clang__)
#define CBK__OUT_OF_LINE __attribute__((noinline))
#define CBK__IN_LINE     inline __attribute__((always_inline))
#else
#define CBK__OUT_OF_LINE
#define CBK__IN_LINE inline
#endif

/* The default sleep and clock (see RETRIES): CBK_SLEEP_MS(ms) and
   CBK_NOW_MS() if the user gave them, else those of a hosted POSIX or
   Windows build, else none. Only functions declared without feature
   macros are used, since the header is built with -std=c99: poll() and
   gettimeofday(), or clock_gettime(CLOCK_MONOTONIC) where the including
   file made it visible. */
#if !defined(CBK_SLEEP_MS) && !defined(CBK_TOKEN_NO_LIBC) && !defined(CBK_NO_DEFAULT_TIME) &&      \
    defined(__STDC_HOSTED__) && __STDC_HOSTED__
#if defined(_WIN32)
#include <windows.h>
#define CBK_SLEEP_MS(ms) Sleep((DWORD)(ms))
#ifndef CBK_NOW_MS
#if defined(_WIN32_WINNT) && _WIN32_WINNT >= 0x0600
#define CBK_NOW_MS() ((uint64_t)GetTickCount64())
#endif
#endif
#elif defined(__unix__) || defined(__APPLE__)
#include <poll.h>
#include <sys/time.h>
#include <time.h>
#define CBK_SLEEP_MS(ms) cbk__poll_sleep(ms)
/* poll() without descriptors waits; a signal may end it early, then the
   rest is waited (without a clock, at most 1000 more tries). */
static void cbk__poll_sleep(unsigned ms) {
    int tries = 0;
    while (ms && tries++ < 1000) {
        int part = ms > 0x7FFFFFFFu ? 0x7FFFFFFF : (int)ms;
        if (poll(NULL, 0, part) == 0) ms -= (unsigned)part;
    }
}
#ifndef CBK_NOW_MS
#define CBK_NOW_MS() cbk__clock_ms()
static uint64_t cbk__clock_ms(void) {
#if defined(CLOCK_MONOTONIC)
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
#endif
    {
        struct timeval tv; /* wall time: a clock step moves the deadline */
        gettimeofday(&tv, NULL);
        return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
    }
}
#endif
#endif
#endif

#ifdef CBK_SLEEP_MS
static void cbk__sleep_default(void *ctx, unsigned ms) {
    (void)ctx;
    CBK_SLEEP_MS(ms);
}
#endif
#ifdef CBK_NOW_MS
static uint64_t cbk__now_default(void *ctx) {
    (void)ctx;
    return (uint64_t)(CBK_NOW_MS());
}
#endif

/* Fills in the default sleep and clock where the options give none. */
static void cbk__default_time(cbk_client_options *o) {
#ifdef CBK_SLEEP_MS
    if (!o->sleep_ms) o->sleep_ms = cbk__sleep_default;
#endif
#ifdef CBK_NOW_MS
    if (!o->now_ms) o->now_ms = cbk__now_default;
#endif
    (void)o;
}

/* A wipe the compiler may not drop as a dead store. */
static void cbk__wipe(void *p, size_t n) {
    volatile unsigned char *v = (volatile unsigned char *)p;
    while (n--) *v++ = 0;
}

/* The Bearer value leaves the work buffer: when an operation ends, and
   when a prepared request is dropped for another operation. */
static void cbk__drop_auth(cbk_client *c) {
    if (c->auth) cbk__wipe(c->auth, c->auth_len);
    c->auth = NULL;
}

static int cbk__streq(const char *a, size_t alen, const char *lit) {
    size_t i;
    for (i = 0; i < alen; i++)
        if (lit[i] == 0 || a[i] != lit[i]) return 0;
    return lit[alen] == 0;
}

static unsigned char cbk__lower(unsigned char ch) {
    return (ch >= 'A' && ch <= 'Z') ? (unsigned char)(ch + 32) : ch;
}

static int cbk__strieq(const char *a, size_t alen, const char *lit) {
    size_t i;
    for (i = 0; i < alen; i++)
        if (lit[i] == 0 || cbk__lower((unsigned char)a[i]) != cbk__lower((unsigned char)lit[i]))
            return 0;
    return lit[alen] == 0;
}

/* NUL-terminated s starts with lit, in any case. */
static int cbk__prefix_ci(const char *s, const char *lit) {
    size_t i;
    for (i = 0; lit[i]; i++)
        if (cbk__lower((unsigned char)s[i]) != cbk__lower((unsigned char)lit[i])) return 0;
    return 1;
}

/* The n bytes at a are the n bytes of lit (a known key of that length):
   compared a word at a time. */
static int cbk__same(const char *a, const char *lit, size_t n) {
#ifdef CBK__WORDS
    uint64_t x, y;
    uint32_t u, v;
    for (; n >= 8; a += 8, lit += 8, n -= 8) {
        CBK__LOAD(&x, a, 8);
        CBK__LOAD(&y, lit, 8);
        if (x != y) return 0;
    }
    if (n >= 4) {
        CBK__LOAD(&u, a, 4);
        CBK__LOAD(&v, lit, 4);
        if (u != v) return 0;
        a += 4, lit += 4, n -= 4;
    }
#endif
    for (; n; n--)
        if (*a++ != *lit++) return 0;
    return 1;
}

CBKDEF const char *cbk_result_str(cbk_result r) {
    switch (r) {
    case CBK_OK: return "CBK_OK";
    case CBK_ERR_INVALID_ARGUMENT: return "CBK_ERR_INVALID_ARGUMENT";
    case CBK_ERR_BUFFER_TOO_SMALL: return "CBK_ERR_BUFFER_TOO_SMALL";
    case CBK_ERR_TRANSPORT: return "CBK_ERR_TRANSPORT";
    case CBK_ERR_HTTP: return "CBK_ERR_HTTP";
    case CBK_ERR_PARSE: return "CBK_ERR_PARSE";
    case CBK_ERR_CANCELLED: return "CBK_ERR_CANCELLED";
    case CBK_ERR_NOT_FOUND: return "CBK_ERR_NOT_FOUND";
    }
    return "CBK_ERR_UNKNOWN";
}

/* The continuation bytes a UTF-8 lead byte wants (0: not a lead byte), and
   the bounds of the first one (overlongs, surrogates and code points past
   U+10FFFF are refused there). */
static CBK__IN_LINE size_t cbk__utf8_lead(unsigned char c, unsigned char *lo, unsigned char *hi) {
    *lo = 0x80;
    *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) return 1;
    if (c >= 0xE0 && c <= 0xEF) {
        if (c == 0xE0) *lo = 0xA0;
        if (c == 0xED) *hi = 0x9F;
        return 2;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (c == 0xF0) *lo = 0x90;
        if (c == 0xF4) *hi = 0x8F;
        return 3;
    }
    return 0;
}

/* The bytes of the character at s[0..n): *ok = 1 and the length of a valid
   sequence, or *ok = 0 and the length of the maximal ill-formed subpart
   (what TextDecoder replaces with one U+FFFD). */
static size_t cbk__utf8_scan(const unsigned char *s, size_t n, int *ok) {
    unsigned char lo, hi;
    size_t need, i;
    *ok = 1;
    if (s[0] < 0x80) return 1;
    need = cbk__utf8_lead(s[0], &lo, &hi);
    for (i = 1; i <= need && i < n && s[i] >= lo && s[i] <= hi; i++) {
        lo = 0x80;
        hi = 0xBF;
    }
    if (!need || i <= need) *ok = 0;
    return i;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is not one. */
static size_t cbk__utf8_seq(const unsigned char *s, size_t n) {
    int ok;
    size_t k = cbk__utf8_scan(s, n, &ok);
    return ok ? k : 0;
}

static int cbk__utf8_valid(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        k = cbk__utf8_seq(p + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

/* ---------------------------------------------------------------------------
 * The tokenizer
 * ------------------------------------------------------------------------- */

/* What may come next. The states that take a value come first
   (cbk__json_wants_value is one compare on the way of every value). */
enum {
    CBK__S_START,     /* the top value */
    CBK__S_VALUE,     /* a value (after ':' or an array's ',') */
    CBK__S_ARR_FIRST, /* a value or ']' */
    CBK__S_DEEP,      /* lenient, past CBK_JSON_MAX_DEPTH: brackets counted, no tokens */
    CBK__S_OBJ_FIRST, /* a key or '}' */
    CBK__S_KEY,       /* a key (after an object's ',') */
    CBK__S_COLON,
    CBK__S_AFTER, /* ',' or the container's end */
    CBK__S_DONE   /* only whitespace */
};

/* A private flag for error bodies, which are diagnostics: the server's
   message is worth more than strictness there. Bytes of invalid UTF-8 in
   strings pass (the error fields replace them with U+FFFD), a lone
   surrogate escape becomes U+FFFD, and nesting past CBK_JSON_MAX_DEPTH is
   counted instead of refused (its tokens are not delivered). */
#define CBK__JSON_LENIENT 0x80u
/* Private: a key that must be joined is compared with j->match as its bytes
   arrive instead of being kept, so cbk_json_get_string finds a key of any
   length with any escapes without a buffer for it. Such a key comes with
   no text: marked truncated when it differed, else with match_len the
   length of the wanted key it did not reach (0: it is that key). */
#define CBK__JSON_MATCH 0x40u

/* The token being read. */
enum {
    CBK__L_NONE,
    CBK__L_STR,    /* string body */
    CBK__L_ESC,    /* after a backslash */
    CBK__L_U,      /* \u digits; sub counts them */
    CBK__L_LOW_BS, /* a high surrogate wants '\' */
    CBK__L_LOW_U,  /* ... then 'u' */
    CBK__L_UTF8,   /* UTF-8 continuation bytes; sub counts what is left */
    CBK__L_NUM,    /* number; sub is the number state */
    CBK__L_LIT     /* true/false/null; sub is the next index, ucs the word */
};

/* Number states: which part was read last. */
enum {
    CBK__N_MINUS = 1, /* '-' : a digit must follow */
    CBK__N_ZERO,      /* a leading 0: no digit may follow */
    CBK__N_INT,       /* integer digits */
    CBK__N_DOT,       /* '.' : a digit must follow */
    CBK__N_FRAC,
    CBK__N_E,     /* 'e' : sign or digit */
    CBK__N_ESIGN, /* exponent sign : a digit must follow */
    CBK__N_EXP,
    CBK__N_END, /* (cbk__num_step) the byte is not part of the number */
    CBK__N_BAD  /* (cbk__num_step) the byte cannot follow */
};

static const char cbk__lit_true[] = "true", cbk__lit_false[] = "false", cbk__lit_null[] = "null";

static cbk_result cbk__json_fail(cbk_json *j, cbk_result r) {
    if (!j->result) j->result = (uint8_t)r;
    return (cbk_result)j->result;
}

/* cbk_json_init with the private flags too (the library's own uses). */
static void cbk__json_init(cbk_json *j, char *buf, size_t buf_size, unsigned flags,
                           cbk_json_fn on_token, void *user) {
    CBK_MEMSET(j, 0, sizeof *j);
    j->buf = buf;
    j->buf_size = buf ? buf_size : 0;
    j->flags = flags;
    j->on_token = on_token;
    j->user = user;
}

CBKDEF void cbk_json_init(cbk_json *j, char *buf, size_t buf_size, unsigned flags,
                          cbk_json_fn on_token, void *user) {
    if (j)
        cbk__json_init(j, buf, buf_size, flags & (CBK_JSON_TRUNCATE | CBK_JSON_LINES), on_token,
                       user);
}

CBKDEF uint64_t cbk_json_offset(const cbk_json *j) {
    return j ? j->offset : 0;
}

CBKDEF size_t cbk_json_mark(const cbk_json *j) {
    return j ? j->kept : 0;
}

CBKDEF void cbk_json_release(cbk_json *j, size_t mark) {
    if (j && mark <= j->kept) j->kept = mark;
}

CBKDEF void cbk_json_skip(cbk_json *j) {
    if (!j || j->skipping) return;
    if (j->state == CBK__S_COLON)
        j->skipping = 1; /* from a key: its value, at the key's depth */
    else if (j->state == CBK__S_OBJ_FIRST || j->state == CBK__S_ARR_FIRST)
        j->skipping = 3; /* from a BEGIN: all inside, up to its END */
    else
        return;
    j->skip_depth = j->depth;
}

CBKDEF void cbk_json_capture(cbk_json *j) {
    if (!j || j->skipping || j->state != CBK__S_COLON) return;
    j->skipping = 2;
    j->skip_depth = j->depth;
    j->cap = NULL; /* set where the value's first byte is seen */
    j->cap_len = 0;
}

/* Notes that buf[0..n) has been written. The one place the watermark
   rises: cbk__end wipes buf up to it (it may hold a created secret, or a
   server's echo of the client's). */
static inline void cbk__json_wrote(cbk_json *j, size_t n) {
    if (n > j->high) j->high = n;
}

/* cbk_json_keep once its arguments are known to be good (the client's
   decoders call it for every field of every token). */
static inline cbk_result cbk__json_keep(cbk_json *j, const cbk_json_token *t, const char **out) {
    char *dst;
    if (!j->buf || j->buf_size - j->kept < t->len + 1) {
        *out = NULL;
        return CBK_ERR_BUFFER_TOO_SMALL;
    }
    dst = j->buf + j->kept;
    if (t->text != dst) CBK_MEMCPY(dst, t->text, t->len);
    dst[t->len] = 0;
    j->kept += t->len + 1;
    cbk__json_wrote(j, j->kept);
    *out = dst;
    return CBK_OK;
}

CBKDEF cbk_result cbk_json_keep(cbk_json *j, const cbk_json_token *t, const char **out) {
    if (out) *out = NULL;
    if (!j || !t || !out || (!t->text && t->len)) return CBK_ERR_INVALID_ARGUMENT;
    return cbk__json_keep(j, t, out);
}

/* The kind of the container at depth d - 1 (d > 0), from the bit stack. A
   copy of the innermost one is kept in in_object for the comma, the most
   frequent asker. */
static uint8_t cbk__json_is_object_at(const cbk_json *j, unsigned d) {
    d--;
    return (uint8_t)((j->stack[d >> 3] >> (d & 7)) & 1);
}

/* A captured value ended at j->pos: its text joined in buf after the kept
   bytes, NUL-terminated; or, when it does not fit and CBK_JSON_TRUNCATE
   is on, only its first byte, marked (cap_over). */
static cbk_result cbk__json_captured(cbk_json *j, const char **text, size_t *len) {
    size_t n = (size_t)(j->pos - j->cap);
    if (j->cap_over || !j->buf || j->buf_size - j->kept - j->cap_len < n + 1) {
        if (!(j->flags & CBK_JSON_TRUNCATE)) return cbk__json_fail(j, CBK_ERR_BUFFER_TOO_SMALL);
        j->cap_over = 1;
        *text = &j->cap_first;
        *len = 1;
    } else {
        CBK_MEMCPY(j->buf + j->kept + j->cap_len, j->cap, n);
        *len = j->cap_len + n;
        cbk__json_wrote(j, j->kept + *len + 1);
        j->buf[j->kept + *len] = 0;
        *text = j->buf + j->kept;
    }
    j->cap_len = 0;
    return CBK_OK;
}

/* Hands a token to the callback unless a skip or capture hides it. */
static inline cbk_result cbk__json_emit(cbk_json *j, cbk_json_type type, const char *text,
                                        size_t len, unsigned depth) {
    cbk_json_token t;
    int rc;
    uint8_t over = 0;
    /* deep: every token's state is CBK__S_DEEP (a test the compiler can
       often fold, as the state was just set) */
    if (j->state == CBK__S_DEEP) return CBK_OK;
    if (j->skipping) {
        if (j->skipping == 3) {
            if (depth >= j->skip_depth) return CBK_OK;
            j->skipping = 0; /* the skipped container's END: passed on */
        } else {
            if (depth > j->skip_depth || type == CBK_JSON_OBJECT_BEGIN ||
                type == CBK_JSON_ARRAY_BEGIN)
                return CBK_OK;
            /* the skipped or captured value just ended */
            if (j->skipping == 1) {
                j->skipping = 0;
                return CBK_OK;
            }
            j->skipping = 0;
            type = CBK_JSON_RAW;
            if (cbk__json_captured(j, &text, &len)) return (cbk_result)j->result;
            over = j->cap_over; /* set only while a capture is on */
            j->cap_over = 0;
        }
    }
    if (!j->on_token) return CBK_OK;
    t.type = type;
    t.text = text;
    t.len = len;
    t.depth = depth;
    t.truncated = j->truncated | over;
    rc = j->on_token(j->user, j, &t);
    if (rc) {
        j->stopped = 1;
        if (rc < 0 || rc > (int)CBK_ERR_NOT_FOUND) rc = (int)CBK_ERR_CANCELLED;
        return cbk__json_fail(j, (cbk_result)rc);
    }
    return CBK_OK;
}

/* Appends n bytes to the token being joined in buf. */
static cbk_result cbk__json_join(cbk_json *j, const char *s, size_t n) {
    size_t room;
    if (!n || j->skipping || !j->on_token) return CBK_OK; /* nothing, or nobody reads it */
    if ((j->flags & CBK__JSON_MATCH) && j->is_key && j->lex != CBK__L_NUM) {
        if (n > j->match_len || !cbk__same(j->match, s, n))
            j->truncated = 1; /* not the key */
        else
            j->match += n, j->match_len -= n;
        return CBK_OK;
    }
    room = j->buf_size - j->kept - j->slen;
    if (room < n + 1) {
        if (!(j->flags & CBK_JSON_TRUNCATE) || j->lex == CBK__L_NUM)
            return cbk__json_fail(j, CBK_ERR_BUFFER_TOO_SMALL);
        j->truncated = 1;
        n = room ? room - 1 : 0;
        if (!n) return CBK_OK; /* no room at all (or no buffer) */
    }
    CBK_MEMCPY(j->buf + j->kept + j->slen, s, n);
    j->slen += n;
    cbk__json_wrote(j, j->kept + j->slen + 1);
    return CBK_OK;
}

/* After a scalar value or a container's end. */
static void cbk__json_after_value(cbk_json *j) {
    j->state = (uint8_t)(j->deep ? CBK__S_DEEP : j->depth ? CBK__S_AFTER : CBK__S_DONE);
}

static int cbk__json_wants_value(const cbk_json *j) {
    return j->state <= CBK__S_DEEP;
}

/* Marks where a value starts, for a capture waiting on it. */
static void cbk__json_value_begins(cbk_json *j, const char *p) {
    j->seen = 1;
    if (j->skipping == 2 && !j->cap && j->depth == j->skip_depth) {
        j->cap = p;
        j->cap_first = *p;
    }
}

/* The length of s[0..n) without a UTF-8 sequence cut off at its end, so a
   truncated string is still valid UTF-8. */
static size_t cbk__utf8_complete(const char *s, size_t n) {
    size_t i = n, back = 0;
    while (i && back < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) i--, back++;
    if (i && (unsigned char)s[i - 1] >= 0xC0) {
        unsigned char lead = (unsigned char)s[i - 1];
        size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (back + 1 < need) return i - 1;
    }
    return n;
}

/* A finished string: hand it over in place (when nothing was joined) or
   from buf. */
static cbk_result cbk__json_string_done(cbk_json *j, const char *seg, size_t seglen) {
    const char *text = seg;
    size_t len = seglen;
    cbk_json_type type = j->is_key ? CBK_JSON_KEY : CBK_JSON_STRING;
    cbk_result r;
    unsigned depth = j->depth;
    if (j->joined) {
        if (cbk__json_join(j, seg, seglen)) return (cbk_result)j->result;
        text = j->buf ? j->buf + j->kept : seg;
        if (j->truncated) j->slen = cbk__utf8_complete(text, j->slen);
        len = j->slen;
        if (j->buf && j->kept + j->slen < j->buf_size && !j->skipping)
            j->buf[j->kept + j->slen] = 0;
    }
    j->lex = CBK__L_NONE;
    j->joined = 0;
    if (j->is_key)
        j->state = CBK__S_COLON;
    else
        cbk__json_after_value(j);
    r = cbk__json_emit(j, type, text, len, depth);
    j->slen = 0;
    j->truncated = 0;
    j->nul = 0;
    return r;
}

/* A string read whole from one chunk, with no escape: lex, joined, slen,
   truncated and nul are as they are between tokens (none, 0) and stay so. */
static inline cbk_result cbk__json_plain_done(cbk_json *j, int key, const char *text, size_t len) {
    unsigned depth = j->depth;
    if (key)
        j->state = CBK__S_COLON;
    else
        cbk__json_after_value(j);
    return cbk__json_emit(j, key ? CBK_JSON_KEY : CBK_JSON_STRING, text, len, depth);
}

static void cbk__utf8_put(uint32_t cp, char *out, size_t *n) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        *n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        *n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        *n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        *n = 4;
    }
}

static int cbk__hex(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = cbk__lower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* A high surrogate escape without its low half: refused, or, lenient,
   U+FFFD (what JavaScript's lone UTF-16 unit becomes in UTF-8). */
static cbk_result cbk__json_lone(cbk_json *j) {
    if (!(j->flags & CBK__JSON_LENIENT)) return cbk__json_fail(j, CBK_ERR_PARSE);
    j->hi = 0;
    j->lex = CBK__L_STR;
    return cbk__json_join(j, "\xEF\xBF\xBD", 3);
}

/* One hex digit of a \\u escape; the fourth ends the escape (a high
   surrogate then waits for its low half). */
CBK__OUT_OF_LINE static cbk_result cbk__json_u_digit(cbk_json *j, unsigned char c) {
    char out[4];
    size_t n;
    int h = cbk__hex(c);
    if (h < 0) return cbk__json_fail(j, CBK_ERR_PARSE);
    j->ucs = (j->ucs << 4) | (uint32_t)h;
    if (++j->sub < 4) return CBK_OK;
    if (j->hi && j->ucs >= 0xDC00 && j->ucs <= 0xDFFF) {
        j->ucs = 0x10000 + ((j->hi - 0xD800) << 10) + (j->ucs - 0xDC00);
        j->hi = 0;
    } else if (j->hi && cbk__json_lone(j)) {
        return (cbk_result)j->result;
    }
    if (j->ucs >= 0xD800 && j->ucs <= 0xDBFF) {
        j->hi = j->ucs;
        j->lex = CBK__L_LOW_BS;
        return CBK_OK;
    }
    if (j->ucs >= 0xDC00 && j->ucs <= 0xDFFF) {
        j->ucs = 0xFFFD; /* a lone low surrogate */
        if (!(j->flags & CBK__JSON_LENIENT)) return cbk__json_fail(j, CBK_ERR_PARSE);
    }
    if (!j->ucs) j->nul = 1;
    cbk__utf8_put(j->ucs, out, &n);
    j->lex = CBK__L_STR;
    return cbk__json_join(j, out, n);
}

/* The byte a one-character JSON escape stands for ('n' -> '\n'), or 0 for
   'u' and for a byte that starts no escape. */
static char cbk__escape_char(unsigned char c) {
    switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '/': return '/';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return 0;
    }
}

/* The byte after a backslash (\u's digits follow in cbk__json_u_digit). */
static cbk_result cbk__json_escape(cbk_json *j, unsigned char c) {
    char out;
    if (c == 'u') {
        j->lex = CBK__L_U;
        j->sub = 0;
        j->ucs = 0;
        return CBK_OK;
    }
    out = cbk__escape_char(c);
    if (!out) return cbk__json_fail(j, CBK_ERR_PARSE);
    j->lex = CBK__L_STR;
    return cbk__json_join(j, &out, 1);
}

/* One byte of an escape sequence, or of a UTF-8 sequence. Returns CBK_OK
   and leaves j->lex at CBK__L_STR when the sequence is complete. */
static cbk_result cbk__json_seq_byte(cbk_json *j, unsigned char c) {
    switch (j->lex) {
    case CBK__L_UTF8:
        if (c < j->utf8_lo || c > j->utf8_hi) return cbk__json_fail(j, CBK_ERR_PARSE);
        j->utf8_lo = 0x80;
        j->utf8_hi = 0xBF;
        if (--j->sub == 0) j->lex = CBK__L_STR;
        return CBK_OK;
    case CBK__L_LOW_U:
        if (c == 'u') {
            j->lex = CBK__L_U;
            j->sub = 0;
            j->ucs = 0;
            return CBK_OK;
        }
        if (cbk__json_lone(j)) return (cbk_result)j->result;
        /* lenient: the high surrogate stood alone; c ends an escape of its own */
        /* fall through */
    case CBK__L_ESC: return cbk__json_escape(j, c);
    case CBK__L_LOW_BS:
        if (c != '\\') return cbk__json_fail(j, CBK_ERR_PARSE);
        j->lex = CBK__L_LOW_U;
        return CBK_OK;
    case CBK__L_U: return cbk__json_u_digit(j, c);
    default: break;
    }
    return cbk__json_fail(j, CBK_ERR_PARSE);
}

/* The word the string scan reads at once: the target's native one, so a
   32-bit target does 32-bit arithmetic (no 64-bit multiply, which small
   targets would pay for with a runtime helper). */
#if (defined(__SIZEOF_POINTER__) && __SIZEOF_POINTER__ >= 8) || defined(_M_X64) || defined(_M_ARM64)
typedef uint64_t cbk__word;
#define CBK__BYTE_INDEX ((cbk__word)0x0001020304050607ull)
#else
typedef uint32_t cbk__word;
#define CBK__BYTE_INDEX ((cbk__word)0x00010203ul)
#endif
#define CBK__ONES  (~(cbk__word)0 / 0xFF)
#define CBK__HIGHS (CBK__ONES * 0x80)

#ifdef CBK__WORDS
/* A word of bytes at once: which need a closer look ('"', '\\', a control
   character or a non-ASCII byte)? Plain C, no alignment assumed. The
   result has the high bit of each such byte set. For a byte below 0x80,
   x ^ '"' - 1, x ^ '\\' - 1 and x - 0x20 reach the high bit only when x is
   '"', '\\' or a control; a byte from 0x80 up is flagged by w itself. A
   borrow into the next byte starts only at a flagged byte, so above the
   first flagged byte (in memory order) bits may be wrong, which is harmless:
   only the first is used. */
static cbk__word cbk__word_special(const unsigned char *p) {
    cbk__word w;
    CBK__LOAD(&w, p, sizeof w);
    return (((w ^ (CBK__ONES * 0x22)) - CBK__ONES) | ((w ^ (CBK__ONES * 0x5C)) - CBK__ONES) |
            (w - CBK__ONES * 0x20) | w) &
           CBK__HIGHS;
}

/* Where the first special byte of the word at p is (m nonzero, from
   cbk__word_special). Little-endian: the lowest flagged byte, its index
   gathered into the top byte by one multiplication; elsewhere a short
   scan. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) &&                                 \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define CBK__FIRST_SPECIAL(p, m)                                                                   \
    ((p) + (size_t)(((((m) & (0 - (m))) >> 7) * CBK__BYTE_INDEX) >> (8 * (sizeof(cbk__word) - 1))))
#else
static const unsigned char *cbk__first_special(const unsigned char *p) {
    while (*p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80) p++;
    return p;
}
#define CBK__FIRST_SPECIAL(p, m) cbk__first_special(p)
#endif
#endif /* CBK__WORDS */

/* The first byte from p on that needs a closer look ('"', '\\', a control
   character or a non-ASCII byte), or end: a word at a time (CBK__WORDS),
   then one by one. The one scan of plain string bytes. */
static inline const unsigned char *cbk__json_plain_run(const unsigned char *p,
                                                       const unsigned char *end) {
#ifdef CBK__WORDS
    while (end - p >= (ptrdiff_t)sizeof(cbk__word)) {
        cbk__word m = cbk__word_special(p);
        if (m) return CBK__FIRST_SPECIAL(p, m);
        p += sizeof(cbk__word);
    }
#endif
    while (p < end && *p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80) p++;
    return p;
}

/* The chunk ends inside the string, or an escape begins: the raw bytes
   seg..p are joined in buf. */
static cbk_result cbk__json_string_keep(cbk_json *j, const unsigned char *seg,
                                        const unsigned char *p) {
    if (!j->joined) j->slen = 0;
    j->joined = 1;
    return cbk__json_join(j, (const char *)seg, (size_t)(p - seg));
}

/* Goes on with an escape or a UTF-8 sequence from p until it is complete
   (j->lex is CBK__L_STR again) or the chunk ends. *seg moves past each
   decoded escape; the raw bytes of a UTF-8 sequence stay in the segment. */
static const unsigned char *cbk__json_sequence(cbk_json *j, const unsigned char **seg,
                                               const unsigned char *p, const unsigned char *end) {
    while (p < end && j->lex != CBK__L_STR) {
        int raw = j->lex == CBK__L_UTF8;
        if (j->lex == CBK__L_LOW_BS && *p != '\\') {
            /* a lone high surrogate: *p is read again as text */
            j->pos = (const char *)p;
            if (cbk__json_lone(j)) return NULL;
            *seg = p;
            return p;
        }
        if (cbk__json_seq_byte(j, *p)) {
            j->pos = (const char *)p;
            return NULL;
        }
        p++;
        if (!raw) *seg = p;
    }
    return p;
}

/* A byte from 0x80 up at p: a whole, valid UTF-8 sequence in this chunk is
   stepped over; otherwise a lead byte starts CBK__L_UTF8 (its sequence
   goes on past the chunk, or a later byte of it is refused there). */
static const unsigned char *cbk__json_utf8(cbk_json *j, const unsigned char *p,
                                           const unsigned char *end) {
    unsigned char lo, hi;
    size_t k;
    if (*p >= 0xC2 && *p <= 0xDF && end - p >= 2 && (p[1] & 0xC0) == 0x80)
        return p + 2; /* a whole two-byte sequence */
    k = cbk__utf8_seq(p, (size_t)(end - p));
    if (k) return p + k;
    if (j->flags & CBK__JSON_LENIENT) return p + 1; /* the error fields replace it */
    k = cbk__utf8_lead(*p, &lo, &hi);
    if (!k) {
        j->pos = (const char *)p;
        cbk__json_fail(j, CBK_ERR_PARSE);
        return NULL;
    }
    j->sub = (uint8_t)k;
    j->utf8_lo = lo;
    j->utf8_hi = hi;
    j->lex = CBK__L_UTF8;
    return p + 1;
}

/* A byte that stopped the plain scan of a string, other than its closing
   quote: an escape begins (the bytes before it are joined), a control byte
   (refused), or a UTF-8 sequence. Returns where to go on; NULL on failure. */
static const unsigned char *cbk__json_string_stop(cbk_json *j, const unsigned char **seg,
                                                  const unsigned char *p,
                                                  const unsigned char *end) {
    if (*p == '\\') {
        if (cbk__json_string_keep(j, *seg, p)) return NULL;
        j->lex = CBK__L_ESC;
        *seg = p + 1;
        return p + 1;
    }
    if (*p < 0x20) {
        j->pos = (const char *)p;
        cbk__json_fail(j, CBK_ERR_PARSE);
        return NULL;
    }
    return cbk__json_utf8(j, p, end);
}

/* Reads string bytes from p (seg..p are string bytes already read and not
   yet joined). Returns where it stopped (end, or just past the closing
   quote); NULL on failure. */
static const unsigned char *cbk__json_string(cbk_json *j, const unsigned char *seg,
                                             const unsigned char *p, const unsigned char *end) {
    for (;;) {
        if (j->lex != CBK__L_STR) {
            p = cbk__json_sequence(j, &seg, p, end);
            if (!p) return NULL;
            if (p >= end) break;
        }
        p = cbk__json_plain_run(p, end);
        if (p >= end) break;
        if (*p == '"') {
            j->pos = (const char *)(p + 1);
            if (cbk__json_string_done(j, (const char *)seg, (size_t)(p - seg))) return NULL;
            return p + 1;
        }
        p = cbk__json_string_stop(j, &seg, p, end);
        if (!p) return NULL;
    }
    /* the chunk ended inside the string: keep what was read */
    if (cbk__json_string_keep(j, seg, p)) return NULL;
    return p;
}

/* Ends a number whose last byte has been read. */
static cbk_result cbk__json_number_done(cbk_json *j, const char *seg, size_t seglen) {
    const char *text = seg;
    size_t len = seglen;
    cbk_result r;
    if (j->sub == CBK__N_MINUS || j->sub == CBK__N_DOT || j->sub == CBK__N_E ||
        j->sub == CBK__N_ESIGN)
        return cbk__json_fail(j, CBK_ERR_PARSE);
    if (j->joined) {
        if (cbk__json_join(j, seg, seglen)) return (cbk_result)j->result;
        text = j->buf ? j->buf + j->kept : seg;
        len = j->slen;
        if (j->buf && j->kept + j->slen < j->buf_size && !j->skipping)
            j->buf[j->kept + j->slen] = 0;
    }
    j->lex = CBK__L_NONE;
    j->joined = 0;
    cbk__json_after_value(j);
    r = cbk__json_emit(j, CBK_JSON_NUMBER, text, len, j->depth);
    j->slen = 0;
    return r;
}

/* The number state after byte c in state s (0: nothing read yet):
   CBK__N_END when c is not part of the number (it ends it), CBK__N_BAD
   when it cannot follow (a digit after a leading zero). */
static uint8_t cbk__num_step(uint8_t s, unsigned char c) {
    if (c >= '0' && c <= '9') {
        switch (s) {
        case 0:
        case CBK__N_MINUS: return c == '0' ? CBK__N_ZERO : CBK__N_INT;
        case CBK__N_ZERO: return CBK__N_BAD;
        case CBK__N_DOT: return CBK__N_FRAC;
        case CBK__N_E:
        case CBK__N_ESIGN: return CBK__N_EXP;
        default: return s;
        }
    }
    if (c == '.') return s == CBK__N_ZERO || s == CBK__N_INT ? CBK__N_DOT : CBK__N_END;
    if (c == 'e' || c == 'E')
        return s == CBK__N_ZERO || s == CBK__N_INT || s == CBK__N_FRAC ? CBK__N_E : CBK__N_END;
    if (c == '-' && s == 0) return CBK__N_MINUS;
    if (c == '+' || c == '-') return s == CBK__N_E ? CBK__N_ESIGN : CBK__N_END;
    return CBK__N_END;
}

/* Reads number bytes from p; stops at the first byte that is not part of
   it (returned, unconsumed) or at end. NULL on failure. */
static const unsigned char *cbk__json_number(cbk_json *j, const unsigned char *p,
                                             const unsigned char *end) {
    const unsigned char *seg = p;
    uint8_t s = j->sub;
    for (; p < end; p++) {
        uint8_t next = cbk__num_step(s, *p);
        if (next == CBK__N_BAD) {
            j->pos = (const char *)p;
            cbk__json_fail(j, CBK_ERR_PARSE);
            return NULL;
        }
        if (next == CBK__N_END) break;
        s = next;
    }
    j->sub = s;
    if (p < end) {
        j->pos = (const char *)p;
        if (cbk__json_number_done(j, (const char *)seg, (size_t)(p - seg))) return NULL;
        return p;
    }
    if (!j->joined) j->slen = 0;
    j->joined = 1;
    if (cbk__json_join(j, (const char *)seg, (size_t)(p - seg))) return NULL;
    return p;
}

static const unsigned char *cbk__json_literal(cbk_json *j, const unsigned char *p,
                                              const unsigned char *end) {
    const char *word = j->ucs == 't'   ? cbk__lit_true
                       : j->ucs == 'f' ? cbk__lit_false
                                       : cbk__lit_null;
    while (p < end && word[j->sub]) {
        if (*p != (unsigned char)word[j->sub]) {
            j->pos = (const char *)p;
            cbk__json_fail(j, CBK_ERR_PARSE);
            return NULL;
        }
        j->sub++;
        p++;
    }
    if (!word[j->sub]) {
        cbk_json_type type = j->ucs == 't'   ? CBK_JSON_TRUE
                             : j->ucs == 'f' ? CBK_JSON_FALSE
                                             : CBK_JSON_NULL;
        j->lex = CBK__L_NONE;
        j->pos = (const char *)p;
        cbk__json_after_value(j);
        if (cbk__json_emit(j, type, word, j->sub, j->depth)) return NULL;
    }
    return p;
}

/* Continues the token the previous chunk ended in. */
static const unsigned char *cbk__json_resume(cbk_json *j, const unsigned char *p,
                                             const unsigned char *end) {
    switch (j->lex) {
    case CBK__L_NUM: return cbk__json_number(j, p, end);
    case CBK__L_LIT: return cbk__json_literal(j, p, end);
    default: return cbk__json_string(j, p, p, end);
    }
}

/* A container opens past CBK_JSON_MAX_DEPTH: refused, or, lenient,
   counted (what is inside is read as loosely as a skip, without tokens). */
static cbk_result cbk__json_deeper(cbk_json *j, const unsigned char *p) {
    if (!(j->flags & CBK__JSON_LENIENT) || !++j->deep) return cbk__json_fail(j, CBK_ERR_PARSE);
    cbk__json_value_begins(j, (const char *)p);
    j->state = CBK__S_DEEP;
    j->pos = (const char *)(p + 1);
    return CBK_OK;
}

static cbk_result cbk__json_open(cbk_json *j, int object, const unsigned char *p) {
    unsigned d;
    if (!cbk__json_wants_value(j)) return cbk__json_fail(j, CBK_ERR_PARSE);
    if (j->depth >= CBK_JSON_MAX_DEPTH) return cbk__json_deeper(j, p);
    cbk__json_value_begins(j, (const char *)p);
    d = j->depth++;
    j->in_object = (uint8_t)object;
    if (object)
        j->stack[d >> 3] = (unsigned char)(j->stack[d >> 3] | (1u << (d & 7)));
    else
        j->stack[d >> 3] = (unsigned char)(j->stack[d >> 3] & ~(1u << (d & 7)));
    j->state = (uint8_t)(object ? CBK__S_OBJ_FIRST : CBK__S_ARR_FIRST);
    j->pos = (const char *)(p + 1);
    return cbk__json_emit(j, object ? CBK_JSON_OBJECT_BEGIN : CBK_JSON_ARRAY_BEGIN, NULL, 0, d);
}

static cbk_result cbk__json_close(cbk_json *j, int object, const unsigned char *p) {
    if (j->deep) {
        j->deep--;
        j->pos = (const char *)(p + 1);
        cbk__json_after_value(j);
        return CBK_OK;
    }
    if (!j->depth || j->in_object != object) return cbk__json_fail(j, CBK_ERR_PARSE);
    if (!(j->state == CBK__S_AFTER || j->state == (object ? CBK__S_OBJ_FIRST : CBK__S_ARR_FIRST)))
        return cbk__json_fail(j, CBK_ERR_PARSE);
    j->depth--;
    j->in_object = j->depth ? cbk__json_is_object_at(j, j->depth) : 0;
    cbk__json_after_value(j);
    j->pos = (const char *)(p + 1);
    return cbk__json_emit(j, object ? CBK_JSON_OBJECT_END : CBK_JSON_ARRAY_END, NULL, 0, j->depth);
}

/* What a byte outside a token can be, for the dispatch of cbk_json_feed. */
enum {
    CBK__C_BAD,
    CBK__C_WS,      /* ' ', '\t', '\r' */
    CBK__C_NL,      /* '\n' */
    CBK__C_OBJ,     /* '{' */
    CBK__C_ARR,     /* '[' */
    CBK__C_OBJ_END, /* '}' */
    CBK__C_ARR_END, /* ']' */
    CBK__C_COMMA,
    CBK__C_COLON,
    CBK__C_QUOTE,
    CBK__C_LIT, /* 't', 'f', 'n' */
    CBK__C_NUM  /* '-', '0'..'9' */
};
/* clang-format off */
static const unsigned char cbk__json_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 1, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 11, 0, 0,
    11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 8, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 6, 0, 0,
    0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 10, 0,
    0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 3, 0, 5, 0, 0,
    /* 0x80 to 0xFF: none */
};
/* clang-format on */

/* A syntax error where a position is returned: NULL (j->result says why). */
static const unsigned char *cbk__json_syntax(cbk_json *j) {
    cbk__json_fail(j, CBK_ERR_PARSE);
    return NULL;
}

/* '\n': the end of a line, which in JSON Lines must end a value. */
static const unsigned char *cbk__json_newline(cbk_json *j, const unsigned char *p) {
    if (j->flags & CBK_JSON_LINES) {
        if (j->state == CBK__S_DONE) {
            j->state = CBK__S_START;
            j->seen = 0;
        } else if (j->state != CBK__S_START) {
            cbk__json_fail(j, CBK_ERR_PARSE);
            return NULL;
        }
    }
    return p + 1;
}

static inline const unsigned char *cbk__json_comma(cbk_json *j, const unsigned char *p) {
    j->pos = (const char *)p;
    if (j->state == CBK__S_AFTER)
        j->state = (uint8_t)(j->in_object ? CBK__S_KEY : CBK__S_VALUE);
    else if (j->state != CBK__S_DEEP)
        return cbk__json_syntax(j);
    return p + 1;
}

static inline const unsigned char *cbk__json_colon(cbk_json *j, const unsigned char *p) {
    j->pos = (const char *)p;
    if (j->state == CBK__S_COLON)
        j->state = CBK__S_VALUE;
    else if (j->state != CBK__S_DEEP)
        return cbk__json_syntax(j);
    return p + 1;
}

/* The bytes after a scalar value are looked at here directly: in compact
   JSON they are nearly always the ':' or ',' (or '}' and ',') expected, and
   a branch on them is cheaper than the dispatch of cbk__json_step. */
static inline const unsigned char *cbk__json_punct(cbk_json *j, const unsigned char *p,
                                                   const unsigned char *end) {
    if (p < end && *p == '}') {
        j->pos = (const char *)p;
        if (cbk__json_close(j, 1, p)) return NULL;
        p++;
    }
    if (p < end && *p == ',') return cbk__json_comma(j, p);
    if (p < end && *p == ':') return cbk__json_colon(j, p);
    return p;
}

/* A string begins at the quote p. */
/* One string begins at the quote p. */
static inline const unsigned char *cbk__json_quote1(cbk_json *j, const unsigned char *p,
                                                    const unsigned char *end) {
    int key = j->state == CBK__S_OBJ_FIRST || j->state == CBK__S_KEY;
    const unsigned char *q;
    if (!key) {
        if (!cbk__json_wants_value(j)) return cbk__json_syntax(j);
        cbk__json_value_begins(j, (const char *)p);
    }
    q = cbk__json_plain_run(++p, end);
    if (q < end && *q == '"') {
        /* the common case: plain and whole in this chunk */
        j->pos = (const char *)(q + 1);
        if (cbk__json_plain_done(j, key, (const char *)p, (size_t)(q - p))) return NULL;
        return cbk__json_punct(j, q + 1, end);
    }
    /* an escape, a non-ASCII byte, or the chunk ends: from where it stopped */
    j->is_key = (uint8_t)key;
    j->lex = CBK__L_STR;
    p = cbk__json_string(j, p, q, end);
    return p && j->lex == CBK__L_NONE ? cbk__json_punct(j, p, end) : p;
}

/* Strings from the quote p on, as long as one follows the last one's ':'
   or ',' directly ("key":"value","key":...), without the dispatch. */
static inline const unsigned char *cbk__json_quote(cbk_json *j, const unsigned char *p,
                                                   const unsigned char *end) {
    do {
        j->pos = (const char *)p;
        p = cbk__json_quote1(j, p, end);
    } while (p && p < end && *p == '"');
    return p;
}

/* true, false or null begins at p. */
static const unsigned char *cbk__json_word(cbk_json *j, const unsigned char *p,
                                           const unsigned char *end) {
    if (!cbk__json_wants_value(j)) return cbk__json_syntax(j);
    cbk__json_value_begins(j, (const char *)p);
    j->lex = CBK__L_LIT;
    j->ucs = *p;
    j->sub = 0;
    p = cbk__json_literal(j, p, end);
    return p && j->lex == CBK__L_NONE ? cbk__json_punct(j, p, end) : p;
}

/* Eight digits at once, where a 64-bit word is native and little-endian
   (elsewhere the digit loop alone: no 64-bit multiply on 32-bit targets).
   A byte is a digit when its high nibble, and that of the byte plus 6, are
   both 3; a carry out of a byte starts only at one that already fails. The
   digits then pair up (10 * d[i] + d[i+1] in every other byte) and the four
   pairs meet in the high half of two multiplications. A timestamp's 13
   digits take one step and four loop turns instead of twelve turns. */
#if defined(CBK__WORDS) && defined(__SIZEOF_POINTER__) && __SIZEOF_POINTER__ >= 8 &&               \
    defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) &&                                 \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define CBK__EIGHT_DIGITS 1
static int cbk__eight_digits(const unsigned char *q, uint64_t *v) {
    const uint64_t nib = CBK__ONES * 0xF0, pairs = 0x000000FF000000FFull;
    uint64_t w;
    CBK__LOAD(&w, q, 8);
    if (((w & nib) | (((w + CBK__ONES * 6) & nib) >> 4)) != CBK__ONES * 0x33) return 0;
    w -= CBK__ONES * '0';
    w = w * 10 + (w >> 8);
    w = ((w & pairs) * (100 + (1000000ull << 32)) + ((w >> 16) & pairs) * (1 + (10000ull << 32))) >>
        32;
    *v = *v * 100000000u + w;
    return 1;
}
#endif

/* A number begins at p. */
static inline const unsigned char *cbk__json_numeral(cbk_json *j, const unsigned char *p,
                                                     const unsigned char *end) {
    if (!cbk__json_wants_value(j)) return cbk__json_syntax(j);
    cbk__json_value_begins(j, (const char *)p);
    {
        /* the common case: an integer without leading zero, whole in this
           chunk (a timestamp), handed over in place */
        const unsigned char *q = p + (*p == '-'), *digits = q;
        if (q < end && *q >= '1' && *q <= '9') {
            uint64_t v = (uint64_t)(*q++ - '0');
            unsigned d;
#ifdef CBK__EIGHT_DIGITS
            while (end - q >= 8 && cbk__eight_digits(q, &v)) q += 8;
#endif
            while (q < end && (d = (unsigned)*q - '0') <= 9) v = v * 10 + d, q++;
            if (q < end && *q != '.' && *q != 'e' && *q != 'E') {
                /* with at most 18 digits the value is exact: kept for the
                   client, which needs no cbk_json_int64 */
                j->num_ok = q - digits <= 18;
                if (j->num_ok) j->num = *p == '-' ? -(int64_t)v : (int64_t)v;
                j->pos = (const char *)q;
                cbk__json_after_value(j);
                if (cbk__json_emit(j, CBK_JSON_NUMBER, (const char *)p, (size_t)(q - p), j->depth))
                    return NULL;
                return cbk__json_punct(j, q, end);
            }
        }
    }
    j->lex = CBK__L_NUM;
    j->sub = 0;
    j->joined = 0;
    j->slen = 0;
    j->num_ok = 0;
    p = cbk__json_number(j, p, end);
    return p && j->lex == CBK__L_NONE ? cbk__json_punct(j, p, end) : p;
}

/* One step outside a token: whitespace, a structural byte, or the start of
   a value (read as far as the chunk goes). The tokenizer's dispatch; returns
   where to go on, NULL on failure (j->result says why). */
static const unsigned char *cbk__json_step(cbk_json *j, const unsigned char *p,
                                           const unsigned char *end) {
    switch (cbk__json_class[*p]) {
    case CBK__C_WS: return p + 1;
    case CBK__C_NL: return cbk__json_newline(j, p);
    case CBK__C_OBJ: return cbk__json_open(j, 1, p) ? NULL : p + 1;
    case CBK__C_ARR: return cbk__json_open(j, 0, p) ? NULL : p + 1;
    case CBK__C_OBJ_END: return cbk__json_close(j, 1, p) ? NULL : cbk__json_punct(j, p + 1, end);
    case CBK__C_ARR_END: return cbk__json_close(j, 0, p) ? NULL : p + 1;
    case CBK__C_COMMA: return cbk__json_comma(j, p);
    case CBK__C_COLON: return cbk__json_colon(j, p);
    case CBK__C_QUOTE: return cbk__json_quote(j, p, end);
    case CBK__C_LIT: return cbk__json_word(j, p, end);
    case CBK__C_NUM: return cbk__json_numeral(j, p, end);
    default: return cbk__json_syntax(j);
    }
}

/* A captured value goes on past this chunk: its bytes are kept. */
static cbk_result cbk__json_capture_tail(cbk_json *j, const char *end) {
    size_t n = (size_t)(end - j->cap);
    if (j->buf_size - j->kept - j->cap_len < n + 1) {
        if (!(j->flags & CBK_JSON_TRUNCATE)) return cbk__json_fail(j, CBK_ERR_BUFFER_TOO_SMALL);
        j->cap_over = 1; /* delivered as its first byte, marked truncated */
        return CBK_OK;
    }
    CBK_MEMCPY(j->buf + j->kept + j->cap_len, j->cap, n);
    j->cap_len += n;
    cbk__json_wrote(j, j->kept + j->cap_len);
    return CBK_OK;
}

CBKDEF cbk_result cbk_json_feed(cbk_json *j, const char *data, size_t len) {
    const unsigned char *p = (const unsigned char *)data, *end = p + len;
    if (!j || (!data && len)) return CBK_ERR_INVALID_ARGUMENT; /* not sticky: nothing was read */
    if (j->result) return (cbk_result)j->result;
    if (!len) return CBK_OK;
    j->pos = data;
    if (j->skipping == 2 && j->cap) j->cap = data;
    if (j->lex != CBK__L_NONE) {
        p = cbk__json_resume(j, p, end);
        if (p && j->lex == CBK__L_NONE) p = cbk__json_punct(j, p, end);
    }
    while (p && p < end) {
        j->pos = (const char *)p;
        /* a string is the most common start: tested before the dispatch */
        p = *p == '"' ? cbk__json_quote(j, p, end) : cbk__json_step(j, p, end);
    }
    if (p && j->skipping == 2 && j->cap && !j->cap_over &&
        cbk__json_capture_tail(j, (const char *)end))
        p = NULL;
    if (!p) {
        j->offset += (uint64_t)(j->pos - data);
        return (cbk_result)j->result;
    }
    j->offset += len;
    return CBK_OK;
}

CBKDEF cbk_result cbk_json_finish(cbk_json *j) {
    if (!j) return CBK_ERR_INVALID_ARGUMENT;
    if (j->result) return (cbk_result)j->result;
    if (j->lex == CBK__L_NUM && j->depth == 0) {
        j->pos = NULL;
        if (cbk__json_number_done(j, "", 0)) return (cbk_result)j->result;
    }
    if (j->lex != CBK__L_NONE) return cbk__json_fail(j, CBK_ERR_PARSE);
    if (j->state == CBK__S_DONE) return CBK_OK;
    if ((j->flags & CBK_JSON_LINES) && j->state == CBK__S_START) return CBK_OK;
    return cbk__json_fail(j, CBK_ERR_PARSE);
}

CBKDEF cbk_result cbk_json_validate(const char *text, size_t len) {
    cbk_json j;
    cbk_result r;
    if (!text && len) return CBK_ERR_INVALID_ARGUMENT;
    cbk__json_init(&j, NULL, 0, 0, NULL, NULL);
    r = cbk_json_feed(&j, text, len);
    return r ? r : cbk_json_finish(&j);
}

/* The common case of cbk_json_int64: an integer of 1 to 18 digits without
   leading zero, fraction or exponent (it cannot overflow). 1 and *out set
   when text is one; 0 (and *out untouched) for anything else. Inline, so
   the decoders pay no call for a timestamp. */
static inline int cbk__int64_plain(const char *text, size_t len, int64_t *out) {
    const char *p = text, *end = text + len;
    uint64_t v = 0;
    int neg = p < end && *p == '-';
    p += neg;
    if (end - p < 1 || end - p > 18 || *p < '1' || *p > '9') return 0;
    for (; p < end; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (d > 9) return 0;
        v = v * 10 + d;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 1;
}

/* A JSON number as digits: the value is 0.D x 10^point, D being k digits
   from index `skip` of the integer and fraction digits, without leading
   or trailing zeros. */
typedef struct cbk__num {
    const char *ip, *fp; /* integer and fraction digits */
    size_t il, fl, skip, k;
    long point;
    int neg;
} cbk__num;

static CBK__IN_LINE char cbk__num_digit(const cbk__num *x, size_t i) {
    i += x->skip;
    if (i < x->il) return x->ip[i];
    return x->fp[i - x->il];
}

/* The exponent after 'e' at p[0..end) (checked), bounded far past any
   double's. */
static long cbk__num_exp(const char *p, const char *end) {
    long e = 0;
    int neg = p < end && *p == '-';
    if (p < end && (*p == '+' || *p == '-')) p++;
    for (; p < end; p++)
        if (e < 100000) e = e * 10 + (*p - '0');
    return neg ? -e : e;
}

/* Leading and trailing zeros are not significant digits. */
static void cbk__num_trim(cbk__num *x) {
    x->k = x->il + x->fl;
    while (x->k && cbk__num_digit(x, 0) == '0') x->skip++, x->k--, x->point--;
    while (x->k && cbk__num_digit(x, x->k - 1) == '0') x->k--;
}

/* Reads a number the tokenizer already checked. */
static void cbk__num_parse(const char *s, size_t n, cbk__num *x) {
    const char *p = s, *end = s + n;
    CBK_MEMSET(x, 0, sizeof *x);
    if (*p == '-') x->neg = 1, p++;
    for (x->ip = p; p < end && *p >= '0' && *p <= '9'; p++) x->il++;
    if (p < end && *p == '.')
        for (x->fp = ++p; p < end && *p >= '0' && *p <= '9'; p++) x->fl++;
    x->point = (long)x->il + (p < end ? cbk__num_exp(p + 1, end) : 0);
    cbk__num_trim(x);
}

/* Zero as a double: no digit, or below half the smallest one. */
static int cbk__num_zero(const cbk__num *x) {
    return !x->k || x->point <= -324;
}

/* Is text[0..len) one JSON number? The tokenizer's own number steps. */
static int cbk__is_number(const char *text, size_t len) {
    uint8_t s = 0;
    size_t i;
    for (i = 0; i < len; i++) {
        s = cbk__num_step(s, (unsigned char)text[i]);
        if (s == CBK__N_END || s == CBK__N_BAD) return 0;
    }
    return s != 0 && s != CBK__N_MINUS && s != CBK__N_DOT && s != CBK__N_E && s != CBK__N_ESIGN;
}

CBKDEF cbk_result cbk_json_int64(const char *text, size_t len, int64_t *out) {
    /* The value is 0.D x 10^point (cbk__num): its integer part is the first
       `point` digits of D, zeros past D's end. The largest magnitude,
       9223372036854775807 (or ...808 negative), is compared against its
       leading digits, so no 64-bit division is needed (which small targets
       pay for with a runtime helper). */
    cbk__num x;
    uint64_t v = 0;
    unsigned last;
    long i;
    if (!text || !out) return CBK_ERR_INVALID_ARGUMENT;
    if (cbk__int64_plain(text, len, out)) return CBK_OK;
    *out = 0;
    if (!cbk__is_number(text, len)) return CBK_ERR_PARSE;
    cbk__num_parse(text, len, &x);
    if (!x.k || x.point <= 0) return CBK_OK; /* below 1 in magnitude: 0 */
    if (x.point > 19) return CBK_ERR_PARSE;
    last = x.neg ? 8u : 7u;
    for (i = 0; i < x.point; i++) {
        unsigned d = (size_t)i < x.k ? (unsigned)(cbk__num_digit(&x, (size_t)i) - '0') : 0u;
        if (v > 922337203685477580u || (v == 922337203685477580u && d > last)) return CBK_ERR_PARSE;
        v = v * 10 + d;
    }
    *out = x.neg ? (int64_t)(-(int64_t)(v - 1)) - 1 : (int64_t)v;
    return CBK_OK;
}

/* Does the JSON text s[0..n) open with '{' after its whitespace? (Whether
   it then is one valid value is the tokenizer's to say.) */
static int cbk__json_opens_object(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i < n && s[i] == '{';
}

/* cbk_json_get_string's walk: the tokenizer's keys at the top level,
   compared with the key (an escaped one as it is read: CBK__JSON_MATCH);
   every other value skipped; the wanted key's string value kept at out's
   start (the tokenizer's buffer; kept, so that the NUL ending a later key
   lands after it). The last of duplicates wins. */
typedef struct cbk__get {
    const char *key;
    size_t key_len;
    int want;         /* the next value is the key's */
    cbk_result found; /* for the last of the key: CBK_OK, or why not */
} cbk__get;

static int cbk__on_get(void *user, cbk_json *j, const cbk_json_token *t) {
    cbk__get *g = (cbk__get *)user;
    const char *kept;
    if (t->depth != 1 || t->type == CBK_JSON_OBJECT_END || t->type == CBK_JSON_ARRAY_END) return 0;
    if (t->type == CBK_JSON_KEY) {
        /* read in place (with its text), or compared as it was joined */
        g->want = !t->truncated && (t->len ? cbk__streq(t->text, t->len, g->key) : !j->match_len);
        j->match = g->key; /* the next key is compared from the start */
        j->match_len = g->key_len;
        if (g->want)
            cbk_json_release(j, 0); /* its value takes out's start */
        else
            cbk_json_skip(j);
        return 0;
    }
    if (!g->want) return 0;
    g->want = 0;
    if (t->type != CBK_JSON_STRING) {
        g->found = CBK_ERR_PARSE;
        cbk_json_skip(j); /* an object or array: what is inside */
        return 0;
    }
    /* a value read in place is copied to out; a joined one is there */
    g->found = t->truncated || cbk__json_keep(j, t, &kept) ? CBK_ERR_BUFFER_TOO_SMALL : CBK_OK;
    return 0;
}

CBKDEF cbk_result cbk_json_get_string(const char *json, size_t len, const char *key, char *out,
                                      size_t out_size) {
    cbk_json j;
    cbk__get g;
    cbk_result r;
    int object;
    if (out && out_size) out[0] = 0; /* "" on every failure, argument errors too */
    if (!json || !key || !out || !out_size) return CBK_ERR_INVALID_ARGUMENT;
    object = cbk__json_opens_object(json, len); /* else no key to find, if it is JSON at all */
    g.key = key;
    g.key_len = CBK_STRLEN(key);
    g.want = 0;
    g.found = CBK_ERR_NOT_FOUND;
    cbk__json_init(&j, out, out_size, object ? CBK_JSON_TRUNCATE | CBK__JSON_MATCH : 0,
                   object ? cbk__on_get : NULL, &g);
    j.match = key;
    j.match_len = g.key_len;
    /* any failure of the tokenizer is the text's: with '{' first and the
       text whole, nothing it joins can be cut but strings */
    r = cbk_json_feed(&j, json, len) || cbk_json_finish(&j) ? CBK_ERR_PARSE : g.found;
    if (r) cbk__wipe(out, out_size); /* nothing partial is left */
    return r;
}

/* ---------------------------------------------------------------------------
 * Text building in caller memory
 * ------------------------------------------------------------------------- */

typedef struct cbk__sb {
    char *p;
    size_t cap, len;
    int overflow;
} cbk__sb;

static void cbk__sb_put(cbk__sb *b, const char *s, size_t n) {
    if (!n) return;
    if (b->overflow || b->cap - b->len < n) {
        b->overflow = 1;
        return;
    }
    CBK_MEMCPY(b->p + b->len, s, n);
    b->len += n;
}

static void cbk__sb_str(cbk__sb *b, const char *s) {
    cbk__sb_put(b, s, CBK_STRLEN(s));
}

/* One byte, written in place (a leaf: digits and escapes are written a
   byte at a time, some deep in an error path). */
static void cbk__sb_ch(cbk__sb *b, char ch) {
    if (b->overflow || b->len >= b->cap) {
        b->overflow = 1;
        return;
    }
    b->p[b->len++] = ch;
}

/* Decimal digits by subtracting powers of ten: no 64-bit division, which
   small targets would pay for with a runtime helper, and no table of the
   powers (each next one is found by multiplying up to it: twenty digits at
   most, and numbers are written only into requests and error texts). */
static void cbk__sb_u64(cbk__sb *b, uint64_t v) {
    uint64_t p = 1;
    while (p <= 1000000000000000000u && p * 10 <= v) p *= 10;
    for (;;) {
        uint64_t q = 1;
        char digit = '0';
        while (v >= p) v -= p, digit++;
        cbk__sb_ch(b, digit);
        if (p == 1) return;
        while (q * 10 < p) q *= 10;
        p = q;
    }
}

static const char cbk__hexdig[] = "0123456789ABCDEF";

static void cbk__sb_pct(cbk__sb *b, unsigned char ch) {
    char t[3];
    t[0] = '%';
    t[1] = cbk__hexdig[ch >> 4];
    t[2] = cbk__hexdig[ch & 15];
    cbk__sb_put(b, t, 3);
}

static int cbk__alnum(unsigned char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* A path segment: RFC 3986 unreserved characters kept, the rest %XX. */
static void cbk__sb_segment(cbk__sb *b, const char *s) {
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (cbk__alnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~')
            cbk__sb_ch(b, (char)ch);
        else
            cbk__sb_pct(b, ch);
    }
}

/* application/x-www-form-urlencoded, as URLSearchParams writes it. */
static void cbk__sb_form(cbk__sb *b, const char *s) {
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (cbk__alnum(ch) || ch == '*' || ch == '-' || ch == '.' || ch == '_')
            cbk__sb_ch(b, (char)ch);
        else if (ch == ' ')
            cbk__sb_ch(b, '+');
        else
            cbk__sb_pct(b, ch);
    }
}

/* A JSON string as JSON.stringify writes it (text already valid UTF-8). */
static void cbk__sb_json(cbk__sb *b, const char *s) {
    cbk__sb_ch(b, '"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        const char *esc = NULL;
        switch (ch) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default: break;
        }
        if (esc) {
            cbk__sb_str(b, esc);
        } else if (ch < 0x20) {
            char u[6]; /* set one by one: an initialiser may become a memcpy call */
            u[0] = '\\';
            u[1] = 'u';
            u[2] = '0';
            u[3] = '0';
            u[4] = (char)('0' + (ch >> 4));
            u[5] = "0123456789abcdef"[ch & 15];
            cbk__sb_put(b, u, 6);
        } else {
            cbk__sb_ch(b, (char)ch);
        }
    }
    cbk__sb_ch(b, '"');
}

/* ---------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------- */

/* Reason phrases of the IANA HTTP status code registry (RFC 9110 and the
   RFCs it points to), for "HTTP Error: <reason>": one string of entries
   "NNNphrase\0", searched in order (smaller than a switch's table). */
#ifndef CBK_TOKEN_NO_MESSAGES
static const char cbk__reasons[] = "100Continue\0"
                                   "101Switching Protocols\0"
                                   "102Processing\0"
                                   "103Early Hints\0"
                                   "200OK\0"
                                   "201Created\0"
                                   "202Accepted\0"
                                   "203Non-Authoritative Information\0"
                                   "204No Content\0"
                                   "205Reset Content\0"
                                   "206Partial Content\0"
                                   "207Multi-Status\0"
                                   "208Already Reported\0"
                                   "226IM Used\0"
                                   "300Multiple Choices\0"
                                   "301Moved Permanently\0"
                                   "302Found\0"
                                   "303See Other\0"
                                   "304Not Modified\0"
                                   "305Use Proxy\0"
                                   "307Temporary Redirect\0"
                                   "308Permanent Redirect\0"
                                   "400Bad Request\0"
                                   "401Unauthorized\0"
                                   "402Payment Required\0"
                                   "403Forbidden\0"
                                   "404Not Found\0"
                                   "405Method Not Allowed\0"
                                   "406Not Acceptable\0"
                                   "407Proxy Authentication Required\0"
                                   "408Request Timeout\0"
                                   "409Conflict\0"
                                   "410Gone\0"
                                   "411Length Required\0"
                                   "412Precondition Failed\0"
                                   "413Content Too Large\0"
                                   "414URI Too Long\0"
                                   "415Unsupported Media Type\0"
                                   "416Range Not Satisfiable\0"
                                   "417Expectation Failed\0"
                                   "421Misdirected Request\0"
                                   "422Unprocessable Content\0"
                                   "423Locked\0"
                                   "424Failed Dependency\0"
                                   "425Too Early\0"
                                   "426Upgrade Required\0"
                                   "428Precondition Required\0"
                                   "429Too Many Requests\0"
                                   "431Request Header Fields Too Large\0"
                                   "451Unavailable For Legal Reasons\0"
                                   "500Internal Server Error\0"
                                   "501Not Implemented\0"
                                   "502Bad Gateway\0"
                                   "503Service Unavailable\0"
                                   "504Gateway Timeout\0"
                                   "505HTTP Version Not Supported\0"
                                   "506Variant Also Negotiates\0"
                                   "507Insufficient Storage\0"
                                   "508Loop Detected\0"
                                   "511Network Authentication Required\0";

static const char *cbk__reason(int status) {
    const char *p = cbk__reasons;
    while (*p) {
        int code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
        if (code == status) return p + 3;
        p += 3 + CBK_STRLEN(p + 3) + 1;
    }
    return NULL;
}
#endif

/* Copies the C string s into a fixed field, cut at a UTF-8 boundary if it
   must be. Byte by byte, calling nothing: every failure ends here, some
   deep in a decoder's stack. */
static void cbk__copy_cut(char *dst, size_t size, const char *s) {
    size_t n = 0;
    for (; s[n] && n + 1 < size; n++) dst[n] = s[n];
    if (s[n]) /* cut: back off continuation bytes, then the lead byte of a cut sequence */
        while (n && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    dst[n] = 0;
}

/* Records a failure that is not an HTTP error: code is the result's name.
   Called through the macro cbk__fail, which leaves the text out under
   CBK_TOKEN_NO_MESSAGES, so no diagnostic literal reaches the object. */
static cbk_result cbk__fail_text(cbk_client *c, cbk_result r, const char *what) {
    const char *name = cbk_result_str(r);
    c->error.http_status = c->status;
    cbk__copy_cut(c->error.code, sizeof c->error.code, name);
    cbk__copy_cut(c->error.message, sizeof c->error.message, what);
    return r;
}

/* Writes into a fixed error field from byte `start` on, keeping the last
   byte for the NUL that cbk__sb_close puts after whatever fitted. */
static void cbk__sb_over(cbk__sb *b, char *field, size_t size, size_t start) {
    b->p = field;
    b->cap = size - 1;
    b->len = start;
    b->overflow = 0;
}

static void cbk__sb_close(cbk__sb *b) {
    b->p[b->len] = 0;
}

#ifdef CBK_TOKEN_NO_MESSAGES
/* what and n are not evaluated: every caller passes plain values. A text
   handed on through a helper's parameter is wrapped in CBK__TEXT. */
#define CBK__TEXT(s)               ""
#define cbk__fail(c, r, what)      cbk__fail_text((c), (r), "")
#define cbk__fail_n(c, r, what, n) cbk__fail_text((c), (r), "")
#else
#define CBK__TEXT(s)               s
#define cbk__fail(c, r, what)      cbk__fail_text((c), (r), (what))
#define cbk__fail_n(c, r, what, n) cbk__fail_number((c), (r), (what), (n))

/* Like cbk__fail, with a number after the text ("... at byte 17"). */
static cbk_result cbk__fail_number(cbk_client *c, cbk_result r, const char *what, uint64_t n) {
    cbk__sb b;
    cbk__fail_text(c, r, what);
    cbk__sb_over(&b, c->error.message, sizeof c->error.message, CBK_STRLEN(c->error.message));
    cbk__sb_u64(&b, n);
    cbk__sb_close(&b);
    return r;
}
#endif

/* ---------------------------------------------------------------------------
 * The client
 * ------------------------------------------------------------------------- */

enum {
    CBK__OP_NONE,
    CBK__OP_LIST,
    CBK__OP_STREAM,
    CBK__OP_CREATE,
    CBK__OP_UPDATE,
    CBK__OP_DELETE,
    CBK__OP_FETCH
};

/* What a top level or an item held, in c->flags and item.seen. */
enum {
    CBK__F_ID = 1,
    CBK__F_NAME = 2,
    CBK__F_DESCRIPTION = 4,
    CBK__F_META = 8,
    CBK__F_CREATED = 16,
    CBK__F_UPDATED = 32,
    CBK__F_TOKEN = 64,
    CBK__F_ITEMS = 128,
    CBK__F_CURSOR = 256,
    CBK__F_TYPE = 512,
    CBK__F_DATA = 1024,
    CBK__F_MESSAGE = 2048,
    CBK__F_CODE = 4096,
    CBK__F_IN_ITEMS = 8192,
    CBK__F_IN_DATA = 16384
};
/* Error-body bits of c->flags only: above what a 16-bit int (and so an
   enumerator) can hold, hence uint32_t constants. */
#define CBK__F_NOT_OBJECT ((uint32_t)1 << 15)
#define CBK__F_NULL       ((uint32_t)1 << 16)

static const char cbk__default_base[] = "https://api.chatbotkit.com";

/* CR, LF and NUL can split a header; the NUL case is the end of a C
   string, so only CR and LF are looked for in NUL-terminated text. */
static int cbk__header_safe(const char *s) {
    for (; *s; s++)
        if (*s == '\r' || *s == '\n') return 0;
    return 1;
}

static int cbk__header_name_ok(const char *s) {
    if (!s || !*s) return 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch <= 0x20 || ch >= 0x7F || ch == ':') return 0;
    }
    return 1;
}

/* Extra headers (the client's or a request's): valid names, values
   without CR or LF, none named Authorization (that one carries the
   secret, and only the library writes it). */
static cbk_result cbk__check_headers(cbk_client *c, const cbk_header *hs, size_t n) {
    size_t i;
    if (n && !hs) return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "header_count without headers");
    for (i = 0; i < n; i++) {
        if (!cbk__header_name_ok(hs[i].name))
            return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "a header name is empty or invalid");
        if (cbk__strieq(hs[i].name, CBK_STRLEN(hs[i].name), "authorization"))
            return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT,
                             "an Authorization header: the library sends the secret's");
        if (!hs[i].value || !cbk__header_safe(hs[i].value))
            return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT,
                             "a header value is NULL or holds CR or LF");
    }
    return CBK_OK;
}

CBKDEF void cbk_client_options_init(cbk_client_options *o) {
    if (!o) return;
    CBK_MEMSET(o, 0, sizeof *o);
    o->retries = 3;
    o->retry_delay_ms = 250;
}

CBKDEF const cbk_error *cbk_client_error(const cbk_client *c) {
    return c ? &c->error : NULL;
}

CBKDEF int cbk_client_http_status(const cbk_client *c) {
    return c ? c->last_status : 0;
}

static void cbk__clear_error(cbk_client *c) {
    CBK_MEMSET(&c->error, 0, sizeof c->error);
}

/* The port after a host's ':' (p..end): 1 to 5 digits, 1..65535. */
static int cbk__port_ok(const char *p, const char *end) {
    unsigned long v = 0;
    if (p == end || end - p > 5) return 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') return 0;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    return v >= 1 && v <= 65535;
}

/* Where a base URL's host (a name, an IPv4 address or a bracketed IPv6
   one) ends in its authority a..end, or NULL when it is not one. */
static const char *cbk__host_end(const char *a, const char *end) {
    const char *p = a;
    if (*p == '[') {
        for (p++; p < end && *p != ']'; p++)
            if (!((*p >= '0' && *p <= '9') ||
                  (cbk__lower((unsigned char)*p) >= 'a' && cbk__lower((unsigned char)*p) <= 'f') ||
                  *p == ':' || *p == '.'))
                return NULL;
        return p < end && p > a + 1 ? p + 1 : NULL;
    }
    while (p < end && (cbk__alnum((unsigned char)*p) || *p == '-' || *p == '.' || *p == '_')) p++;
    return p > a ? p : NULL;
}

/* The base URL, scheme://host[:port][/path], checked once (so a URL the
   transport would refuse fails here) and parsed into base_len, prefix_len
   and drop_api, from which every request URL is built. */
static cbk_result cbk__parse_base(cbk_client *c) {
    const char *u = c->opts.base_url ? c->opts.base_url : cbk__default_base;
    const char *auth, *path, *host_end;
    size_t i, n = CBK_STRLEN(u);
    c->opts.base_url = u;
    if (n > 7 && cbk__prefix_ci(u, "http://"))
        auth = u + 7;
    else if (n > 8 && cbk__prefix_ci(u, "https://"))
        auth = u + 8;
    else
        return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "base_url is not http:// or https://");
    for (i = 0; i < n; i++)
        if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7F || u[i] == '?' ||
            u[i] == '#')
            return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT,
                             "base_url holds a space, a control or non-ASCII byte, '?' or '#'");
    for (path = auth; *path && *path != '/'; path++) {
    }
    host_end = cbk__host_end(auth, path);
    if (!host_end || (host_end < path && (*host_end != ':' || !cbk__port_ok(host_end + 1, path))))
        return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT,
                         "base_url's host[:port] is not a host name or address and a port "
                         "1..65535 (no user info)");
    c->drop_api = cbk__strieq(auth, (size_t)(host_end - auth), "api.chatbotkit.com");
    c->base_len = (size_t)(path - u);
    for (n = CBK_STRLEN(path); n && path[n - 1] == '/'; n--) {
    }
    c->prefix_len = n;
    return CBK_OK;
}

/* What cbk_client_init checks, once the fields are set. */
static cbk_result cbk__init_checks(cbk_client *c) {
    const cbk_client_options *o = &c->opts;
    if (!c->work) return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "no work buffer");
    if (!cbk__header_safe(c->secret))
        return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "the secret holds CR or LF");
    if ((o->run_as_user_id && !cbk__header_safe(o->run_as_user_id)) ||
        (o->timezone && !cbk__header_safe(o->timezone)) ||
        (o->run_as_child_user_email && !cbk__header_safe(o->run_as_child_user_email)))
        return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "a header value holds CR or LF");
    if (cbk__check_headers(c, o->headers, o->header_count)) return CBK_ERR_INVALID_ARGUMENT;
    return cbk__parse_base(c);
}

CBKDEF cbk_result cbk_client_init(cbk_client *c, const char *secret, cbk_send_fn send,
                                  void *send_ctx, void *work, size_t work_size,
                                  const cbk_client_options *opts) {
    cbk_result r;
    if (!c) return CBK_ERR_INVALID_ARGUMENT;
    CBK_MEMSET(c, 0, sizeof *c);
    c->response.client = c;
    c->send = send;
    c->send_ctx = send_ctx;
    c->work = (char *)work;
    c->work_size = work ? work_size : 0;
    c->secret = secret ? secret : "";
    c->secret_len = CBK_STRLEN(c->secret);
    if (opts)
        CBK_MEMCPY(&c->opts, opts, sizeof c->opts); /* not `=`: that may call memcpy */
    else
        cbk_client_options_init(&c->opts);
    cbk__default_time(&c->opts);
    r = cbk__init_checks(c);
    if (r) {
        /* a client that failed to initialise sends nothing (its operations
           fail: "the client is not initialised"), so an ignored failure
           cannot put a CR/LF secret or a bad URL on the wire */
        c->work = NULL;
        c->work_size = 0;
    }
    return r;
}

/* Ids go into the path as one segment. what: the text for cbk_error, from
   CBK__TEXT (so "" under CBK_TOKEN_NO_MESSAGES). */
static cbk_result cbk__check_id(cbk_client *c, const char *id, const char *what) {
    size_t n;
    if (!id || !*id) return cbk__fail_text(c, CBK_ERR_INVALID_ARGUMENT, what);
    n = CBK_STRLEN(id);
    if ((n == 1 && id[0] == '.') || (n == 2 && id[0] == '.' && id[1] == '.'))
        return cbk__fail_text(c, CBK_ERR_INVALID_ARGUMENT, what);
    if (!cbk__utf8_valid(id, n)) return cbk__fail_text(c, CBK_ERR_INVALID_ARGUMENT, what);
    return CBK_OK;
}

static cbk_result cbk__check_text(cbk_client *c, const char *s, const char *what) {
    if (!s || !cbk__utf8_valid(s, CBK_STRLEN(s)))
        return cbk__fail_text(c, CBK_ERR_INVALID_ARGUMENT, what);
    return CBK_OK;
}

static cbk_result cbk__check_kvs(cbk_client *c, const cbk_kv *kv, size_t n) {
    size_t i;
    if (n && !kv) return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "a count without its array");
    for (i = 0; i < n; i++) {
        if (!kv[i].key)
            return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "a meta or query key is NULL");
        if (cbk__check_text(c, kv[i].key, CBK__TEXT("a meta or query key is not valid UTF-8")) ||
            cbk__check_text(c, kv[i].value,
                            CBK__TEXT("a meta or query value is NULL or not valid UTF-8")))
            return CBK_ERR_INVALID_ARGUMENT;
    }
    return CBK_OK;
}

static cbk_result cbk__check_fields(cbk_client *c, const cbk_token_fields *f) {
    if (!f) return CBK_OK;
    if (f->name && cbk__check_text(c, f->name, CBK__TEXT("name is not valid UTF-8")))
        return CBK_ERR_INVALID_ARGUMENT;
    if (f->description &&
        cbk__check_text(c, f->description, CBK__TEXT("description is not valid UTF-8")))
        return CBK_ERR_INVALID_ARGUMENT;
    if (cbk__check_kvs(c, f->meta, f->meta_count)) return CBK_ERR_INVALID_ARGUMENT;
    if (f->config_json) {
        size_t n = CBK_STRLEN(f->config_json);
        if (!cbk__json_opens_object(f->config_json, n) || cbk_json_validate(f->config_json, n))
            return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "config_json is not a JSON object");
    }
    return CBK_OK;
}

/* The base URL, then an API path ("/api/v1/..."): without its "/api" on
   api.chatbotkit.com, as the SDK sends it. The one place a request URL
   starts. */
static void cbk__sb_api(cbk_client *c, cbk__sb *b, const char *path) {
    cbk__sb_put(b, c->opts.base_url, c->base_len + c->prefix_len);
    if (c->drop_api && path[0] == '/' && path[1] == 'a' && path[2] == 'p' && path[3] == 'i' &&
        (path[4] == '/' || path[4] == 0))
        path += 4;
    cbk__sb_str(b, path);
}

static void cbk__sb_path(cbk_client *c, cbk__sb *b, const char *tail) {
    cbk__sb_api(c, b, "/api/v1/partner/user/");
    cbk__sb_segment(b, c->user_id);
    cbk__sb_str(b, "/token/");
    if (c->token_id) {
        cbk__sb_segment(b, c->token_id);
        cbk__sb_ch(b, '/');
    }
    cbk__sb_str(b, tail);
}

static void cbk__sb_query_sep(cbk__sb *b, int *first) {
    cbk__sb_ch(b, *first ? '?' : '&');
    *first = 0;
}

static void cbk__sb_fields(cbk__sb *b, const cbk_token_fields *f) {
    int n = 0;
    cbk__sb_ch(b, '{');
    if (f && f->name) {
        cbk__sb_str(b, "\"name\":");
        cbk__sb_json(b, f->name);
        n++;
    }
    if (f && f->description) {
        if (n++) cbk__sb_ch(b, ',');
        cbk__sb_str(b, "\"description\":");
        cbk__sb_json(b, f->description);
    }
    if (f && f->meta_count) {
        size_t i;
        if (n++) cbk__sb_ch(b, ',');
        cbk__sb_str(b, "\"meta\":{");
        for (i = 0; i < f->meta_count; i++) {
            if (i) cbk__sb_ch(b, ',');
            cbk__sb_json(b, f->meta[i].key);
            cbk__sb_ch(b, ':');
            cbk__sb_json(b, f->meta[i].value);
        }
        cbk__sb_ch(b, '}');
    }
    if (f && f->config_json) {
        if (n++) cbk__sb_ch(b, ',');
        cbk__sb_str(b, "\"config\":");
        cbk__sb_str(b, f->config_json);
    }
    cbk__sb_ch(b, '}');
}

/* FNV-1a: a multipart boundary that depends on the data it wraps. */
static uint64_t cbk__fnv(const unsigned char *p, size_t n, uint64_t h) {
    while (n--) h = (h ^ *p++) * 0x100000001b3ull;
    return h;
}

static int cbk__contains(const char *hay, size_t n, const char *needle, size_t m) {
    size_t i, k;
    for (i = 0; i + m <= n; i++) {
        for (k = 0; k < m && hay[i + k] == needle[k]; k++) {
        }
        if (k == m) return 1;
    }
    return 0;
}

/* The multipart body for cbk_fetch's file; the boundary ends up in bnd. */
static cbk_result cbk__sb_multipart(cbk_client *c, cbk__sb *b, const cbk_file *f, char *bnd) {
    uint64_t h = cbk__fnv((const unsigned char *)f->data, f->len, 0xcbf29ce484222325ull);
    const char *s;
    int tries, i;
    for (tries = 0;; tries++) {
        CBK_MEMCPY(bnd, "----cbktoken", 12);
        {
            /* shifts by a constant: a variable 64-bit shift is a runtime
               helper on 32-bit targets */
            uint64_t v = h;
            for (i = 15; i >= 0; i--, v >>= 4) bnd[12 + i] = cbk__hexdig[v & 15];
        }
        bnd[28] = 0;
        if (!cbk__contains((const char *)f->data, f->len, bnd, 28)) break;
        if (tries == 8)
            return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "no multipart boundary fits the file");
        h = cbk__fnv((const unsigned char *)"+", 1, h);
    }
    cbk__sb_str(b, "--");
    cbk__sb_str(b, bnd);
    cbk__sb_str(b, "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"");
    for (s = f->name; *s; s++) {
        /* as browsers write a filename: quote, CR and LF percent-encoded */
        if (*s == '"' || *s == '\r' || *s == '\n')
            cbk__sb_pct(b, (unsigned char)*s);
        else
            cbk__sb_ch(b, *s);
    }
    cbk__sb_str(b, "\"\r\nContent-Type: ");
    cbk__sb_str(b, f->type ? f->type : "application/octet-stream");
    cbk__sb_str(b, "\r\n\r\n");
    cbk__sb_put(b, (const char *)f->data, f->len);
    cbk__sb_str(b, "\r\n--");
    cbk__sb_str(b, bnd);
    cbk__sb_str(b, "--\r\n");
    return CBK_OK;
}

static void cbk__add_header(cbk_client *c, cbk_header *h, const char *name, const char *value) {
    h[c->request.header_count].name = name;
    h[c->request.header_count].value = value;
    c->request.header_count++;
}

/* An extra header: never a second line of one name (in any case). One
   whose name is already among h[0..keep) is dropped (the library's own
   headers, against the client's); one already after that is replaced
   (the client's last of a name wins, and a request's header wins over
   the client's and the library's, as the SDK merges them). */
static void cbk__set_header(cbk_client *c, cbk_header *h, size_t keep, const char *name,
                            const char *value) {
    size_t i;
    for (i = 0; i < c->request.header_count; i++)
        if (cbk__strieq(h[i].name, CBK_STRLEN(h[i].name), name)) {
            if (i < keep) return;
            h[i].name = name;
            h[i].value = value;
            return;
        }
    cbk__add_header(c, h, name, value);
}

/* A header from the client options: the SDK sends it only when the value
   is truthy, so NULL and "" are both left out. */
static void cbk__add_option_header(cbk_client *c, cbk_header *h, const char *name,
                                   const char *value) {
    if (value && *value) cbk__add_header(c, h, name, value);
}

/* What differs between operations. Each prepare function names its own
   kind (cbk__begin), so a program links the request builders, decoders and
   endings of the operations it calls and no others: --gc-sections drops
   the rest (a firmware that only streams tokens carries no create, update,
   fetch or multipart code). */
typedef struct cbk__kind {
    void (*url)(cbk_client *c, cbk__sb *b); /* the URL, after the base */
    /* a POST's body, from *start on, and its Content-Type; NULL: a GET */
    cbk_result (*body)(cbk_client *c, cbk__sb *b, const char **content_type, size_t *start);
    cbk_json_fn on_json; /* the 2xx body's decoder; NULL: not JSON (raw) */
    /* a 2xx body's bytes other than straight to the tokenizer (raw, lines) */
    cbk_result (*feed)(cbk_client *c, const char *data, size_t len);
    cbk_result (*done)(cbk_client *c);  /* after a whole 2xx body */
    cbk_result (*flush)(cbk_client *c); /* a whole line waiting (streams) */
} cbk__kind;

/* create, update and delete: the fields as JSON ({} for a delete). */
static cbk_result cbk__token_body(cbk_client *c, cbk__sb *b, const char **content_type,
                                  size_t *start) {
    *content_type = "application/json";
    *start = b->len;
    if (c->op == CBK__OP_DELETE)
        cbk__sb_str(b, "{}");
    else
        cbk__sb_fields(b, c->fields);
    return CBK_OK;
}

/* cbk_fetch's POST body: a file as multipart/form-data (its Content-Type
   value written before it: the body must come last), JSON, raw bytes, or
   none. */
static cbk_result cbk__fetch_body(cbk_client *c, cbk__sb *b, const char **content_type,
                                  size_t *start) {
    const cbk_fetch_options *o = c->fetch_opts;
    char boundary[29];
    *start = b->len;
    if (o && o->file) {
        cbk_result r = cbk__sb_multipart(c, b, o->file, boundary); /* to find the boundary */
        if (r) return r;
        b->len = *start;
        *content_type = b->p + b->len;
        cbk__sb_str(b, "multipart/form-data; boundary=");
        cbk__sb_str(b, boundary);
        cbk__sb_ch(b, 0);
        *start = b->len;
        return cbk__sb_multipart(c, b, o->file, boundary);
    }
    if (o && (o->json || o->body)) {
        *content_type = o->json ? "application/json" : "application/octet-stream";
        cbk__sb_put(b, o->json ? o->json : (const char *)o->body,
                    o->json ? o->json_len : o->body_len);
    } /* else a POST without a body */
    return CBK_OK;
}

/* GET .../token/list?cursor=&order=&take=&meta.K=V */
static void cbk__list_url(cbk_client *c, cbk__sb *b) {
    const cbk_token_list_options *o = c->list_opts;
    const char *cursor = c->cursor ? c->cursor : o ? o->cursor : NULL;
    int first = 1;
    size_t i;
    cbk__sb_path(c, b, "list");
    if (cursor && *cursor) {
        cbk__sb_query_sep(b, &first);
        cbk__sb_str(b, "cursor=");
        cbk__sb_form(b, cursor);
    }
    if (o && o->order) {
        cbk__sb_query_sep(b, &first);
        cbk__sb_str(b, "order=");
        cbk__sb_form(b, o->order);
    }
    if (o && o->take) {
        cbk__sb_query_sep(b, &first);
        cbk__sb_str(b, "take=");
        cbk__sb_u64(b, (uint64_t)o->take);
    }
    for (i = 0; o && i < o->meta_count; i++) {
        cbk__sb_query_sep(b, &first);
        cbk__sb_str(b, "meta.");
        cbk__sb_form(b, o->meta[i].key);
        cbk__sb_ch(b, '=');
        cbk__sb_form(b, o->meta[i].value);
    }
}

/* POST .../token/create, .../token/{id}/update, .../token/{id}/delete */
static void cbk__token_url(cbk_client *c, cbk__sb *b) {
    cbk__sb_path(c, b,
                 c->op == CBK__OP_CREATE   ? "create"
                 : c->op == CBK__OP_UPDATE ? "update"
                                           : "delete");
}

/* cbk_fetch: the base, the path (without "/api" on api.chatbotkit.com), the
   query. */
static void cbk__fetch_url(cbk_client *c, cbk__sb *b) {
    const cbk_fetch_options *o = c->fetch_opts;
    const char *p = c->path;
    int first;
    size_t i;
    cbk__sb_api(c, b, p);
    first = !cbk__contains(p, CBK_STRLEN(p), "?", 1);
    for (i = 0; o && i < o->query_count; i++) {
        cbk__sb_query_sep(b, &first);
        cbk__sb_form(b, o->query[i].key);
        cbk__sb_ch(b, '=');
        cbk__sb_form(b, o->query[i].value);
    }
}

/* Builds c->request in the work buffer from the stored operation. The
   work buffer during an operation, from its start:

     list_all's cursor      CBK_CURSOR_MAX bytes, in cbk_token_list_all only
     (padding)              aligns the header array for its pointers
     cbk_header[nh]         the library's, the client's, the request's
     URL\0                  base, path, query: request.url
     Bearer <secret>\0      c->auth: wiped when the operation ends
     body                   a POST's JSON, raw bytes or multipart: request.body
     --- region: what the request left, the response's --------------------
     kept strings           the current token's fields, a cursor or an id
                            (cbk_json_keep: json.kept bytes)
     joined text            a string or number that spans chunks (json.slen)
                            (cbk_fetch streams: the line that spans chunks)
     free                   less the reserves of a token's fields not yet
                            seen (cbk__item_limit cuts json.buf_size)

   json.high is how far the region was ever written (cbk__json_wrote):
   cbk__end wipes it up to there after a create or a failure. */
static cbk_result cbk__build(cbk_client *c) {
    size_t off = 0, nh = 6 + c->opts.header_count, i, lib;
    const cbk_fetch_options *fo = c->op == CBK__OP_FETCH ? c->fetch_opts : NULL;
    cbk_header *h;
    cbk__sb b;
    const char *content_type = NULL, *url, *body = NULL;
    size_t body_len = 0;
    int post = c->kind->body != NULL;
    if (c->op == CBK__OP_LIST && c->cursor) off = CBK_CURSOR_MAX; /* list_all's cursor */
    /* align the header array for its pointers */
    while (((uintptr_t)(c->work + off)) % sizeof(void *)) off++;
    if (fo) nh += fo->header_count;
    if (off + nh * sizeof(cbk_header) > c->work_size)
        return cbk__fail(c, CBK_ERR_BUFFER_TOO_SMALL, "the work buffer cannot hold the headers");
    h = (cbk_header *)(void *)(c->work + off);
    off += nh * sizeof(cbk_header);
    b.p = c->work + off;
    b.cap = c->work_size - off;
    b.len = 0;
    b.overflow = 0;
    CBK_MEMSET(&c->request, 0, sizeof c->request);
    c->request.headers = h;
    url = b.p;
    c->kind->url(c, &b);
    cbk__sb_ch(&b, 0);
    if (c->secret_len) {
        c->auth = b.p + b.len;
        cbk__sb_str(&b, "Bearer ");
        cbk__sb_put(&b, c->secret, c->secret_len);
        cbk__sb_ch(&b, 0);
        c->auth_len = 7 + c->secret_len;
    }
    if (post) {
        size_t start;
        cbk_result r = c->kind->body(c, &b, &content_type, &start);
        if (r) return r;
        body = b.p + start;
        body_len = b.len - start;
    }
    if (b.overflow) {
        cbk__wipe(c->work, c->work_size);
        c->auth = NULL;
        return cbk__fail(c, CBK_ERR_BUFFER_TOO_SMALL, "the work buffer cannot hold the request");
    }
    c->region = c->work + off + b.len; /* what the request left */
    c->region_size = c->work_size - off - b.len;
    c->request.method = post ? "POST" : "GET";
    c->request.url = url;
    c->request.body = body;
    c->request.body_len = body_len;
    c->request.idempotent = !c->unsafe;
    if (c->auth) cbk__add_header(c, h, "Authorization", c->auth);
    if (content_type) cbk__add_header(c, h, "Content-Type", content_type);
    if (c->op == CBK__OP_STREAM ||
        (c->op == CBK__OP_FETCH && c->fetch_opts && c->fetch_opts->stream))
        cbk__add_header(c, h, "Accept", "application/jsonl");
    cbk__add_option_header(c, h, "X-RunAs-User-Id", c->opts.run_as_user_id);
    cbk__add_option_header(c, h, "X-RunAs-Child-User-Email", c->opts.run_as_child_user_email);
    cbk__add_option_header(c, h, "X-Timezone", c->opts.timezone);
    lib = c->request.header_count;
    for (i = 0; i < c->opts.header_count; i++)
        cbk__set_header(c, h, lib, c->opts.headers[i].name, c->opts.headers[i].value);
    for (i = 0; fo && i < fo->header_count; i++)
        cbk__set_header(c, h, 0, fo->headers[i].name, fo->headers[i].value);
    return CBK_OK;
}

/* ---------------------------------------------------------------------------
 * Response decoding
 * ------------------------------------------------------------------------- */

static int cbk__is_2xx(int s) {
    return s >= 200 && s <= 299;
}

/* The body did not go on with a whole byte order mark. What was taken for
   its start (0xEF, maybe 0xBB) is the body's first byte, which no JSON
   text, line or lenient error body may start with: the tokenizer fails
   there, at byte 0, as it would on reading it, without being run (which
   would stack its frames on cbk_client_finish's). */
static void cbk__bom_flush(cbk_client *c) {
    if (c->bom > 0 && c->bom < 3) (void)cbk__json_fail(&c->json, CBK_ERR_PARSE);
    c->bom = 3;
}

static const char cbk__bom[3] = {'\xEF', '\xBB', '\xBF'};

static int cbk__item_field(const char *k, size_t n) {
    switch (n) {
    case 2: return k[0] == 'i' && k[1] == 'd' ? CBK__F_ID : 0;
    case 4:
        return cbk__same(k, "name", 4) ? CBK__F_NAME : cbk__same(k, "meta", 4) ? CBK__F_META : 0;
    case 9:
        return cbk__same(k, "createdAt", 9)   ? CBK__F_CREATED
               : cbk__same(k, "updatedAt", 9) ? CBK__F_UPDATED
                                              : 0;
    case 11: return cbk__same(k, "description", 11) ? CBK__F_DESCRIPTION : 0;
    default: return 0;
    }
}

/* Whether a token's text holds a NUL. Only a \u0000 escape can put one
   there (raw control bytes are refused), and the tokenizer notes it. */
static int cbk__has_nul(const cbk_client *c, const char *s, size_t n) {
    size_t i;
    if (!c->json.nul) return 0;
    for (i = 0; i < n; i++)
        if (!s[i]) return 1;
    return 0;
}

/* Keeps a string value as a C string in the decoding region. */
static cbk_result cbk__keep_string(cbk_client *c, const cbk_json_token *t, const char **out) {
    if (cbk__has_nul(c, t->text, t->len))
        return cbk__fail(c, CBK_ERR_PARSE, "a string value holds \\u0000");
    if (cbk__json_keep(&c->json, t, out))
        return cbk__fail(c, CBK_ERR_BUFFER_TOO_SMALL,
                         "the work buffer cannot hold a token's fields");
    return CBK_OK;
}

/* Stream lines may carry "data" before "type", and a later "type" wins: a
   failure is held until the line ends, and only counts if the line turns
   out to be an item. */
static cbk_result cbk__item_failed(cbk_client *c, cbk_result r) {
    if (c->op == CBK__OP_STREAM) {
        if (!c->item.deferred) c->item.deferred = (int)r;
        cbk__clear_error(c); /* it may never count; if it does, it is told anew */
        return CBK_OK;
    }
    return r;
}

/* Room kept back for each field of a token not seen yet, so that one long
   name or description cannot crowd out the rest: the id is never cut, a
   timestamp or key that spans chunks is joined in the buffer. */
#define CBK__FIELD_RESERVE  64u
#define CBK__NUMBER_RESERVE 32u
#define CBK__KEY_RESERVE    16u

/* The reserves of id, name, description and meta (bits 1, 2, 4, 8) for
   each set of them missing: a table, as cbk__item_limit runs before every
   such value. */
#if CBK_ID_MAX > 65535 - 3 * 64
#error "CBK_ID_MAX is too large (the field reserves are 16-bit)"
#endif
#define CBK__RES4(m)                                                                               \
    (((m)&1u ? CBK_ID_MAX : 0u) +                                                                  \
     CBK__FIELD_RESERVE * ((((m) >> 1) & 1u) + (((m) >> 2) & 1u) + (((m) >> 3) & 1u)))
static const unsigned short cbk__text_reserve[16] = {
    CBK__RES4(0),  CBK__RES4(1),  CBK__RES4(2),  CBK__RES4(3), CBK__RES4(4),  CBK__RES4(5),
    CBK__RES4(6),  CBK__RES4(7),  CBK__RES4(8),  CBK__RES4(9), CBK__RES4(10), CBK__RES4(11),
    CBK__RES4(12), CBK__RES4(13), CBK__RES4(14), CBK__RES4(15)};
#undef CBK__RES4

/* Before an id, name, description or meta value: the work buffer it may
   fill, leaving the reserves of the token's fields not seen yet. */
static void cbk__item_limit(cbk_client *c, int field) {
    unsigned missing = ~c->item.seen & ~(unsigned)field;
    size_t reserve = CBK__KEY_RESERVE + cbk__text_reserve[missing & 15u] +
                     CBK__NUMBER_RESERVE * (((missing >> 4) & 1u) + ((missing >> 5) & 1u)),
           room = c->region_size - c->json.kept;
    c->json.buf_size = c->region_size - (reserve < room ? reserve : room);
}

/* The bit of a token field in cbk_token.nul / truncated. */
static unsigned cbk__field_bit(int field) {
    return field == CBK__F_ID     ? CBK_FIELD_ID
           : field == CBK__F_NAME ? CBK_FIELD_NAME
           : field == CBK__F_META ? CBK_FIELD_META
                                  : CBK_FIELD_DESCRIPTION;
}

/* Keeps the string t (whole, or already cut) with its length. */
static inline cbk_result cbk__item_keep(cbk_client *c, const cbk_json_token *t, unsigned bit,
                                        const char **out, size_t *len) {
    if (cbk__has_nul(c, t->text, t->len)) c->item.token.nul |= bit;
    if (cbk__json_keep(&c->json, t, out))
        return cbk__fail(c, CBK_ERR_BUFFER_TOO_SMALL,
                         "the work buffer cannot hold a token's fields");
    *len = t->len;
    return CBK_OK;
}

/* A name or description longer than its room: cut at a UTF-8 boundary,
   flagged. (The copy of the token is made only here, off the common path.) */
CBK__OUT_OF_LINE static cbk_result cbk__item_cut(cbk_client *c, const cbk_json_token *t,
                                                 unsigned bit, size_t room, const char **out,
                                                 size_t *len) {
    cbk_json_token cut;
    CBK_MEMCPY(&cut, t, sizeof cut); /* not `=`: that may call memcpy */
    cut.len = cbk__utf8_complete(t->text, t->len < room ? t->len : room ? room - 1 : 0);
    c->item.token.truncated |= bit;
    return cbk__item_keep(c, &cut, bit, out, len);
}

/* Keeps a token's string (id, name, description) with its length; a name
   or description that does not fit is cut at a UTF-8 boundary and
   flagged, an id that does not fit fails. */
static cbk_result cbk__item_string(cbk_client *c, const cbk_json_token *t, const char **out,
                                   size_t *len) {
    cbk__item *it = &c->item;
    unsigned bit = cbk__field_bit(it->field);
    size_t room = c->json.buf_size - c->json.kept;
    it->token.nul &= ~bit;
    it->token.truncated &= ~bit;
    if (t->truncated || t->len >= room) {
        if (bit == CBK_FIELD_ID)
            return cbk__fail(c, CBK_ERR_BUFFER_TOO_SMALL,
                             "a token's id does not fit the work buffer");
        return cbk__item_cut(c, t, bit, room, out, len);
    }
    return cbk__item_keep(c, t, bit, out, len);
}

/* meta: the raw object text, or left out and flagged when it did not fit. */
static cbk_result cbk__item_meta(cbk_client *c, const cbk_json_token *t) {
    cbk_token *tok = &c->item.token;
    tok->meta = NULL;
    tok->meta_len = 0;
    tok->truncated &= ~CBK_FIELD_META;
    if (t->type == CBK_JSON_RAW && t->truncated && t->text[0] == '{') {
        tok->truncated |= CBK_FIELD_META; /* an object too long to keep */
        return CBK_OK;
    }
    if (t->type == CBK_JSON_RAW && t->text[0] == 'n') return CBK_OK;
    if (t->type != CBK_JSON_RAW || t->text[0] != '{')
        return cbk__fail(c, CBK_ERR_PARSE, "a token's meta is not an object");
    tok->meta_len = t->len;
    if (cbk__json_keep(&c->json, t, &tok->meta)) /* captured in place: it fits */
        return cbk__fail(c, CBK_ERR_BUFFER_TOO_SMALL,
                         "the work buffer cannot hold a token's fields");
    return CBK_OK;
}

/* A name or description: a string, or null. */
static cbk_result cbk__item_text(cbk_client *c, const cbk_json_token *t) {
    cbk_token *tok = &c->item.token;
    int name = c->item.field == CBK__F_NAME;
    const char **dst = name ? &tok->name : &tok->description;
    size_t *len = name ? &tok->name_len : &tok->description_len;
    if (t->type == CBK_JSON_NULL) {
        *dst = NULL;
        *len = 0;
        tok->nul &= ~cbk__field_bit(c->item.field);
        tok->truncated &= ~cbk__field_bit(c->item.field);
        return CBK_OK;
    }
    if (t->type != CBK_JSON_STRING)
        return cbk__fail(c, CBK_ERR_PARSE, "a token's name or description is not a string");
    return cbk__item_string(c, t, dst, len);
}

/* createdAt, updatedAt */
static cbk_result cbk__item_time(cbk_client *c, const cbk_json_token *t) {
    int64_t *dst =
        c->item.field == CBK__F_CREATED ? &c->item.token.created_at : &c->item.token.updated_at;
    if (t->type != CBK_JSON_NUMBER)
        return cbk__fail(c, CBK_ERR_PARSE, "a token's createdAt or updatedAt is not a number");
    if (c->json.num_ok)
        *dst = c->json.num; /* the tokenizer already has the value */
    else if (cbk_json_int64(t->text, t->len, dst))
        return cbk__fail(c, CBK_ERR_PARSE, "a token's timestamp does not fit in int64");
    return CBK_OK;
}

/* A text cut by CBK_JSON_TRUNCATE to fewer than n bytes: it may have been
   any text of n bytes or more, so a compare with one of n bytes is
   undecided. A text cut at n bytes or more is longer than n: not it. */
static int cbk__cut_below(const cbk_json_token *t, size_t n) {
    return t->truncated && t->len < n;
}

/* A key cut so short that it may have been one the decoder knows
   ("description" is the longest): the buffer is too small. A longer cut
   key is one it does not know, and is skipped. */
static int cbk__key_cut(const cbk_json_token *t) {
    return cbk__cut_below(t, 11);
}

static int cbk__item_is_text(int field) {
    return field == CBK__F_ID || field == CBK__F_NAME || field == CBK__F_DESCRIPTION ||
           field == CBK__F_META;
}

/* A token of a list item or stream line's data, the item object being at
   depth d. */
static cbk_result cbk__item_event(cbk_client *c, const cbk_json_token *t, unsigned d) {
    cbk__item *it = &c->item;
    cbk_result r = CBK_OK;
    if (t->depth != d + 1) return CBK_OK; /* inside a skipped value */
    if (t->type == CBK_JSON_KEY) {
        if (cbk__key_cut(t))
            return cbk__item_failed(
                c, cbk__fail(c, CBK_ERR_BUFFER_TOO_SMALL, "the work buffer cannot hold a key"));
        it->field = t->truncated ? 0 : cbk__item_field(t->text, t->len);
        if (cbk__item_is_text(it->field)) cbk__item_limit(c, it->field);
        if (it->field == CBK__F_META)
            cbk_json_capture(&c->json);
        else if (!it->field)
            cbk_json_skip(&c->json);
        return CBK_OK;
    }
    switch (it->field) {
    case CBK__F_ID:
        if (t->type != CBK_JSON_STRING)
            r = cbk__fail(c, CBK_ERR_PARSE, "a token's id is not a string");
        else
            r = cbk__item_string(c, t, &it->token.id, &it->token.id_len);
        break;
    case CBK__F_NAME:
    case CBK__F_DESCRIPTION: r = cbk__item_text(c, t); break;
    case CBK__F_META: r = cbk__item_meta(c, t); break;
    case CBK__F_CREATED:
    case CBK__F_UPDATED: r = cbk__item_time(c, t); break;
    default: return CBK_OK;
    }
    c->json.buf_size = c->region_size; /* the value is read: its limit ends */
    if (t->type == CBK_JSON_OBJECT_BEGIN || t->type == CBK_JSON_ARRAY_BEGIN)
        cbk_json_skip(&c->json); /* already failed; keep the depth in step */
    if (r) return cbk__item_failed(c, r);
    it->seen |= (unsigned)it->field;
    return CBK_OK;
}

static void cbk__item_begin(cbk_client *c) {
    CBK_MEMSET(&c->item.token, 0, sizeof c->item.token);
    c->item.seen = 0;
    c->item.field = 0;
}

static cbk_result cbk__item_complete(cbk_client *c) {
    const unsigned need = CBK__F_ID | CBK__F_CREATED | CBK__F_UPDATED;
    if ((c->item.seen & need) != need)
        return cbk__item_failed(
            c, cbk__fail(c, CBK_ERR_PARSE, "a token lacks id, createdAt or updatedAt"));
    return CBK_OK;
}

static cbk_result cbk__deliver(cbk_client *c) {
    c->delivered = 1;
    c->page_items++;
    if (c->on_token && c->on_token(c->user, &c->item.token))
        return cbk__fail(c, CBK_ERR_CANCELLED, "the token callback stopped the operation");
    return CBK_OK;
}

/* The top level must be an object; returns nonzero if t settles that it is
   not. */
static cbk_result cbk__top_object(cbk_client *c, const cbk_json_token *t) {
    if (t->depth == 0 && t->type != CBK_JSON_OBJECT_BEGIN && t->type != CBK_JSON_OBJECT_END)
        return cbk__fail(c, CBK_ERR_PARSE, "the response is not a JSON object");
    return CBK_OK;
}

/* An item's own brackets in "items" (depth 2). */
static cbk_result cbk__list_item_edge(cbk_client *c, const cbk_json_token *t) {
    cbk_result r;
    if (t->type == CBK_JSON_OBJECT_BEGIN) {
        cbk__item_begin(c);
        c->mark = cbk_json_mark(&c->json);
        return CBK_OK;
    }
    if (t->type != CBK_JSON_OBJECT_END)
        return cbk__fail(c, CBK_ERR_PARSE, "an item of \"items\" is not an object");
    r = cbk__item_complete(c);
    if (!r) r = cbk__deliver(c);
    cbk_json_release(&c->json, c->mark);
    return r;
}

/* The value of "cursor": null on the last page, else the next page's. */
static cbk_result cbk__list_cursor(cbk_client *c, const cbk_json_token *t) {
    if (t->type == CBK_JSON_NULL) {
        c->got_cursor = NULL;
        return CBK_OK;
    }
    if (t->type != CBK_JSON_STRING)
        return cbk__fail(c, CBK_ERR_PARSE, "\"cursor\" is not a string");
    if (t->truncated)
        return cbk__fail(c, CBK_ERR_BUFFER_TOO_SMALL, "the cursor does not fit the work buffer");
    if (c->out && t->len >= c->out_size)
        return cbk__fail_n(c, CBK_ERR_BUFFER_TOO_SMALL,
                           "the cursor does not fit; bytes needed: ", t->len + 1);
    return cbk__keep_string(c, t, &c->got_cursor);
}

/* The brackets of "items": inside them, depth 3 and deeper is an item's. */
static cbk_result cbk__list_items(cbk_client *c, const cbk_json_token *t) {
    if (t->type == CBK_JSON_ARRAY_BEGIN) {
        c->flags |= CBK__F_ITEMS | CBK__F_IN_ITEMS;
        return CBK_OK;
    }
    if (t->type == CBK_JSON_ARRAY_END) {
        c->flags &= ~(uint32_t)CBK__F_IN_ITEMS;
        return CBK_OK;
    }
    return cbk__fail(c, CBK_ERR_PARSE, "\"items\" is not an array");
}

/* A key or value of the top object (depth 1). */
static cbk_result cbk__list_field(cbk_client *c, const cbk_json_token *t) {
    if (t->type == CBK_JSON_KEY) {
        if (cbk__key_cut(t))
            return cbk__fail(c, CBK_ERR_BUFFER_TOO_SMALL, "the work buffer cannot hold a key");
        c->field = t->truncated                            ? 0
                   : cbk__streq(t->text, t->len, "items")  ? CBK__F_ITEMS
                   : cbk__streq(t->text, t->len, "cursor") ? CBK__F_CURSOR
                                                           : 0;
        if (!c->field) cbk_json_skip(&c->json);
        return CBK_OK;
    }
    if (c->field == CBK__F_ITEMS) return cbk__list_items(c, t);
    if (c->field == CBK__F_CURSOR) return cbk__list_cursor(c, t);
    return CBK_OK;
}

/* {"items":[{...},...],"cursor":"..."}: an item's fields (the most
   frequent tokens) first, then by depth. */
static cbk_result cbk__list_event(cbk_client *c, const cbk_json_token *t) {
    cbk_result r;
    if (t->depth >= 3) return (c->flags & CBK__F_IN_ITEMS) ? cbk__item_event(c, t, 2) : CBK_OK;
    r = cbk__top_object(c, t);
    if (r) return r;
    if (t->depth == 2) return cbk__list_item_edge(c, t);
    if (t->depth == 1) return cbk__list_field(c, t);
    if (t->type == CBK_JSON_OBJECT_END && !(c->flags & CBK__F_ITEMS))
        return cbk__fail(c, CBK_ERR_PARSE, "the response has no \"items\" array");
    return CBK_OK;
}

/* A stream line's item is delivered once the line proves to be one whole
   JSON value: at its newline, or at the end of the body. A line with trailing bytes ("{...} x", two
   values, values parted by a bare CR) fails before that, and hands over nothing, as the SDK's
   JSON.parse of the line throws before it yields. */
static cbk_result cbk__stream_flush(cbk_client *c) {
    cbk_result r;
    if (!c->item.pending) return CBK_OK;
    c->item.pending = 0;
    r = cbk__deliver(c);
    cbk_json_release(&c->json, c->mark);
    return r;
}

/* A line's closing brace: an item waits for the line to prove whole. */
static cbk_result cbk__stream_line_end(cbk_client *c) {
    cbk__item *it = &c->item;
    if (it->type_state == 3)
        return cbk__fail(c, CBK_ERR_BUFFER_TOO_SMALL, "the work buffer cannot hold a line's type");
    if (it->type_state != 1) {
        cbk_json_release(&c->json, c->mark); /* no "type", or not "item": skipped */
        return CBK_OK;
    }
    if (!(c->flags & CBK__F_DATA))
        return cbk__fail(c, CBK_ERR_PARSE, "an item line has no \"data\" object");
    if (it->deferred)
        return cbk__fail(c, (cbk_result)it->deferred,
                         it->deferred == CBK_ERR_BUFFER_TOO_SMALL
                             ? "the work buffer cannot hold an item's fields"
                             : "an item line's \"data\" is not a valid token");
    it->pending = 1;
    return CBK_OK;
}

/* A token at a stream line's top: the line's start or end. A line that is
   not an object has no type and is skipped, as the SDK's users skip it. */
static cbk_result cbk__stream_top(cbk_client *c, const cbk_json_token *t) {
    cbk__item *it = &c->item;
    if (t->type == CBK_JSON_OBJECT_END) return cbk__stream_line_end(c);
    if (t->type == CBK_JSON_ARRAY_END) return CBK_OK; /* a skipped array line */
    if (t->type == CBK_JSON_ARRAY_BEGIN) cbk_json_skip(&c->json);
    if (t->type != CBK_JSON_OBJECT_BEGIN) return CBK_OK;
    c->flags = 0;
    it->type_state = 0;
    it->deferred = 0;
    cbk__item_begin(c);
    c->mark = cbk_json_mark(&c->json);
    return CBK_OK;
}

/* A line's key (depth 1): "type" and "data" are read, the rest skipped,
   and so is a "data" after a "type" that is not "item". */
static cbk_result cbk__stream_key(cbk_client *c, const cbk_json_token *t) {
    if (cbk__key_cut(t))
        return cbk__fail(c, CBK_ERR_BUFFER_TOO_SMALL, "the work buffer cannot hold a key");
    c->field = t->truncated || t->len != 4     ? 0
               : cbk__same(t->text, "type", 4) ? CBK__F_TYPE
               : cbk__same(t->text, "data", 4) ? CBK__F_DATA
                                               : 0;
    if (!c->field || (c->field == CBK__F_DATA && c->item.type_state == 2)) cbk_json_skip(&c->json);
    return CBK_OK;
}

/* The value of "type". The last "type" wins; one that is not a string is
   not "item"; one cut shorter than "item" by a small buffer may be it
   (it fails at the line's end unless a later "type" settles it). */
static cbk_result cbk__stream_type(cbk_client *c, const cbk_json_token *t) {
    c->flags |= CBK__F_TYPE;
    c->item.type_state = t->type != CBK_JSON_STRING      ? 2
                         : cbk__cut_below(t, 4)          ? 3
                         : t->truncated || t->len != 4   ? 2
                         : cbk__same(t->text, "item", 4) ? 1
                                                         : 2;
    if (t->type == CBK_JSON_OBJECT_BEGIN || t->type == CBK_JSON_ARRAY_BEGIN)
        cbk_json_skip(&c->json);
    return CBK_OK;
}

/* The brackets of "data" (its fields go to cbk__item_event). */
static cbk_result cbk__stream_data(cbk_client *c, const cbk_json_token *t) {
    if (t->type == CBK_JSON_OBJECT_BEGIN) {
        /* a repeated "data": the last one wins, as in JSON.parse */
        cbk_json_release(&c->json, c->mark);
        cbk__item_begin(c);
        c->item.deferred = 0;
        c->flags |= CBK__F_IN_DATA;
        return CBK_OK;
    }
    if (t->type == CBK_JSON_OBJECT_END) {
        c->flags &= ~(uint32_t)CBK__F_IN_DATA;
        c->flags |= CBK__F_DATA;
        return cbk__item_complete(c);
    }
    if (t->type == CBK_JSON_ARRAY_BEGIN) cbk_json_skip(&c->json);
    return cbk__item_failed(c, cbk__fail(c, CBK_ERR_PARSE, "\"data\" is not an object"));
}

/* One JSON line: {"type":"item","data":{...}} */
static cbk_result cbk__stream_event(cbk_client *c, const cbk_json_token *t) {
    if (t->depth >= 2) return (c->flags & CBK__F_IN_DATA) ? cbk__item_event(c, t, 1) : CBK_OK;
    if (t->depth == 0) return cbk__stream_top(c, t);
    if (t->type == CBK_JSON_KEY) return cbk__stream_key(c, t);
    if (c->field == CBK__F_TYPE) return cbk__stream_type(c, t);
    if (c->field == CBK__F_DATA) return cbk__stream_data(c, t);
    return CBK_OK;
}

/* Copies a string value into a fixed output field. */
static cbk_result cbk__copy_out(cbk_client *c, const cbk_json_token *t, char *dst, size_t size,
                                const char *what) {
    if (t->type != CBK_JSON_STRING) return cbk__fail_text(c, CBK_ERR_PARSE, what);
    if (cbk__has_nul(c, t->text, t->len))
        return cbk__fail(c, CBK_ERR_PARSE, "a string value holds \\u0000");
    if (t->len >= size)
        return cbk__fail_n(c, CBK_ERR_BUFFER_TOO_SMALL,
                           "an output buffer is too small; bytes needed: ", t->len + 1);
    CBK_MEMCPY(dst, t->text, t->len);
    dst[t->len] = 0;
    return CBK_OK;
}

/* The end of the top object: were the fields there? */
static cbk_result cbk__object_end(cbk_client *c, const cbk_json_token *t) {
    unsigned need = c->created ? CBK__F_ID | CBK__F_TOKEN | CBK__F_CREATED : CBK__F_ID;
    if (t->type == CBK_JSON_OBJECT_END && (c->flags & need) != need)
        return cbk__fail(c, CBK_ERR_PARSE,
                         c->created ? "the response lacks id, token or createdAt"
                                    : "the response has no id");
    return CBK_OK;
}

/* "id": into the created token, or kept for id_out (update, delete). */
static cbk_result cbk__object_id(cbk_client *c, const cbk_json_token *t) {
    if (c->created)
        return cbk__copy_out(c, t, c->created->id, sizeof c->created->id,
                             CBK__TEXT("id is not a string"));
    if (t->type != CBK_JSON_STRING) return cbk__fail(c, CBK_ERR_PARSE, "id is not a string");
    if (t->len >= CBK_ID_MAX)
        return cbk__fail_n(c, CBK_ERR_BUFFER_TOO_SMALL,
                           "the id does not fit CBK_ID_MAX; bytes needed: ", t->len + 1);
    return cbk__keep_string(c, t, &c->got_id);
}

/* A value of the top object, by the key before it. */
static cbk_result cbk__object_value(cbk_client *c, const cbk_json_token *t) {
    switch (c->field) {
    case CBK__F_ID: return cbk__object_id(c, t);
    case CBK__F_TOKEN:
        return cbk__copy_out(c, t, c->created->token, sizeof c->created->token,
                             CBK__TEXT("token is not a string"));
    case CBK__F_CREATED:
        if (t->type != CBK_JSON_NUMBER)
            return cbk__fail(c, CBK_ERR_PARSE, "createdAt is not a number");
        if (cbk_json_int64(t->text, t->len, &c->created->created_at))
            return cbk__fail(c, CBK_ERR_PARSE, "createdAt does not fit in int64");
        return CBK_OK;
    default: return CBK_OK;
    }
}

/* create: {"id","token","createdAt"}; update and delete: {"id"} */
static cbk_result cbk__object_event(cbk_client *c, const cbk_json_token *t) {
    cbk_result r = cbk__top_object(c, t);
    if (r) return r;
    if (t->depth == 0) return cbk__object_end(c, t);
    if (t->depth > 1) return CBK_OK;
    if (t->type == CBK_JSON_KEY) {
        c->field = cbk__streq(t->text, t->len, "id")                        ? CBK__F_ID
                   : c->created && cbk__streq(t->text, t->len, "token")     ? CBK__F_TOKEN
                   : c->created && cbk__streq(t->text, t->len, "createdAt") ? CBK__F_CREATED
                                                                            : 0;
        if (!c->field) cbk_json_skip(&c->json);
        return CBK_OK;
    }
    if (t->type == CBK_JSON_OBJECT_BEGIN || t->type == CBK_JSON_ARRAY_BEGIN)
        cbk_json_skip(&c->json);
    r = cbk__object_value(c, t);
    if (!r) c->flags |= (uint32_t)c->field;
    return r;
}

/* ---------------------------------------------------------------------------
 * Error bodies: cbk_error from a non-2xx response, by the SDK's rules
 *
 * The rules, and where each is applied:
 *   - the body is read leniently, as diagnostics (cbk_response_status
 *     picks CBK__JSON_LENIENT and cbk__on_error_json);
 *   - message and code are its top-level fields, shown as String() shows
 *     them, the last duplicate winning (cbk__error_event and the cbk__err_*
 *     writers below);
 *   - a body that is not one JSON value, or is null, is a generic error
 *     (cbk__error_body_refused when the tokenizer refuses it;
 *     cbk__error_body_is_json at its end; cbk_client_abort when the
 *     transport failed after such a body);
 *   - a falsy message or code falls back to "HTTP Error: <reason>" and
 *     "ERROR_<status>", and the client's secret never shows
 *     (cbk__http_error, cbk__mask_error).
 * ------------------------------------------------------------------------- */

/* The error field being written: 0 message, 1 code. */
static char *cbk__err_field(cbk_client *c, int which, size_t *size) {
    *size = which ? sizeof c->error.code : sizeof c->error.message;
    return which ? c->error.code : c->error.message;
}

/* Appends server text to an error field in the form a C string can hold:
   U+0000 becomes U+2400 (SYMBOL FOR NULL, so the text is not cut short),
   invalid UTF-8 becomes U+FFFD as TextDecoder makes it. When the field is
   full the text is cut before the character that does not fit, and the
   cut is noted (the masking looks at a cut end). */
/* The end of the error field being written (its length in *len), or NULL
   once the field was cut: nothing more goes in. */
static CBK__IN_LINE char *cbk__err_end(cbk_client *c, int which, size_t *size, size_t *len) {
    char *f = cbk__err_field(c, which, size);
    if (c->err_cut & (1u << which)) return NULL;
    for (*len = 0; f[*len];) ++*len; /* no call: the writers below stay leaves */
    return f;
}

CBK__OUT_OF_LINE static void cbk__err_put(cbk_client *c, int which, const char *s, size_t n) {
    size_t size, len, i = 0;
    char *f = cbk__err_end(c, which, &size, &len);
    if (!f) return;
    while (i < n) {
        int ok;
        size_t k = cbk__utf8_scan((const unsigned char *)s + i, n - i, &ok), m = k;
        const char *out = s + i;
        if (!s[i])
            out = "\xE2\x90\x80", m = 3;
        else if (!ok)
            out = "\xEF\xBF\xBD", m = 3;
        if (len + m >= size) {
            c->err_cut |= (unsigned char)(1u << which);
            break;
        }
        CBK_MEMCPY(f + len, out, m);
        len += m;
        i += k;
    }
    f[len] = 0;
}

/* Appends text the library writes itself (digits, signs, words: ASCII),
   cut as cbk__err_put cuts, one byte being one character. No UTF-8 scan:
   the number path stays shallow on the stack. */
static void cbk__err_ascii(cbk_client *c, int which, const char *s, size_t n) {
    size_t size, len;
    char *f = cbk__err_end(c, which, &size, &len);
    if (!f) return;
    if (len + n >= size) {
        c->err_cut |= (unsigned char)(1u << which);
        n = size - 1 - len;
    }
    CBK_MEMCPY(f + len, s, n);
    f[len + n] = 0;
}

/* Digits D[from..to) of x, then `zeros` zeros, cut as cbk__err_ascii
   cuts; written in place (a leaf: the number path is the deepest of the
   error body's). */
static void cbk__err_digits(cbk_client *c, int which, const cbk__num *x, size_t from, size_t to,
                            long zeros) {
    size_t size, len;
    char *f = cbk__err_end(c, which, &size, &len);
    if (!f) return;
    for (; (from < to || zeros > 0) && len + 1 < size; len++) {
        if (from < to)
            f[len] = cbk__num_digit(x, from++);
        else
            f[len] = '0', zeros--;
    }
    if (from < to || zeros > 0) c->err_cut |= (unsigned char)(1u << which);
    f[len] = 0;
}

/* "e+N" / "e-N" for an exponent of at most 325 (a number that is neither
   zero nor Infinity as a double), without a division. */
static void cbk__err_exponent(cbk_client *c, int which, long e) {
    char s[5];
    unsigned v = (unsigned)(e < 0 ? -e : e), hundreds = 0, tens = 0;
    size_t m = 2;
    s[0] = 'e';
    s[1] = e < 0 ? '-' : '+';
    while (v >= 100) v -= 100, hundreds++;
    while (v >= 10) v -= 10, tens++;
    if (hundreds) s[m++] = (char)('0' + hundreds);
    if (hundreds || tens) s[m++] = (char)('0' + tens);
    s[m++] = (char)('0' + v);
    cbk__err_ascii(c, which, s, m);
}

/* A number as JavaScript's Number.prototype.toString writes it (ECMA-262
   Number::toString): exact when it has at most 15 significant digits and
   lies inside the normal double range, as then the double's shortest form
   is those digits. Otherwise its own digits are laid out the same way
   (JavaScript would first round it to a double: see DIFFERENCES). */
CBK__OUT_OF_LINE static void cbk__err_number(cbk_client *c, int which, const char *s, size_t len) {
    cbk__num x;
    long n;
    size_t k;
    cbk__num_parse(s, len, &x);
    n = x.point;
    k = x.k;
    if (cbk__num_zero(&x)) {
        cbk__err_ascii(c, which, "0", 1); /* String(-0) is "0" too */
        return;
    }
    if (x.neg) cbk__err_ascii(c, which, "-", 1);
    if (n >= 310) {
        cbk__err_ascii(c, which, "Infinity", 8);
    } else if ((long)k <= n && n <= 21) {
        cbk__err_digits(c, which, &x, 0, k, n - (long)k);
    } else if (n > 0 && n <= 21) {
        cbk__err_digits(c, which, &x, 0, (size_t)n, 0);
        cbk__err_ascii(c, which, ".", 1);
        cbk__err_digits(c, which, &x, (size_t)n, k, 0);
    } else if (n > -6 && n <= 0) {
        cbk__err_ascii(c, which, "0.", 2);
        for (; n < 0; n++) cbk__err_ascii(c, which, "0", 1);
        cbk__err_digits(c, which, &x, 0, k, 0);
    } else {
        cbk__err_digits(c, which, &x, 0, 1, 0);
        if (k > 1) cbk__err_ascii(c, which, ".", 1);
        cbk__err_digits(c, which, &x, 1, k, 0);
        cbk__err_exponent(c, which, n - 1);
    }
}

/* Is a value of message or code truthy in JavaScript? The SDK takes
   `data.message || fallback`. */
CBK__OUT_OF_LINE static int cbk__err_truthy(const cbk_json_token *t) {
    cbk__num x;
    switch (t->type) {
    case CBK_JSON_STRING: return t->len != 0;
    case CBK_JSON_NUMBER: cbk__num_parse(t->text, t->len, &x); return !cbk__num_zero(&x);
    case CBK_JSON_TRUE:
    case CBK_JSON_OBJECT_BEGIN:
    case CBK_JSON_ARRAY_BEGIN: return 1;
    default: return 0;
    }
}

/* One value as String() writes it: an object as "[object Object]", null
   as "" (inside an array), an array's elements joined with ','. */
static void cbk__err_value(cbk_client *c, int which, const cbk_json_token *t) {
    switch (t->type) {
    case CBK_JSON_STRING:
        cbk__err_put(c, which, t->text, t->len);
        if (t->truncated) c->err_cut |= (unsigned char)(1u << which);
        break;
    case CBK_JSON_NUMBER: cbk__err_number(c, which, t->text, t->len); break;
    case CBK_JSON_TRUE: cbk__err_ascii(c, which, "true", 4); break;
    case CBK_JSON_FALSE: cbk__err_ascii(c, which, "false", 5); break;
    case CBK_JSON_OBJECT_BEGIN:
        cbk__err_ascii(c, which, "[object Object]", 15);
        cbk_json_skip(&c->json);
        break;
    case CBK_JSON_ARRAY_BEGIN: c->err_first = 1; break;
    default: break;
    }
}

/* A token inside an array value of message or code: nested arrays are
   flattened, as Array.prototype.join does through String(). One bit is
   enough to place the commas: an element that is not its array's first
   gets one, and the end of an inner array is an element just ended. */
static cbk_result cbk__err_element(cbk_client *c, int which, const cbk_json_token *t) {
    if (t->type == CBK_JSON_OBJECT_END) return CBK_OK;
    if (t->type == CBK_JSON_ARRAY_END) {
        c->err_first = 0;
        if (t->depth == 1) c->err_arr = 0;
        return CBK_OK;
    }
    if (!c->err_first) cbk__err_ascii(c, which, ",", 1);
    c->err_first = 0;
    cbk__err_value(c, which, t);
    return CBK_OK;
}

/* Whether piece s[0..n) equals the secret's bytes from `at` on. */
static int cbk__secret_piece(const cbk_client *c, const char *s, size_t n, size_t at) {
    return at + n <= c->secret_len && cbk__same(s, c->secret + at, n);
}

/* Marks in hide the bytes of field f[0..n) that belong to the secret:
   each run of at least CBK__MASK_MIN bytes of the secret's text wherever
   it stands (a whole occurrence, or a piece cut off by a field's edge, an
   array element or a U+0000), the whole secret if it is shorter, and, at
   the end of a field that was cut, a start of the secret of any length. */
#define CBK__MASK_MIN 8
/* Notes bytes [from, from + n) of a field as to be hidden: one bit per
   byte, so the marks of both fields take 40 bytes of stack, not 320. */
static void cbk__mask_mark(unsigned char *hide, size_t from, size_t n) {
    for (; n; n--, from++) hide[from >> 3] = (unsigned char)(hide[from >> 3] | (1u << (from & 7)));
}

/* Replaces the marked bytes of a field with '*'. */
static void cbk__mask_apply(char *f, size_t n, const unsigned char *hide) {
    size_t i;
    for (i = 0; i < n; i++)
        if ((hide[i >> 3] >> (i & 7)) & 1) f[i] = '*';
}

static void cbk__mask_scan(const cbk_client *c, const char *f, size_t n, unsigned char *hide,
                           int cut) {
    size_t k = c->secret_len, i, at, l;
    for (i = 0; i < n; i++)
        for (at = 0; at < k; at++) {
            for (l = 0; i + l < n && at + l < k && f[i + l] == c->secret[at + l]; l++) {
            }
            if (l && (l >= CBK__MASK_MIN || l == k || (cut && !at && i + l == n)))
                cbk__mask_mark(hide, i, l);
        }
}

/* Marks a secret split across two fields: the start at the end of a, the
   rest at the start of b (pieces of any length). */
static void cbk__mask_join(const cbk_client *c, const char *a, size_t an, unsigned char *ha,
                           const char *b, size_t bn, unsigned char *hb) {
    size_t p, k = c->secret_len;
    for (p = 1; p < k; p++)
        if (p <= an && k - p <= bn && cbk__secret_piece(c, a + an - p, p, 0) &&
            cbk__secret_piece(c, b, k - p, p)) {
            cbk__mask_mark(ha, an - p, p);
            cbk__mask_mark(hb, 0, k - p);
        }
}

/* The secret never reaches an error field, even when a server echoes it,
   whole or in pieces cut by a field's end or split between message and
   code (in either order). Run once, on the finished fields; only the
   server's text needs it (the library's own messages never hold the
   secret). */
static void cbk__mask_error(cbk_client *c) {
    unsigned char hm[(sizeof c->error.message + 7) / 8], hc[(sizeof c->error.code + 7) / 8];
    char *m = c->error.message, *d = c->error.code;
    size_t ml = CBK_STRLEN(m), dl = CBK_STRLEN(d);
    if (!c->secret_len) return;
    CBK_MEMSET(hm, 0, sizeof hm);
    CBK_MEMSET(hc, 0, sizeof hc);
    cbk__mask_scan(c, m, ml, hm, c->err_cut & 1);
    cbk__mask_scan(c, d, dl, hc, (c->err_cut & 2) != 0);
    cbk__mask_join(c, m, ml, hm, d, dl, hc);
    cbk__mask_join(c, d, dl, hc, m, ml, hm);
    cbk__mask_apply(m, ml, hm);
    cbk__mask_apply(d, dl, hc);
}

static cbk_result cbk__err_key(cbk_client *c, const cbk_json_token *t) {
    /* a key cut by a small buffer is longer than it shows: not one of these */
    c->field = t->truncated                             ? 0
               : cbk__streq(t->text, t->len, "message") ? CBK__F_MESSAGE
               : cbk__streq(t->text, t->len, "code")    ? CBK__F_CODE
                                                        : 0;
    if (!c->field) cbk_json_skip(&c->json);
    return CBK_OK;
}

/* An error body: {"message","code"} at the top level. */
static cbk_result cbk__error_event(cbk_client *c, const cbk_json_token *t) {
    int which = c->field == CBK__F_CODE;
    size_t size;
    if (t->depth == 0) {
        if (t->type == CBK_JSON_NULL)
            c->flags |= CBK__F_NULL;
        else if (t->type != CBK_JSON_OBJECT_BEGIN && t->type != CBK_JSON_OBJECT_END)
            c->flags |= CBK__F_NOT_OBJECT;
        return CBK_OK;
    }
    if (c->err_arr) return cbk__err_element(c, which, t);
    if (t->depth > 1) return CBK_OK;
    if (t->type == CBK_JSON_KEY) return cbk__err_key(c, t);
    if (t->type == CBK_JSON_OBJECT_END || t->type == CBK_JSON_ARRAY_END) return CBK_OK;
    if (c->field != CBK__F_MESSAGE && c->field != CBK__F_CODE) {
        cbk_json_skip(&c->json);
        return CBK_OK;
    }
    /* the last duplicate wins, as in JSON.parse */
    cbk__err_field(c, which, &size)[0] = 0;
    c->err_cut &= (unsigned char)~(1u << which);
    c->err_set &= (unsigned char)~(1u << which);
    if (!cbk__err_truthy(t)) return CBK_OK;
    c->err_set |= (unsigned char)(1u << which);
    if (t->type == CBK_JSON_ARRAY_BEGIN) c->err_arr = 1;
    cbk__err_value(c, which, t);
    return CBK_OK;
}

/* The tokenizer's callbacks: one per kind of body, chosen when the status
   is known. (When one returns nonzero the tokenizer notes it in its
   `stopped`: a decoder failed, and cbk_error already says why.) */
static int cbk__on_error_json(void *user, cbk_json *j, const cbk_json_token *t) {
    (void)j;
    return (int)cbk__error_event((cbk_client *)user, t);
}

static int cbk__on_list_json(void *user, cbk_json *j, const cbk_json_token *t) {
    (void)j;
    return (int)cbk__list_event((cbk_client *)user, t);
}

static int cbk__on_stream_json(void *user, cbk_json *j, const cbk_json_token *t) {
    (void)j;
    return (int)cbk__stream_event((cbk_client *)user, t);
}

static int cbk__on_object_json(void *user, cbk_json *j, const cbk_json_token *t) {
    (void)j;
    return (int)cbk__object_event((cbk_client *)user, t);
}

/* The lenient tokenizer refused the error body: it is not JSON (the SDK's
   JSON.parse threw), a generic error when the exchange ends. */
static int cbk__error_body_refused(cbk_client *c) {
    c->flags |= CBK__F_NOT_OBJECT | CBK__F_NULL;
    c->json.result = (uint8_t)CBK_ERR_PARSE;
    return 1;
}

/* Was the error body one JSON value, other than null? Kept apart from
   cbk__http_error so the tokenizer's frames are not stacked on its own. */
static int cbk__error_body_is_json(cbk_client *c) {
    cbk__bom_flush(c);
    return !c->json.result && !cbk_json_finish(&c->json) && !(c->flags & CBK__F_NULL);
}

/* Fills cbk_error from an error body by the SDK's rules. */
static cbk_result cbk__http_error(cbk_client *c, int json) {
    cbk__sb b;
    c->error.http_status = c->status;
    if (!json) {
#ifdef CBK_TOKEN_NO_MESSAGES
        const char *msg = "";
#else
        const char *msg = c->status == 413
                              ? "Client request is too large to be processed by the web server."
                              : "There was a generic error";
#endif
        const char *code = c->status == 413 ? "CONTENT_TOO_LARGE" : "GENERIC_ERROR";
        cbk__copy_cut(c->error.message, sizeof c->error.message, msg);
        cbk__copy_cut(c->error.code, sizeof c->error.code, code);
        return CBK_ERR_HTTP;
    }
    cbk__mask_error(c);
#ifndef CBK_TOKEN_NO_MESSAGES
    if (!(c->err_set & 1)) {
        const char *reason = cbk__reason(c->status);
        cbk__sb_over(&b, c->error.message, sizeof c->error.message, 0);
        cbk__sb_str(&b, "HTTP Error: ");
        if (reason)
            cbk__sb_str(&b, reason);
        else
            cbk__sb_u64(&b, (uint64_t)c->status);
        cbk__sb_close(&b);
    }
#endif
    if (!(c->err_set & 2)) {
        cbk__sb_over(&b, c->error.code, sizeof c->error.code, 0);
        cbk__sb_str(&b, "ERROR_");
        cbk__sb_u64(&b, (uint64_t)c->status);
        cbk__sb_close(&b);
    }
    return CBK_ERR_HTTP;
}

/* cbk_fetch with stream = 1: one line per callback, each one JSON value
   as the SDK's JSON.parse of the line wants it (a byte order mark may open
   the body); a line that is not is handed nothing and fails the stream. */
static cbk_result cbk__line(cbk_client *c, const char *s, size_t n) {
    if (!c->bom) {
        c->bom = 3;
        if (n >= 3 && cbk__same(s, cbk__bom, 3)) s += 3, n -= 3;
    }
    while (n && (s[n - 1] == '\r')) n--;
    {
        size_t i = 0;
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) i++;
        if (i == n) return CBK_OK; /* blank */
    }
    if (cbk_json_validate(s, n))
        return cbk__fail_n(c, CBK_ERR_PARSE, "a stream line is not one JSON value; its bytes: ", n);
    c->delivered = 1;
    if (c->on_body && c->on_body(c->user, s, n))
        return cbk__fail(c, CBK_ERR_CANCELLED, "the body callback stopped the operation");
    return CBK_OK;
}

/* Appends p[0..n) to the line kept in the region (a line that spans
   chunks); the region's bytes count toward the tokenizer's watermark. */
static cbk_result cbk__line_keep(cbk_client *c, const char *p, size_t n) {
    if (c->region_size - c->line_len < n)
        return cbk__fail(c, CBK_ERR_BUFFER_TOO_SMALL,
                         "a stream line is longer than the work buffer");
    CBK_MEMCPY(c->region + c->line_len, p, n);
    c->line_len += n;
    cbk__json_wrote(&c->json, c->line_len);
    return CBK_OK;
}

static cbk_result cbk__lines(cbk_client *c, const char *data, size_t len) {
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = p;
        cbk_result r;
        while (nl < end && *nl != '\n') nl++;
        if (nl == end) return cbk__line_keep(c, p, (size_t)(end - p)); /* for the next chunk */
        if (c->line_len) {
            r = cbk__line_keep(c, p, (size_t)(nl - p));
            if (r) return r;
            r = cbk__line(c, c->region, c->line_len);
            c->line_len = 0;
        } else {
            r = cbk__line(c, p, (size_t)(nl - p)); /* whole in the chunk: no copy */
        }
        if (r) return r;
        p = nl + 1;
    }
    return CBK_OK;
}

/* ---------------------------------------------------------------------------
 * The deadline (opts.timeout_ms)
 * ------------------------------------------------------------------------- */

/* Starts opts.timeout_ms for a blocking operation (when there is a clock). */
static void cbk__deadline_start(cbk_client *c) {
    c->has_deadline = c->opts.timeout_ms && c->opts.now_ms;
    if (c->has_deadline) c->deadline = c->opts.now_ms(c->opts.sleep_ctx) + c->opts.timeout_ms;
}

/* Milliseconds left before the deadline (0 also when none runs: see
   has_deadline); at least 1 while it has not passed. */
static unsigned cbk__time_left(const cbk_client *c) {
    uint64_t now;
    if (!c->has_deadline) return 0;
    now = c->opts.now_ms(c->opts.sleep_ctx);
    if (now >= c->deadline) return 0;
    return c->deadline - now > 0xFFFFFFFFu ? 0xFFFFFFFFu : (unsigned)(c->deadline - now);
}

/* The receiver stops a response still arriving when the deadline passed. */
static int cbk__deadline_passed(cbk_client *c) {
    if (!c->has_deadline || cbk__time_left(c)) return 0;
    c->result = cbk__fail(c, CBK_ERR_TRANSPORT, "the operation's deadline (timeout_ms) passed");
    return 1;
}

/* ---------------------------------------------------------------------------
 * The receiver
 * ------------------------------------------------------------------------- */

CBKDEF int cbk_response_status(cbk_response *r, int http_status) {
    cbk_client *c = r ? r->client : NULL;
    unsigned flags = 0;
    if (!c || c->result) return 1;
    if (!c->op) {
        c->result = cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "no operation is prepared");
        return 1;
    }
    if (http_status < 100 || http_status > 999) {
        c->result = cbk__fail_n(c, CBK_ERR_TRANSPORT, "the transport gave an invalid status: ",
                                (uint64_t)(http_status < 0 ? 0 : http_status));
        return 1;
    }
    if (c->status) {
        /* decoding has begun for the first: a second would restart it */
        c->result = cbk__fail(c, CBK_ERR_TRANSPORT, "the transport gave a second status");
        return 1;
    }
    c->status = http_status;
    c->last_status = http_status;
    c->flags = 0;
    c->err_set = c->err_cut = c->err_arr = c->err_first = 0;
    c->field = 0;
    c->line_len = 0;
    c->bom = 0;
    c->has_retry_after = 0;
    if (!cbk__is_2xx(http_status))
        flags = CBK_JSON_TRUNCATE | CBK__JSON_LENIENT;
    else if (c->op == CBK__OP_STREAM)
        flags = CBK_JSON_LINES | CBK_JSON_TRUNCATE; /* long token fields are cut */
    else if (c->op == CBK__OP_LIST)
        flags = CBK_JSON_TRUNCATE;
    cbk__json_init(&c->json, c->region, c->region_size, flags,
                   cbk__is_2xx(http_status) ? c->kind->on_json : cbk__on_error_json, c);
    return 0;
}

CBKDEF int cbk_response_header(cbk_response *r, const char *name, size_t name_len,
                               const char *value, size_t value_len) {
    cbk_client *c = r ? r->client : NULL;
    if (!c || c->result) return 1;
    if (name && value && cbk__strieq(name, name_len, "retry-after")) {
        /* delta-seconds only; an HTTP-date is ignored (the doubling applies) */
        uint64_t secs = 0;
        size_t i = 0, digits = 0;
        while (i < value_len && (value[i] == ' ' || value[i] == '\t')) i++;
        while (i < value_len && value[i] >= '0' && value[i] <= '9') {
            if (secs < 1000000) secs = secs * 10 + (uint64_t)(value[i] - '0');
            i++;
            digits++;
        }
        while (i < value_len && (value[i] == ' ' || value[i] == '\t')) i++;
        if (digits && i == value_len) {
            secs *= 1000;
            c->retry_after_ms =
                secs > CBK_RETRY_AFTER_MAX_MS ? CBK_RETRY_AFTER_MAX_MS : (unsigned)secs;
            c->has_retry_after = 1;
        }
    }
    return 0;
}

/* A stream body is fed up to each newline at a time, so that an item is
   handed over as soon as its line's newline arrives, before whatever
   follows it is read. */
static cbk_result cbk__feed_lines(cbk_client *c, const char *data, size_t len) {
    while (len) {
        size_t n = 0;
        cbk_result r;
        while (n < len && data[n] != '\n') n++;
        if (n < len) n++;
        r = cbk_json_feed(&c->json, data, n);
        if (!r && c->json.state == CBK__S_START) r = cbk__stream_flush(c);
        if (r) return r;
        data += n;
        len -= n;
    }
    return CBK_OK;
}

/* The body to the tokenizer: a stream's up to each newline at a time. */
static cbk_result cbk__feed(cbk_client *c, const char *data, size_t len) {
    if (c->json.result) return (cbk_result)c->json.result;
    if (cbk__is_2xx(c->status) && c->kind->feed) return c->kind->feed(c, data, len); /* lines */
    return cbk_json_feed(&c->json, data, len);
}

/* The body's bytes were refused (res): an error body that is not JSON
   settles the outcome (no need to read a big page); a 2xx body failed. */
static int cbk__body_refused(cbk_client *c, cbk_result res) {
    if (!cbk__is_2xx(c->status)) return cbk__error_body_refused(c);
    if (!c->json.stopped) {
        /* the tokenizer itself failed */
        if (res == CBK_ERR_BUFFER_TOO_SMALL)
            cbk__fail(c, res, "the work buffer cannot hold a value of the response");
        else
            cbk__fail_n(c, res, "the response is not valid JSON at byte ",
                        cbk_json_offset(&c->json));
    }
    c->result = res;
    return 1;
}

CBKDEF int cbk_response_body(cbk_response *r, const char *data, size_t len) {
    cbk_client *c = r ? r->client : NULL;
    cbk_result res;
    if (!c || c->result || cbk__deadline_passed(c)) return 1;
    if (!c->status) {
        c->result = cbk__fail(c, CBK_ERR_TRANSPORT, "the transport gave a body before a status");
        return 1;
    }
    if (!len) return 0;
    if (!data) {
        c->result = cbk__fail(c, CBK_ERR_TRANSPORT, "the transport gave a NULL body chunk");
        return 1;
    }
    if (cbk__is_2xx(c->status) && !c->kind->on_json) {
        /* not JSON (cbk_fetch): the bytes as they are */
        res = c->kind->feed(c, data, len);
        if (res) c->result = res;
        return res ? 1 : 0;
    }
    if (c->bom < 3) {
        /* a body may open with a UTF-8 byte order mark, as JSON.parse after
           TextDecoder allows */
        while (len && c->bom < 3 && data[0] == cbk__bom[c->bom]) data++, len--, c->bom++;
        if (len) cbk__bom_flush(c);
        if (!len) return 0;
    }
    res = cbk__feed(c, data, len);
    return res ? cbk__body_refused(c, res) : 0;
}

CBKDEF cbk_response *cbk_client_response(cbk_client *c) {
    return c ? &c->response : NULL;
}

/* Ends an operation: the Bearer value and, after a create, every byte that
   may have held the new secret are wiped. */
static cbk_result cbk__end(cbk_client *c, cbk_result r) {
    cbk__drop_auth(c);
    if (c->op == CBK__OP_CREATE || r) {
        /* a created secret, or whatever a failing server sent (it may echo
           the client's secret), does not stay in the work buffer */
        cbk__wipe(c->region, c->json.high < c->region_size ? c->json.high : c->region_size);
        cbk__wipe(&c->json, sizeof c->json);
        if (r && c->created) cbk__wipe(c->created, sizeof *c->created);
    }
    if (!r) cbk__clear_error(c); /* a failure held back and dropped leaves nothing */
    c->result = r;               /* kept for cbk_client_retry_delay */
    c->finished = 1;
    return r;
}

CBKDEF cbk_result cbk_client_finish(cbk_client *c) {
    cbk_result r;
    if (!c) return CBK_ERR_INVALID_ARGUMENT;
    if (!c->op || c->finished)
        return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "no operation is prepared");
    if (c->result) return cbk__end(c, c->result);
    if (!c->status)
        return cbk__end(
            c, cbk__fail(c, CBK_ERR_TRANSPORT, "the exchange ended without a response status"));
    if (!cbk__is_2xx(c->status)) {
        int json = cbk__error_body_is_json(c);
        return cbk__end(c, cbk__http_error(c, json));
    }
    if (!c->kind->on_json) return cbk__end(c, c->kind->done(c)); /* cbk_fetch */
    cbk__bom_flush(c);
    r = cbk_json_finish(&c->json);
    if (r) {
        if (!c->json.stopped)
            cbk__fail_n(c, r, "the response body ended early or is not one JSON value; bytes: ",
                        cbk_json_offset(&c->json));
        return cbk__end(c, r);
    }
    return cbk__end(c, c->kind->done(c));
}

CBKDEF cbk_result cbk_client_abort(cbk_client *c, int transport_code) {
    if (!c) return CBK_ERR_INVALID_ARGUMENT;
    if (!c->op || c->finished)
        return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "no operation is prepared");
    if (!transport_code)
        return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT,
                         "transport_code 0 means the exchange completed: cbk_client_finish");
    c->error.transport_code = transport_code;
    /* what the receiver settled stands: it asked the transport to stop */
    if (c->result) return cbk__end(c, c->result);
    if (c->json.state == CBK__S_START && c->kind->flush && c->kind->flush(c))
        return cbk__end(c, CBK_ERR_CANCELLED); /* a whole line came before the failure */
    if (c->status && !cbk__is_2xx(c->status) && c->json.result && (c->flags & CBK__F_NULL))
        return cbk__end(c, cbk__http_error(c, 0));
    return cbk__end(c, cbk__fail_n(c, CBK_ERR_TRANSPORT,
                                   CBK_SEND_HAS(transport_code, CBK_SEND_NOT_SENT)
                                       ? "the request was not sent; code "
                                       : "the transport failed; code ",
                                   (uint64_t)(unsigned)CBK_SEND_CODE(transport_code)));
}

CBKDEF int cbk_client_retry_delay(const cbk_client *c, unsigned attempt, unsigned *delay_ms) {
    unsigned ms;
    int s;
    if (!c || !c->finished || attempt >= c->opts.retries || c->delivered) return 0;
    s = c->error.http_status;
    if (c->result == CBK_ERR_TRANSPORT) {
        int tc = c->error.transport_code;
        if (CBK_SEND_HAS(tc, CBK_SEND_FINAL)) return 0;
        if (c->unsafe && !CBK_SEND_HAS(tc, CBK_SEND_NOT_SENT)) return 0;
    } else if (c->result == CBK_ERR_HTTP) {
        if (s == 500 || s == 502 || s == 504) {
            if (c->unsafe) return 0; /* the server may have acted */
        } else if (s != 429 && s != 503) {
            return 0;
        }
    } else {
        return 0;
    }
    ms = c->opts.retry_delay_ms;
    /* doubled until one more doubling would wrap (a 16-bit unsigned too) */
    while (attempt-- && ms <= (unsigned)-1 / 2) ms *= 2;
    if (c->result == CBK_ERR_HTTP && c->has_retry_after) ms = c->retry_after_ms;
    if (delay_ms) *delay_ms = ms;
    return 1;
}

/* The endings of the operations, after a whole 2xx body. */

/* list: the cursor for the next page (list_all notes whether the server
   gave back the cursor it was asked with) */
static cbk_result cbk__list_done(cbk_client *c) {
    size_t n = c->got_cursor ? CBK_STRLEN(c->got_cursor) : 0;
    if (!c->out) return CBK_OK;
    if (c->cursor && n && cbk__streq(c->got_cursor, n, c->cursor))
        c->flags |= CBK__F_CURSOR;
    else
        c->flags &= ~(uint32_t)CBK__F_CURSOR;
    CBK_MEMCPY(c->out, c->got_cursor ? c->got_cursor : "", n + 1);
    return CBK_OK;
}

/* update and delete: the id the server answered with (create's outputs
   are written as they are decoded) */
static cbk_result cbk__id_done(cbk_client *c) {
    if (c->out) CBK_MEMCPY(c->out, c->got_id, CBK_STRLEN(c->got_id) + 1);
    return CBK_OK;
}

/* cbk_fetch: the body as it arrives, raw or one line per callback */
static cbk_result cbk__fetch_feed(cbk_client *c, const char *data, size_t len) {
    if (c->fetch_opts && c->fetch_opts->stream) return cbk__lines(c, data, len);
    c->delivered = 1;
    if (c->on_body && c->on_body(c->user, data, len))
        return cbk__fail(c, CBK_ERR_CANCELLED, "the body callback stopped the operation");
    return CBK_OK;
}

/* cbk_fetch: the last line, which had no newline */
static cbk_result cbk__fetch_done(cbk_client *c) {
    cbk_result r = CBK_OK;
    if (c->fetch_opts && c->fetch_opts->stream && c->line_len) {
        r = cbk__line(c, c->region, c->line_len);
        c->line_len = 0;
    }
    return r;
}

/* The kinds: URL, body, decoder, feed, ending, waiting line. */
static const cbk__kind cbk__kind_list = {cbk__list_url, NULL,           cbk__on_list_json,
                                         NULL,          cbk__list_done, NULL};
static const cbk__kind cbk__kind_stream = {cbk__list_url,       NULL,
                                           cbk__on_stream_json, cbk__feed_lines,
                                           cbk__stream_flush,   cbk__stream_flush};
static const cbk__kind cbk__kind_token = {cbk__token_url, cbk__token_body, cbk__on_object_json,
                                          NULL,           cbk__id_done,    NULL};
static const cbk__kind cbk__kind_fetch_get = {cbk__fetch_url,  NULL, NULL, cbk__fetch_feed,
                                              cbk__fetch_done, NULL};
static const cbk__kind cbk__kind_fetch_post = {cbk__fetch_url,  cbk__fetch_body, NULL,
                                               cbk__fetch_feed, cbk__fetch_done, NULL};

/* ---------------------------------------------------------------------------
 * Operations
 * ------------------------------------------------------------------------- */

/* Starts an operation: clears what the last one left. */
static cbk_result cbk__begin(cbk_client *c, int op, const cbk__kind *kind) {
    if (!c) return CBK_ERR_INVALID_ARGUMENT;
    cbk__drop_auth(c); /* a prepared request left unsent */
    cbk__clear_error(c);
    c->op = op;
    c->kind = kind;
    c->status = 0;
    c->last_status = 0;
    c->has_deadline = 0; /* the sans-I/O halves run none; the blocking ones start it */
    c->finished = 0;
    c->delivered = 0;
    c->has_retry_after = 0;
    c->result = CBK_OK;
    c->user_id = c->token_id = c->path = c->cursor = NULL;
    c->list_opts = NULL;
    c->fields = NULL;
    c->fetch_opts = NULL;
    c->on_token = NULL;
    c->on_body = NULL;
    c->out = NULL;
    c->out_size = 0;
    c->created = NULL;
    c->unsafe = 0;
    c->got_cursor = c->got_id = NULL;
    c->page_items = 0;
    if (!c->work) return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "the client is not initialised");
    return CBK_OK;
}

/* (Re)arms the receiver and builds the request for one attempt. */
static cbk_result cbk__arm(cbk_client *c) {
    cbk_result r;
    cbk__clear_error(c);
    c->status = 0;
    c->finished = 0;
    c->result = CBK_OK;
    c->has_retry_after = 0;
    c->page_items = 0;
    c->got_cursor = c->got_id = NULL;
    c->flags = 0;
    c->field = 0;
    c->line_len = 0;
    CBK_MEMSET(&c->item, 0, sizeof c->item);
    if (c->created) CBK_MEMSET(c->created, 0, sizeof *c->created);
    r = cbk__build(c);
    if (r) {
        c->finished = 1;
        c->result = r;
    }
    return r;
}

static cbk_result cbk__check_list(cbk_client *c, const char *user_id,
                                  const cbk_token_list_options *o) {
    if (cbk__check_id(c, user_id, CBK__TEXT("user_id is NULL, empty, \".\", \"..\" or not UTF-8")))
        return CBK_ERR_INVALID_ARGUMENT;
    if (!o) return CBK_OK;
    if (o->order && !cbk__streq(o->order, CBK_STRLEN(o->order), "asc") &&
        !cbk__streq(o->order, CBK_STRLEN(o->order), "desc"))
        return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "order is not \"asc\" or \"desc\"");
    if (o->take < 0) return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "take is negative");
    if (o->cursor && cbk__check_text(c, o->cursor, CBK__TEXT("cursor is not valid UTF-8")))
        return CBK_ERR_INVALID_ARGUMENT;
    return cbk__check_kvs(c, o->meta, o->meta_count);
}

static cbk_result cbk__prepared(cbk_client *c, cbk_result r, const cbk_request **out_req) {
    if (!r) r = cbk__arm(c);
    if (r) {
        if (c) c->op = CBK__OP_NONE;
        if (out_req) *out_req = NULL;
        return r;
    }
    if (out_req) *out_req = &c->request;
    return CBK_OK;
}

/* Outputs are reset before anything is checked: "" and zeroed on every
   failure, argument errors included. */
static void cbk__reset_outputs(char *text, size_t size, cbk_token_created *created,
                               const cbk_request **out_req) {
    if (text && size) text[0] = 0;
    if (created) cbk__wipe(created, sizeof *created);
    if (out_req) *out_req = NULL;
}

CBKDEF cbk_result cbk_token_list_prepare(cbk_client *c, const char *user_id,
                                         const cbk_token_list_options *opts, cbk_token_fn on_token,
                                         void *user, char *next_cursor, size_t next_cursor_size,
                                         const cbk_request **out_req) {
    cbk_result r;
    cbk__reset_outputs(next_cursor, next_cursor_size, NULL, out_req);
    r = cbk__begin(c, CBK__OP_LIST, &cbk__kind_list);
    if (!r) r = cbk__check_list(c, user_id, opts);
    if (!r && next_cursor && !next_cursor_size)
        r = cbk__fail(c, CBK_ERR_BUFFER_TOO_SMALL, "next_cursor_size is 0");
    if (!r) {
        c->user_id = user_id;
        c->list_opts = opts;
        c->on_token = on_token;
        c->user = user;
        c->out = next_cursor;
        c->out_size = next_cursor_size;
        if (next_cursor) next_cursor[0] = 0;
    }
    return cbk__prepared(c, r, out_req);
}

CBKDEF cbk_result cbk_token_list_stream_prepare(cbk_client *c, const char *user_id,
                                                const cbk_token_list_options *opts,
                                                cbk_token_fn on_token, void *user,
                                                const cbk_request **out_req) {
    cbk_result r;
    cbk__reset_outputs(NULL, 0, NULL, out_req);
    r = cbk__begin(c, CBK__OP_STREAM, &cbk__kind_stream);
    if (!r) r = cbk__check_list(c, user_id, opts);
    if (!r) {
        c->user_id = user_id;
        c->list_opts = opts;
        c->on_token = on_token;
        c->user = user;
    }
    return cbk__prepared(c, r, out_req);
}

CBKDEF cbk_result cbk_token_create_prepare(cbk_client *c, const char *user_id,
                                           const cbk_token_fields *fields, cbk_token_created *out,
                                           const cbk_request **out_req) {
    cbk_result r;
    cbk__reset_outputs(NULL, 0, out, out_req);
    r = cbk__begin(c, CBK__OP_CREATE, &cbk__kind_token);
    if (!r && !out) r = cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "out is NULL");
    if (!r)
        r = cbk__check_id(c, user_id,
                          CBK__TEXT("user_id is NULL, empty, \".\", \"..\" or not UTF-8"));
    if (!r) r = cbk__check_fields(c, fields);
    if (!r) {
        c->user_id = user_id;
        c->fields = fields;
        c->created = out;
        c->unsafe = 1;
    }
    return cbk__prepared(c, r, out_req);
}

static cbk_result cbk__token_op_prepare(cbk_client *c, int op, const char *user_id,
                                        const char *token_id, const cbk_token_fields *fields,
                                        char *id_out, const cbk_request **out_req) {
    cbk_result r;
    cbk__reset_outputs(id_out, CBK_ID_MAX, NULL, out_req);
    r = cbk__begin(c, op, &cbk__kind_token);
    if (!r)
        r = cbk__check_id(c, user_id,
                          CBK__TEXT("user_id is NULL, empty, \".\", \"..\" or not UTF-8"));
    if (!r)
        r = cbk__check_id(c, token_id,
                          CBK__TEXT("token_id is NULL, empty, \".\", \"..\" or not UTF-8"));
    if (!r) r = cbk__check_fields(c, fields);
    if (!r) {
        c->user_id = user_id;
        c->token_id = token_id;
        c->fields = fields;
        c->out = id_out;
        c->out_size = CBK_ID_MAX;
        if (id_out) id_out[0] = 0;
    }
    return cbk__prepared(c, r, out_req);
}

CBKDEF cbk_result cbk_token_update_prepare(cbk_client *c, const char *user_id, const char *token_id,
                                           const cbk_token_fields *fields, char id_out[CBK_ID_MAX],
                                           const cbk_request **out_req) {
    return cbk__token_op_prepare(c, CBK__OP_UPDATE, user_id, token_id, fields, id_out, out_req);
}

CBKDEF cbk_result cbk_token_delete_prepare(cbk_client *c, const char *user_id, const char *token_id,
                                           char id_out[CBK_ID_MAX], const cbk_request **out_req) {
    return cbk__token_op_prepare(c, CBK__OP_DELETE, user_id, token_id, NULL, id_out, out_req);
}

/* A cbk_fetch path: starts with '/', no space, control, non-ASCII or '#'. */
static cbk_result cbk__check_path(cbk_client *c, const char *path) {
    const char *p;
    if (!path || path[0] != '/')
        return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "path does not start with '/'");
    for (p = path; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7F || *p == '#')
            return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT,
                             "path holds a space, a control or non-ASCII byte, or '#'");
    return CBK_OK;
}

/* cbk_fetch's method: *post is 1 for a POST (the default with a body). */
static cbk_result cbk__check_method(cbk_client *c, const cbk_fetch_options *o, int *post) {
    size_t n;
    *post = o->json || o->file || o->body;
    if (!o->method) return CBK_OK;
    n = CBK_STRLEN(o->method);
    if (cbk__streq(o->method, n, "POST"))
        *post = 1;
    else if (!cbk__streq(o->method, n, "GET") || *post)
        return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT,
                         "method is not GET or POST, or GET with a body");
    return CBK_OK;
}

static int cbk__file_ok(const cbk_file *f) {
    return f->name && cbk__utf8_valid(f->name, CBK_STRLEN(f->name)) && (!f->len || f->data) &&
           (!f->type || cbk__header_safe(f->type));
}

/* cbk_fetch's options: one body at most, each checked. */
static cbk_result cbk__check_fetch(cbk_client *c, const cbk_fetch_options *o, int *post) {
    const cbk_file *f = o->file;
    if (cbk__check_method(c, o, post)) return CBK_ERR_INVALID_ARGUMENT;
    if (!!o->json + !!o->file + !!o->body > 1 || (o->body_len && !o->body) ||
        (o->json_len && !o->json))
        return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT,
                         "more than one of json, body and file, or a length without its body");
    if (cbk__check_headers(c, o->headers, o->header_count)) return CBK_ERR_INVALID_ARGUMENT;
    if (o->json && cbk_json_validate(o->json, o->json_len))
        return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "json is not one JSON text");
    if (f && !cbk__file_ok(f))
        return cbk__fail(c, CBK_ERR_INVALID_ARGUMENT,
                         "file has no name, invalid UTF-8, no data, or CR/LF in its type");
    return cbk__check_kvs(c, o->query, o->query_count);
}

CBKDEF cbk_result cbk_fetch_prepare(cbk_client *c, const char *path, const cbk_fetch_options *opts,
                                    cbk_body_fn on_body, void *user, const cbk_request **out_req) {
    cbk_result r;
    int post = 0;
    cbk__reset_outputs(NULL, 0, NULL, out_req);
    r = cbk__begin(c, CBK__OP_FETCH, &cbk__kind_fetch_get);
    if (!r) r = cbk__check_path(c, path);
    if (!r && opts) r = cbk__check_fetch(c, opts, &post);
    if (!r) {
        c->path = path;
        c->fetch_opts = opts;
        c->on_body = on_body;
        c->user = user;
        c->unsafe = post;
        if (post) c->kind = &cbk__kind_fetch_post;
    }
    return cbk__prepared(c, r, out_req);
}

/* The blocking half: send, decode, and retry while the policy and the
   deadline allow. A client without a send callback fails here, after the
   prepare built the request: the Bearer value is wiped as on every end. */
static cbk_result cbk__perform(cbk_client *c) {
    unsigned attempt, ms;
    cbk_result r;
    if (!c->send) {
        r = cbk__end(c, cbk__fail(c, CBK_ERR_INVALID_ARGUMENT, "the client has no send callback"));
        c->op = CBK__OP_NONE;
        return r;
    }
    for (attempt = 0;; attempt++) {
        int rc;
        if (attempt && (r = cbk__arm(c)) != CBK_OK) break;
        c->request.timeout_ms = cbk__time_left(c);
        rc = c->send(c->send_ctx, &c->request, &c->response);
        r = rc ? cbk_client_abort(c, rc) : cbk_client_finish(c);
        if (!r || !c->opts.sleep_ms || !cbk_client_retry_delay(c, attempt, &ms)) break;
        if (c->has_deadline && cbk__time_left(c) <= ms) break; /* no time for the wait */
        c->opts.sleep_ms(c->opts.sleep_ctx, ms);
    }
    c->op = CBK__OP_NONE;
    return r;
}

/* A blocking operation of its own: its deadline starts now. */
static cbk_result cbk__run(cbk_client *c) {
    cbk__deadline_start(c);
    return cbk__perform(c);
}

CBKDEF cbk_result cbk_token_list(cbk_client *c, const char *user_id,
                                 const cbk_token_list_options *opts, cbk_token_fn on_token,
                                 void *user, char *next_cursor, size_t next_cursor_size) {
    cbk_result r = cbk_token_list_prepare(c, user_id, opts, on_token, user, next_cursor,
                                          next_cursor_size, NULL);
    return r ? r : cbk__run(c);
}

CBKDEF cbk_result cbk_token_list_stream(cbk_client *c, const char *user_id,
                                        const cbk_token_list_options *opts, cbk_token_fn on_token,
                                        void *user) {
    cbk_result r = cbk_token_list_stream_prepare(c, user_id, opts, on_token, user, NULL);
    return r ? r : cbk__run(c);
}

/* list_all's guard against a server whose cursors never end: a page
   limit, and Brent's cycle detection over the cursors' FNV-1a hashes (the
   checkpoint moves at every power of two pages, so a cycle is found
   within twice its length, without a history of cursors). */
typedef struct cbk__pager {
    uint64_t mark;
    unsigned power, lam, pages, max;
    int marked;
} cbk__pager;

/* After a page that offers `cursor` for the next: may the next be read? */
static cbk_result cbk__pager_next(cbk_client *c, cbk__pager *g, const char *cursor) {
    uint64_t h = cbk__fnv((const unsigned char *)cursor, CBK_STRLEN(cursor), 0xcbf29ce484222325ull);
    if (g->marked && h == g->mark)
        return cbk__fail(c, CBK_ERR_PARSE, "the server's cursors go round in a cycle");
    if (++g->pages >= g->max)
        return cbk__fail_n(c, CBK_ERR_PARSE,
                           "the server still offers a cursor after max_pages pages: ", g->pages);
    if (++g->lam == g->power) {
        g->mark = h;
        g->marked = 1;
        g->power *= 2;
        g->lam = 0;
    }
    return CBK_OK;
}

/* One page of list_all, asked with the cursor in slot (the new one lands
   there). *more: a next page is offered. */
static cbk_result cbk__list_all_page(cbk_client *c, const char *user_id,
                                     const cbk_token_list_options *opts, cbk_token_fn on_token,
                                     void *user, char *slot, int *more) {
    uint64_t deadline = c->deadline;
    int has_deadline = c->has_deadline;
    cbk_result r;
    (void)cbk__begin(c, CBK__OP_LIST, &cbk__kind_list); /* c and c->work were checked */
    c->deadline = deadline;                             /* one deadline for all the pages */
    c->has_deadline = has_deadline;
    c->user_id = user_id;
    c->list_opts = opts;
    c->on_token = on_token;
    c->user = user;
    c->cursor = slot; /* "" asks for the first page */
    c->out = slot;
    c->out_size = CBK_CURSOR_MAX;
    r = cbk__arm(c);
    if (!r)
        r = cbk__perform(c);
    else
        c->op = CBK__OP_NONE;
    /* cbk_client_finish copied the new cursor over the old one after
       noting whether they were equal */
    *more = !r && c->page_items && slot[0] && !(c->flags & CBK__F_CURSOR);
    return r;
}

/* list_all's arguments, and the room for its cursor; *n: the starting
   cursor's length. */
static cbk_result cbk__check_list_all(cbk_client *c, const char *user_id,
                                      const cbk_token_list_options *opts, size_t *n) {
    cbk_result r = cbk__begin(c, CBK__OP_LIST, &cbk__kind_list);
    if (!r) r = cbk__check_list(c, user_id, opts);
    if (r) return r;
    if (c->work_size < CBK_CURSOR_MAX)
        return cbk__fail(c, CBK_ERR_BUFFER_TOO_SMALL,
                         "the work buffer is smaller than CBK_CURSOR_MAX");
    *n = opts && opts->cursor ? CBK_STRLEN(opts->cursor) : 0;
    if (*n >= CBK_CURSOR_MAX)
        return cbk__fail(c, CBK_ERR_BUFFER_TOO_SMALL, "the cursor is longer than CBK_CURSOR_MAX");
    return CBK_OK;
}

CBKDEF cbk_result cbk_token_list_all(cbk_client *c, const char *user_id,
                                     const cbk_token_list_options *opts, cbk_token_fn on_token,
                                     void *user) {
    cbk__pager g;
    size_t n = 0;
    int more = 1;
    cbk_result r = cbk__check_list_all(c, user_id, opts, &n);
    if (r) {
        if (c) c->op = CBK__OP_NONE;
        return r;
    }
    /* the cursor lives at the start of the work buffer between pages */
    if (n) CBK_MEMCPY(c->work, opts->cursor, n);
    c->work[n] = 0;
    CBK_MEMSET(&g, 0, sizeof g);
    g.power = 1;
    g.max = opts && opts->max_pages ? opts->max_pages : CBK_LIST_MAX_PAGES;
    cbk__deadline_start(c);
    while (more) {
        r = cbk__list_all_page(c, user_id, opts, on_token, user, c->work, &more);
        if (!r && more) r = cbk__pager_next(c, &g, c->work);
        if (r) return r;
    }
    return CBK_OK;
}

CBKDEF cbk_result cbk_token_create(cbk_client *c, const char *user_id,
                                   const cbk_token_fields *fields, cbk_token_created *out) {
    cbk_result r = cbk_token_create_prepare(c, user_id, fields, out, NULL);
    return r ? r : cbk__run(c);
}

CBKDEF cbk_result cbk_token_update(cbk_client *c, const char *user_id, const char *token_id,
                                   const cbk_token_fields *fields, char id_out[CBK_ID_MAX]) {
    cbk_result r = cbk_token_update_prepare(c, user_id, token_id, fields, id_out, NULL);
    return r ? r : cbk__run(c);
}

CBKDEF cbk_result cbk_token_delete(cbk_client *c, const char *user_id, const char *token_id,
                                   char id_out[CBK_ID_MAX]) {
    cbk_result r = cbk_token_delete_prepare(c, user_id, token_id, id_out, NULL);
    return r ? r : cbk__run(c);
}

CBKDEF cbk_result cbk_fetch(cbk_client *c, const char *path, const cbk_fetch_options *opts,
                            cbk_body_fn on_body, void *user) {
    cbk_result r = cbk_fetch_prepare(c, path, opts, on_body, user, NULL);
    return r ? r : cbk__run(c);
}

#undef CBK__ONES
#undef CBK__HIGHS
#undef CBK__BYTE_INDEX
#undef CBK__LOAD
#undef CBK__WORDS
#undef CBK__OUT_OF_LINE
#undef CBK__IN_LINE
#undef CBK__EIGHT_DIGITS
#undef CBK__FIRST_SPECIAL
#undef CBK__JSON_LENIENT
#undef CBK__JSON_MATCH
#undef CBK__F_NOT_OBJECT
#undef CBK__F_NULL

#endif /* CBK__IMPLEMENTED */
#endif /* CBK_TOKEN_IMPLEMENTATION */

/*
 * REVISION HISTORY
 *   0.1.0 (2026-11-30)  first release: list, stream, list_all, create, update,
 *                       delete, cbk_fetch, sans-I/O halves, push tokenizer.
 *
 * LICENSE
 *   This software is available under two licences; choose whichever you like.
 *
 *   ALTERNATIVE A - MIT License
 *   Copyright (c) 2026 the cbk_token authors
 *   Permission is hereby granted, free of charge, to any person obtaining a copy
 *   of this software and associated documentation files (the "Software"), to
 *   deal in the Software without restriction, including without limitation the
 *   rights to use, copy, modify, merge, publish, distribute, sublicense, and/or
 *   sell copies of the Software, and to permit persons to whom the Software is
 *   furnished to do so, subject to the following conditions:
 *   The above copyright notice and this permission notice shall be included in
 *   all copies or substantial portions of the Software.
 *   THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 *   IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 *   FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 *   AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 *   LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
 *   FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
 *   IN THE SOFTWARE.
 *
 *   ALTERNATIVE B - Public Domain (www.unlicense.org)
 *   This is free and unencumbered software released into the public domain.
 *   Anyone is free to copy, modify, publish, use, compile, sell, or distribute
 *   this software, either in source code form or as a compiled binary, for any
 *   purpose, commercial or non-commercial, and by any means.
 */
