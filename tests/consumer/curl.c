/* The consumer of cbk_token::curl (CMake) or cbk_token-curl (pkg-config):
   both implementations in one file, linked with libcurl. It sends one list
   to a closed loopback port and expects the adapter to report that the
   request never left: proof that the adapter and libcurl are wired in.
   Nothing leaves the machine. */
#include <stdio.h>

#define CBK_TOKEN_IMPLEMENTATION
#include "cbk_token.h"
#define CBK_TOKEN_CURL_IMPLEMENTATION
#include "adapters/cbk_token_curl.h"

int main(void) {
    static char work[CBK_WORK_MIN];
    cbk_client c;
    cbk_client_options o;
    cbk_curl net;
    cbk_result r;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
    cbk_curl_init(&net);
    net.connect_timeout_ms = 2000;
    cbk_client_options_init(&o);
    o.base_url = "http://127.0.0.1:1"; /* nothing listens on port 1 */
    r = cbk_client_init(&c, "sk-test", cbk_curl_send, &net, work, sizeof work, &o);
    if (r == CBK_OK) r = cbk_token_list(&c, "user-1", NULL, NULL, NULL, NULL, 0);
    printf("libcurl %s: %s (transport code %d; %s)\n", curl_version_info(CURLVERSION_NOW)->version,
           cbk_result_str(r), cbk_client_error(&c)->transport_code, net.errbuf);
    curl_global_cleanup();
    if (r != CBK_ERR_TRANSPORT) return 1;
    printf("consumer-curl: OK\n");
    return 0;
}
