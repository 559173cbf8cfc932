/* Compiled as C++, with CBK_TOKEN_STATIC and with CBK_TOKEN_NO_LIBC by the
   Makefile: the header must build warning-free every way. */
#define CBK_TOKEN_IMPLEMENTATION
#include "../cbk_token.h"

/* A use, so the static build has no unused function. */
int cbk_check_compile(void);
int cbk_check_compile(void) {
    cbk_client c;
    static char work[CBK_WORK_MIN];
    return (int)cbk_client_init(&c, "s", 0, 0, work, sizeof work, 0) +
           (int)cbk_json_validate("{}", 2);
}
