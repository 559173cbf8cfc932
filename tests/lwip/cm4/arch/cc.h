/* arch/cc.h - compiler and platform for lwIP on arm-none-eabi (newlib). */
#ifndef CBK_CM4_CC_H
#define CBK_CM4_CC_H

#include <stdint.h>
#include <sys/time.h> /* struct timeval (LWIP_TIMEVAL_PRIVATE 0) */

#define LWIP_PLATFORM_DIAG(x)                                                                      \
    do {                                                                                           \
    } while (0)
#define LWIP_PLATFORM_ASSERT(x)                                                                    \
    do {                                                                                           \
    } while (0)
#define BYTE_ORDER  LITTLE_ENDIAN
#define LWIP_RAND() ((u32_t)0) /* a board's TRNG in real firmware */

#endif
