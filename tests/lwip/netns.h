/* netns.h - lwIP inside the test process, on a TAP device in a network
 * namespace the test creates itself (tests/lwip/test_lwip.c,
 * examples/embedded/host.c).
 *
 *   lwIP 198.51.100.2/24 --tapif--> cbktapN 198.51.100.1/24 (the namespace's kernel)
 *
 * The process joins a new namespace "cbk-emb-<pid>" (setns, before any
 * thread exists, so lwIP's threads and every child are in it too), brings
 * up its loopback, creates the TAP device there (ip tuntap), and starts
 * lwIP (tcpip_init) with the unix port's tapif netif on that device
 * (PRECONFIGURED_TAPIF: the port opens /dev/net/tun and attaches, no
 * ifconfig). 198.51.100.0/24 is TEST-NET-2 (RFC 5737), and nothing in the
 * namespace routes anywhere else: no byte leaves it. Servers started with
 * emb_spawn run in the namespace; emb_net_down stops them by PID and
 * deletes the namespace (also from atexit and on SIGINT/SIGTERM/SIGHUP;
 * children get PR_SET_PDEATHSIG). Linux, root.
 *
 * The TAP's MTU is 576: liblwip0 (Debian 12, 2.1.3+dfsg1-2) copies a
 * received frame longer than about 600 bytes past the end of a pool pbuf
 * (AddressSanitizer: heap-buffer-overflow in pbuf_take under tapif's input
 * thread; without it, "malloc(): corrupted top size"); smaller frames keep
 * it inside. Real firmware builds lwIP with its own lwipopts.h and has no
 * such mismatch.
 *
 * emb_net_why() says why this machine cannot run it (or NULL). */
#ifndef CBK_TEST_LWIP_NETNS_H
#define CBK_TEST_LWIP_NETNS_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lwip/tcpip.h"
#include "lwip/netif.h"
#include "netif/tapif.h"

#define EMB_HOST_IP  "198.51.100.1" /* the namespace's kernel side of the TAP */
#define EMB_LWIP_IP  "198.51.100.2" /* lwIP's netif */
#define EMB_MAX_KIDS 8

static char emb_ns[32], emb_tap[16];
static int emb_ns_made;
static volatile pid_t emb_kids[EMB_MAX_KIDS];
/* Padded: liblwip0's build options need not match the lwipopts.h Debian ships
   (its pool pbufs are sized for TCP_MSS 536 while the header says 1460), so
   the library may see a larger struct netif than this file does. */
static union {
    struct netif nif;
    char pad[4096];
} emb_netif_store;
#define emb_netif (emb_netif_store.nif)

