/* loopback.h - helpers shared by the tests that talk to local servers
   (test_adapters.c, test_faults.c). POSIX; include after the system
   headers for sockets. */
#ifndef CBK_TEST_LOOPBACK_H
#define CBK_TEST_LOOPBACK_H

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* An http:// URL of a loopback port where nothing listens: one the kernel
   just handed out and that was closed again. */
static void dead_port_url(char *url, size_t size) {
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(0x7f000001);
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    snprintf(url, size, "http://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
}

/* A loopback server that says nothing, without a process: a socket that
   listens and never accepts (the kernel completes the connections and takes
   the request's bytes). Its URL in url; returns the socket (close it when
   done), or -1. */
static int silent_listener(char *url, size_t size) {
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    url[0] = '\0';
    if (fd < 0) return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(0x7f000001);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        close(fd);
        return -1;
    }
    snprintf(url, size, "http://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    return fd;
}

#endif
