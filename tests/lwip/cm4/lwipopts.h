/* lwipopts.h - a firmware-shaped lwIP configuration for the Cortex-M4
 * compile check of the adapters (make embedded-cross): an RTOS (NO_SYS 0),
 * the socket API with its own headers, IPv4 and IPv6, DNS, receive and
 * send timeouts. Only compiled, never linked: lwIP's own sources are not
 * built here. */
#ifndef CBK_CM4_LWIPOPTS_H
#define CBK_CM4_LWIPOPTS_H

#define NO_SYS                  0
#define LWIP_SOCKET             1
#define LWIP_NETCONN            1
#define LWIP_COMPAT_SOCKETS     0
#define LWIP_TCP                1
#define LWIP_IPV4               1
#define LWIP_IPV6               1
#define LWIP_DNS                1
#define LWIP_SO_RCVTIMEO        1
#define LWIP_SO_SNDTIMEO        1
#define LWIP_TIMEVAL_PRIVATE    0 /* newlib's struct timeval */
#define LWIP_ERRNO_STDINCLUDE   1 /* newlib's errno */
#define LWIP_TCPIP_CORE_LOCKING 1
#define MEM_ALIGNMENT           4
#define MEM_SIZE                (16 * 1024)
#define TCP_MSS                 1460
#define TCP_WND                 (4 * TCP_MSS)
#define TCP_SND_BUF             (4 * TCP_MSS)
#define MEMP_NUM_NETCONN        4

#endif