/* Runs a shell command quietly; its exit status. */
static int emb_sh(const char *fmt, const char *a, const char *b) {
    char cmd[512];
    int rc;
    snprintf(cmd, sizeof cmd, fmt, a, b);
    rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static int emb_have(const char *prog) {
    return emb_sh("command -v %s >/dev/null 2>&1%s", prog, "") == 0;
}

/* Why the setup cannot run here, or NULL. */
static const char *emb_net_why(void) {
    if (geteuid() != 0) return "needs root (network namespaces and TAP devices)";
    if (access("/dev/net/tun", R_OK | W_OK) != 0) return "no /dev/net/tun (modprobe tun)";
    if (!emb_have("ip")) return "ip not found (apt-get install iproute2)";
    if (!emb_have("python3")) return "python3 not found";
    return NULL;
}

static void emb_stop(pid_t pid) {
    int i, status;
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    for (i = 0; i < 200; i++) { /* 2 s, then SIGKILL */
        if (waitpid(pid, &status, WNOHANG) == pid) return;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
}

/* Stops every child and deletes the namespace's name; idempotent. */
static void emb_net_down(void) {
    int i;
    for (i = 0; i < EMB_MAX_KIDS; i++) {
        pid_t p = emb_kids[i];
        emb_kids[i] = 0;
        emb_stop(p);
    }
    if (emb_ns_made) {
        emb_ns_made = 0;
        /* the TAP device stays attached to lwIP (deleting it under the
           tapif thread makes the port exit(1)); it dies with the namespace
           when this process, its last member, exits */
        (void)emb_sh("ip netns del %s >/dev/null 2>&1%s", emb_ns, "");
    }
}

static void emb_on_signal(int sig) {
    int i;
    for (i = 0; i < EMB_MAX_KIDS; i++)
        if (emb_kids[i] > 0) kill(emb_kids[i], SIGKILL);
    if (emb_ns_made) {
        char path[64];
        snprintf(path, sizeof path, "/run/netns/%s", emb_ns);
        (void)umount2(path, MNT_DETACH);
        (void)unlink(path);
    }
    _exit(128 + sig);
}

static void emb_lwip_ready(void *arg) {
    sys_sem_signal((sys_sem_t *)arg);
}

/* Joins a new namespace, makes the TAP device, starts lwIP on it. 0, or
   -1 with why filled. */
static int emb_net_up(char *why, size_t why_size) {
    ip4_addr_t ip, mask, gw;
    sys_sem_t ready;
    char path[64];
    int fd;
    snprintf(emb_ns, sizeof emb_ns, "cbk-emb-%ld", (long)getpid());
    snprintf(emb_tap, sizeof emb_tap, "cbktap%ld", (long)getpid() % 100000);
    if (emb_sh("ip netns add %s%s", emb_ns, "") != 0) {
        snprintf(why, why_size, "ip netns add %s failed", emb_ns);
        return -1;
    }
    emb_ns_made = 1;
    atexit(emb_net_down);
    signal(SIGINT, emb_on_signal);
    signal(SIGTERM, emb_on_signal);
    signal(SIGHUP, emb_on_signal);
    signal(SIGPIPE, SIG_IGN); /* mbedtls_net_send uses write() */
    snprintf(path, sizeof path, "/run/netns/%s", emb_ns);
    fd = open(path, O_RDONLY);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
        snprintf(why, why_size, "setns(%s): %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    if (emb_sh("ip link set lo up && ip tuntap add dev %s mode tap%s", emb_tap, "") != 0 ||
        emb_sh("ip addr add " EMB_HOST_IP "/24 dev %s && ip link set %s mtu 576 up", emb_tap,
               emb_tap) != 0) {
        snprintf(why, why_size, "could not make TAP device %s in %s", emb_tap, emb_ns);
        return -1;
    }
    setenv("PRECONFIGURED_TAPIF", emb_tap, 1);
    if (sys_sem_new(&ready, 0) != ERR_OK) {
        snprintf(why, why_size, "sys_sem_new failed");
        return -1;
    }
    tcpip_init(emb_lwip_ready, &ready);
    sys_sem_wait(&ready);
    sys_sem_free(&ready);
    ip4addr_aton(EMB_LWIP_IP, &ip);
    ip4addr_aton("255.255.255.0", &mask);
    ip4addr_aton(EMB_HOST_IP, &gw);
    LOCK_TCPIP_CORE();
    netif_add(&emb_netif, &ip, &mask, &gw, NULL, tapif_init, tcpip_input);
    netif_set_default(&emb_netif);
    netif_set_up(&emb_netif);
    UNLOCK_TCPIP_CORE();
    return 0;
}

static void emb_track(pid_t pid) {
    int i;
    for (i = 0; i < EMB_MAX_KIDS; i++)
        if (emb_kids[i] == 0) {
            emb_kids[i] = pid;
            return;
        }
}

/* Starts argv in the namespace (stdout and stderr to errlog); the PID or -1. */
static pid_t emb_spawn_quiet(char *const argv[], const char *errlog) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0644);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    emb_track(pid);
    return pid;
}

/* Starts argv (a server that prints "PORT <n>" once it listens) in the
   namespace; its port to *port. The PID, or -1. stderr goes to errlog. */
static pid_t emb_spawn(char *const argv[], unsigned *port, const char *errlog) {
    int out[2];
    char line[64];
    size_t n = 0;
    pid_t pid;
    if (pipe(out) != 0) return -1;
    pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(errlog ? errlog : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out[1], 1);
        if (fd >= 0) dup2(fd, 2);
        close(out[0]);
        execvp(argv[0], argv);
        _exit(127);
    }
    emb_track(pid);
    close(out[1]);
    while (n + 1 < sizeof line) { /* "PORT <n>\n" */
        ssize_t k = read(out[0], line + n, 1);
        if (k <= 0 || line[n] == '\n') break;
        n++;
    }
    line[n] = '\0';
    close(out[0]);
    if (sscanf(line, "PORT %u", port) != 1) {
        emb_stop(pid);
        return -1;
    }
    return pid;
}

#endif
