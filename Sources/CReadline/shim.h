#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <readline/readline.h>
#include <readline/history.h>

/* Small helpers so that the Swift side never calls libc for readline's memory: readline frees
 * what completion functions return with free(), and hands out lines the caller must free(). */
static inline char *conn_rl_strdup(const char *s) { return strdup(s); }
static inline void conn_rl_free(void *p) { free(p); }
