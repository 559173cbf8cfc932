/* The translation unit `make lint` gives clang-tidy and cppcheck: the
   library and both adapters with their implementations, as one program
   would compile them. Not built by any other target. */
#define _POSIX_C_SOURCE 200809L
#define CBK_TOKEN_IMPLEMENTATION
#include "../cbk_token.h"
#ifndef CBK_LINT_NO_CURL /* no libcurl headers here: make lint skips that part */
#define CBK_TOKEN_CURL_IMPLEMENTATION
#include "../adapters/cbk_token_curl.h"
#endif
#define CBK_TOKEN_POSIX_IMPLEMENTATION
#include "../adapters/cbk_token_posix.h"
