/* mbedtls_user.h - MBEDTLS_USER_CONFIG_FILE for the Cortex-M4 compile
 * check: Debian's 2.28 configuration minus what a bare-metal board lacks
 * (BSD sockets, files, pthreads, /dev/urandom), plus a fixed heap and a
 * small out record buffer. */
#undef MBEDTLS_NET_C
#undef MBEDTLS_FS_IO
#undef MBEDTLS_THREADING_C
#undef MBEDTLS_THREADING_PTHREAD
#undef MBEDTLS_TIMING_C
#undef MBEDTLS_HAVEGE_C
#undef MBEDTLS_PSA_CRYPTO_STORAGE_C
#undef MBEDTLS_PSA_ITS_FILE_C
#define MBEDTLS_NO_PLATFORM_ENTROPY /* the board's TRNG instead */
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_MEMORY_BUFFER_ALLOC_C       /* mbedTLS's heap: a fixed buffer */
#define MBEDTLS_SSL_IN_CONTENT_LEN    16384 /* what a TLS 1.2 server may send */
#define MBEDTLS_SSL_OUT_CONTENT_LEN   2048  /* holds any request of this library */
