/* arch/sys_arch.h - the RTOS types lwIP's headers need (an RTOS port
 * defines them from its own semaphores, mutexes, queues and tasks). */
#ifndef CBK_CM4_SYS_ARCH_H
#define CBK_CM4_SYS_ARCH_H

typedef void *sys_sem_t;
typedef void *sys_mutex_t;
typedef void *sys_mbox_t;
typedef void *sys_thread_t;
typedef unsigned long sys_prot_t;
#define SYS_MBOX_NULL            NULL
#define SYS_SEM_NULL             NULL
#define sys_sem_valid(s)         (*(s) != NULL)
#define sys_sem_set_invalid(s)   (*(s) = NULL)
#define sys_mutex_valid(m)       (*(m) != NULL)
#define sys_mutex_set_invalid(m) (*(m) = NULL)
#define sys_mbox_valid(m)        (*(m) != NULL)
#define sys_mbox_set_invalid(m)  (*(m) = NULL)

#endif
