/* measure.c - runs a command and reports its wall time, CPU and peak RSS (make bench-e2e).
 *
 *   build/bench-e2e/measure REPORT_FILE COMMAND [ARGS...]
 *
 * Forks, execs COMMAND (stdin, stdout and stderr are this process's), waits with wait4 and
 * writes one line to REPORT_FILE: "<exit status> <wall s> <user+sys s> <peak RSS KiB>".
 * Exits with COMMAND's status (127 when it could not be run).
 *
 * Why a launcher of its own: ru_maxrss of a child counts the pages of the process it was
 * forked from until its exec (the kernel carries the high-water mark over the exec), so a
 * command started straight from the Python harness would report the harness's RSS. Forked
 * from this small process, the figure is the command's own (plus at most this launcher's
 * ~1 MB).
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE

#include <stdio.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double seconds(struct timeval tv) {
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    struct rusage ru;
    double t0;
    int status = 0, code;
    pid_t pid;
    FILE *report;

    if (argc < 3) {
        fputs("usage: measure REPORT_FILE COMMAND [ARGS...]\n", stderr);
        return 2;
    }
    t0 = now_s();
    pid = fork();
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    if (pid < 0 || wait4(pid, &status, 0, &ru) != pid) {
        perror("measure");
        return 127;
    }
    code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    report = fopen(argv[1], "w");
    if (report == NULL) {
        perror(argv[1]);
        return 127;
    }
    fprintf(report, "%d %.6f %.6f %ld\n", code, now_s() - t0,
            seconds(ru.ru_utime) + seconds(ru.ru_stime), ru.ru_maxrss);
    fclose(report);
    return code;
}
