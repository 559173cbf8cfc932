/* m3_vectors.c - the vector table for the unit tests on QEMU's mps2-an385.
 *
 * Reset sets the stack and jumps to newlib's _start (rdimon-crt0), which
 * zeroes .bss, sets up semihosting and calls main. A fault reports itself
 * through semihosting and exits nonzero instead of hanging QEMU. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern char __stack[];
extern void _start(void);

void cbk_m3_reset(void);
void cbk_m3_fault(void);

__attribute__((naked, noreturn)) void cbk_m3_reset(void) {
    __asm__ volatile("ldr r0, =__stack\n"
                     "mov sp, r0\n"
                     "b _start\n");
}

void cbk_m3_fault(void) {
    static const char msg[] = "cbk_m3: fault (hard fault, bus, usage or memory)\n";
    volatile uint32_t cfsr = *(volatile uint32_t *)0xE000ED28u;
    volatile uint32_t bfar = *(volatile uint32_t *)0xE000ED38u;
    fputs(msg, stderr);
    fprintf(stderr, "CFSR=%08lx BFAR=%08lx\n", (unsigned long)cfsr, (unsigned long)bfar);
    exit(3);
}

typedef void (*cbk_m3_handler)(void);

__attribute__((section(".isr_vector"), used)) const cbk_m3_handler cbk_m3_vectors[16] = {
    (cbk_m3_handler)(uintptr_t)__stack, /* initial SP */
    cbk_m3_reset,                       /* reset */
    cbk_m3_fault,                       /* NMI */
    cbk_m3_fault,                       /* hard fault */
    cbk_m3_fault,                       /* memory management */
    cbk_m3_fault,                       /* bus fault */
    cbk_m3_fault,                       /* usage fault */
    0,
    0,
    0,
    0,
    cbk_m3_fault, /* SVC */
    cbk_m3_fault, /* debug monitor */
    0,
    cbk_m3_fault, /* PendSV */
    cbk_m3_fault, /* SysTick */
};
