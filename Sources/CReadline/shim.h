#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <readline/readline.h>
#include <readline/history.h>

/* Small helpers so that the Swift side never calls libc for readline's memory: readline frees
 * what completion functions return with free(), and hands out lines the caller must free(). */
static inline char *conn_rl_strdup(const char *s) { return strdup(s); }
static inline void conn_rl_free(void *p) { free(p); }

/* Readline reads and writes the tool's own terminal streams, which are not descriptors 0 and 1
 * once the scenarios have those (see StandardStreams). */
static inline void conn_rl_use_descriptors(int in, int out) {
  FILE *i = in == 0 ? stdin : fdopen(in, "r");
  FILE *o = out == 1 ? stdout : fdopen(out, "w");
  if (i) rl_instream = i;
  if (o) rl_outstream = o;
}
