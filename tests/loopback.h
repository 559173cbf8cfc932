/* loopback.h - helpers shared by the tests that talk to local servers
   (test_adapters.c, test_http1.c, test_faults.c, tests/lwip/test_lwip.c).
   POSIX; include after the system headers for sockets, in a file that
   defines _POSIX_C_SOURCE 200809L (or _GNU_SOURCE).

   Servers: loopback_spawn starts one (by PID, its port from the line
   "PORT <n>" it prints on stdout, a bounded wait) and tracks it;
   loopback_stop stops one by its PID, loopback_stop_all every tracked one
   (atexit), loopback_kill_all the same from a signal handler.
   loopback_wait_closed waits for a server's close to reach a connection. */
#ifndef CBK_TEST_LOOPBACK_H
#define CBK_TEST_LOOPBACK_H

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* not every test uses every helper */
#define LOOPBACK_FN static __attribute__((unused))

#define LOOPBACK_MAX_KIDS 8
/* The longest a server may take to print its port: a wait for an event, so
   generous: python3 took 15 s to start at nice 19 beside CPU burners. */
#define LOOPBACK_UP_MS    60000
#define LOOPBACK_STOP_MS  5000 /* after SIGTERM, then SIGKILL */
#define LOOPBACK_MAX_LINE 64

/* The children to stop at the end, by PID (0: a free slot). volatile: a
   signal handler reads it. */
static volatile pid_t loopback_kids[LOOPBACK_MAX_KIDS];

LOOPBACK_FN long loopback_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Remembers a child for loopback_stop_all and loopback_kill_all. */
LOOPBACK_FN void loopback_track(pid_t pid) {
    int i;
    for (i = 0; i < LOOPBACK_MAX_KIDS; i++)
        if (loopback_kids[i] == 0) {
            loopback_kids[i] = pid;
            return;
        }
}

LOOPBACK_FN void loopback_untrack(pid_t pid) {
    int i;
    for (i = 0; i < LOOPBACK_MAX_KIDS; i++)
        if (loopback_kids[i] == pid) loopback_kids[i] = 0;
}

/* Stops a child by its PID: SIGTERM, up to LOOPBACK_STOP_MS for it to go,
   then SIGKILL; reaped and untracked. pid <= 0: nothing. */
LOOPBACK_FN void loopback_stop(pid_t pid) {
    struct timespec tick = {0, 20000000L};
    long until = loopback_now_ms() + LOOPBACK_STOP_MS;
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    while (waitpid(pid, NULL, WNOHANG) != pid) {
        if (loopback_now_ms() >= until) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            break;
        }
        nanosleep(&tick, NULL);
    }
    loopback_untrack(pid);
}

/* Stops every tracked child (for atexit). */
LOOPBACK_FN void loopback_stop_all(void) {
    int i;
    for (i = 0; i < LOOPBACK_MAX_KIDS; i++)
        if (loopback_kids[i] > 0) loopback_stop(loopback_kids[i]);
}

/* Kills every tracked child at once; async-signal-safe (kill, waitpid),
   for a signal handler that then _exit()s. */
LOOPBACK_FN void loopback_kill_all(void) {
    int i;
    for (i = 0; i < LOOPBACK_MAX_KIDS; i++)
        if (loopback_kids[i] > 0) {
            kill(loopback_kids[i], SIGKILL);
            waitpid(loopback_kids[i], NULL, 0);
        }
}

/* In a child after fork: it dies with the test (Linux), whatever way the
   test goes, and gets SIGPIPE's default back. */
LOOPBACK_FN void loopback_child_setup(void) {
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    if (getppid() == 1) _exit(126); /* the test is already gone */
    signal(SIGPIPE, SIG_DFL);
}

/* $PYTHON, else "python3". */
LOOPBACK_FN const char *loopback_python(void) {
    const char *python = getenv("PYTHON");
    return python != NULL && python[0] != '\0' ? python : "python3";
}

/* Reads the child's first line ("PORT <n>") from fd within the wait; the
   port, or 0. */
LOOPBACK_FN unsigned loopback_read_port(int fd) {
    char line[LOOPBACK_MAX_LINE];
    size_t n = 0;
    long until = loopback_now_ms() + LOOPBACK_UP_MS;
    unsigned port = 0;
    while (n < sizeof line - 1) {
        struct pollfd p;
        long left = until - loopback_now_ms();
        p.fd = fd;
        p.events = POLLIN;
        p.revents = 0;
        if (left <= 0) break;
        if (poll(&p, 1, (int)(left < 100 ? left : 100)) <= 0) continue;
        if (read(fd, line + n, 1) != 1 || line[n] == '\n') break;
        n++;
    }
    line[n] = '\0';
    if (sscanf(line, "PORT %u", &port) != 1) port = 0;
    return port;
}

/* Starts argv (argv[0] looked up in PATH): a server that prints the line
   "PORT <n>" on stdout once it listens (nothing past that line is read, so
   it must print nothing more). stdin is /dev/null; stderr goes to errlog
   (appended), NULL: the test's own. Waits at most LOOPBACK_UP_MS for the
   line. Returns the PID, tracked, with the port in *port; 0 when the server
   did not come up (then it was stopped). */
LOOPBACK_FN pid_t loopback_spawn(char *const argv[], unsigned *port, const char *errlog) {
    int fds[2];
    pid_t pid;
    *port = 0;
    if (pipe(fds) != 0) return 0;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        int err = errlog != NULL ? open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0644) : -1;
        loopback_child_setup();
        dup2(fds[1], 1);
        if (null >= 0) dup2(null, 0);
        if (err >= 0) dup2(err, 2);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return 0;
    }
    loopback_track(pid);
    *port = loopback_read_port(fds[0]);
    close(fds[0]);
    if (*port == 0) {
        loopback_stop(pid);
        return 0;
    }
    return pid;
}

/* Waits at most ms for the peer's close (a FIN or a reset) to reach the
   connection fd, reading nothing (a peek). 1 once it came; 0 when the wait
   ran out or bytes came instead. For a step that needs the server's close
   to have arrived: a fixed sleep races a server thread descheduled under
   load between its answer and its close. */
LOOPBACK_FN int loopback_wait_closed(int fd, int ms) {
    long until = loopback_now_ms() + ms;
    for (;;) {
        struct pollfd p;
        long left = until - loopback_now_ms();
        char c;
        int r;
        if (left <= 0) return 0;
        p.fd = fd;
        p.events = POLLIN;
        p.revents = 0;
        r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return 0;
        r = (int)recv(fd, &c, 1, MSG_PEEK);
        return r == 0 || (r < 0 && errno == ECONNRESET);
    }
}

/* An http:// URL of a loopback port where nothing listens: one the kernel
   just handed out and that was closed again. */
LOOPBACK_FN void dead_port_url(char *url, size_t size) {
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
LOOPBACK_FN int silent_listener(char *url, size_t size) {
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
