/* srt-gate: an SRT listener that asks its parent (stdin/stdout lines) about each caller's
 * streamid and relays each accepted caller's payload (MPEG-TS) to a UDP port the parent names.
 *   out: "ASK <sock> <peer ip:port> <streamid>"
 *   in:  "OK <sock> <udp port>" | "NO <sock>" | "CLOSE <sock>"
 *   out: "END <sock>" when a caller leaves.
 * The listen callback runs on libsrt's receive thread, which every caller of the port shares: it
 * waits for the parent's answer at most 2 s (then refuses; the caller may retry). */
#include <srt/srt.h>
#include <srt/access_control.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#define MAXS 4096
static int ports[MAXS];
static SRTSOCKET socks[MAXS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int answered[MAXS];

static int slot(SRTSOCKET s) { return (int)((unsigned)s % MAXS); }

static int on_listen(void *o, SRTSOCKET ns, int hs, const struct sockaddr *peer, const char *sid) {
  (void)o; (void)hs;
  char addr[64] = "?";
  if (peer && peer->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)peer;
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    snprintf(addr, sizeof addr, "%s:%d", ip, ntohs(in->sin_port));
  }
  char clean[600]; int j = 0;
  for (int i = 0; sid && sid[i] && j < 512; i++) if (sid[i] > 32 && sid[i] < 127) clean[j++] = sid[i];
  clean[j] = 0;
  int k = slot(ns);
  pthread_mutex_lock(&mu);
  answered[k] = 0; ports[k] = 0; socks[k] = ns;
  printf("ASK %d %s %s\n", ns, addr, j ? clean : "-"); fflush(stdout);
  struct timespec t; clock_gettime(CLOCK_REALTIME, &t); t.tv_sec += 2;
  while (!answered[k]) if (pthread_cond_timedwait(&cv, &mu, &t)) break;
  int port = answered[k] ? ports[k] : 0;
  if (port <= 0) socks[k] = SRT_INVALID_SOCK; /* a late answer for this socket is ignored */
  pthread_mutex_unlock(&mu);
  if (port <= 0) { srt_setrejectreason(ns, SRT_REJX_UNAUTHORIZED); return -1; }
  return 0;
}

static void *reader(void *a) {
  (void)a; char line[256];
  while (fgets(line, sizeof line, stdin)) {
    char cmd[8]; int s = 0, port = 0;
    if (sscanf(line, "%7s %d %d", cmd, &s, &port) < 2) continue;
    if (!strcmp(cmd, "CLOSE")) { srt_close(s); continue; }
    pthread_mutex_lock(&mu);
    int k = slot(s);
    if (socks[k] != s) { pthread_mutex_unlock(&mu); continue; } /* not the handshake waiting in this slot */
    ports[k] = !strcmp(cmd, "OK") ? port : -1; answered[k] = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
  }
  exit(0); /* the parent went away */
}

struct relay_arg { SRTSOCKET c; int port; };

static void *relay(void *a) {
  struct relay_arg r = *(struct relay_arg *)a; free(a);
  SRTSOCKET c = r.c; int port = r.port;
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  char buf[1500]; int n;
  while ((n = srt_recvmsg(c, buf, sizeof buf)) > 0) sendto(u, buf, n, 0, (struct sockaddr *)&to, sizeof to);
  close(u); srt_close(c);
  printf("END %d\n", c); fflush(stdout);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: srt-gate <host> <port> [latency ms]\n"); return 2; }
  srt_startup();
  SRTSOCKET l = srt_create_socket();
  int lat = argc > 3 ? atoi(argv[3]) : 120, yes = 1;
  srt_setsockflag(l, SRTO_LATENCY, &lat, sizeof lat);
  srt_setsockflag(l, SRTO_REUSEADDR, &yes, sizeof yes);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
  inet_pton(AF_INET, argv[1], &sa.sin_addr);
  if (srt_bind(l, (struct sockaddr *)&sa, sizeof sa) == SRT_ERROR || srt_listen_callback(l, on_listen, NULL) || srt_listen(l, 64) == SRT_ERROR) {
    fprintf(stderr, "srt-gate: %s\n", srt_getlasterror_str()); return 1;
  }
  printf("READY\n"); fflush(stdout);
  pthread_t r; pthread_create(&r, NULL, reader, NULL);
  for (;;) {
    struct sockaddr_storage peer; int len = sizeof peer;
    SRTSOCKET c = srt_accept(l, (struct sockaddr *)&peer, &len);
    if (c == SRT_INVALID_SOCK) { usleep(10000); continue; }
    struct relay_arg *a = malloc(sizeof *a);
    pthread_mutex_lock(&mu); a->c = c; a->port = socks[slot(c)] == c ? ports[slot(c)] : 0; socks[slot(c)] = SRT_INVALID_SOCK; pthread_mutex_unlock(&mu);
    pthread_t t;
    if (a->port <= 0 || pthread_create(&t, NULL, relay, a)) { free(a); srt_close(c); continue; }
    pthread_detach(t);
  }
}
