/* The one file of the consumer that compiles the library. */
#define CBK_TOKEN_IMPLEMENTATION
#include "cbk_token.h"
