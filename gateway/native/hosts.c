/* Loaded with LD_PRELOAD into a function's process: the host names listed in
 * WSGATE_HOSTS ("name,name,…") resolve to 127.77.77.77, and connections to that
 * address (any port) go to WSGATE_HOSTS_TARGET ("127.0.0.1:PORT") instead.
 * Every other name and address is left to libc. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define MAGIC "127.77.77.77"

static int listed(const char *name) {
    const char *list = getenv("WSGATE_HOSTS");
    if (!name || !list) return 0;
    size_t n = strlen(name);
    while (n > 0 && name[n - 1] == '.') n--; /* a trailing root dot */
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncasecmp(p, name, n) == 0) return 1;
        if (!end) break;
        p = end + 1;
    }
    return 0;
}

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res) {
    static gai_fn real;
    if (!real) real = (gai_fn)dlsym(RTLD_NEXT, "getaddrinfo");
    if (!listed(node)) return real(node, service, hints, res);
    struct addrinfo h;
    memset(&h, 0, sizeof h);
    if (hints) h = *hints;
    h.ai_flags = (h.ai_flags & ~AI_CANONNAME) | AI_NUMERICHOST;
    if (h.ai_family == AF_INET6) {
        h.ai_flags |= AI_V4MAPPED;
        return real("::ffff:" MAGIC, service, &h, res);
    }
    h.ai_family = AF_INET;
    return real(MAGIC, service, &h, res);
}

static int target(struct sockaddr_in *out) {
    const char *t = getenv("WSGATE_HOSTS_TARGET");
    if (!t) return 0;
    char host[64];
    const char *colon = strrchr(t, ':');
    if (!colon || (size_t)(colon - t) >= sizeof host) return 0;
    memcpy(host, t, colon - t);
    host[colon - t] = 0;
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons((unsigned short)atoi(colon + 1));
    return inet_pton(AF_INET, host, &out->sin_addr) == 1;
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    static connect_fn real;
    if (!real) real = (connect_fn)dlsym(RTLD_NEXT, "connect");
    /* 127.77.77.77, as MAGIC spells it, in network order. */
    struct in_addr magic = {.s_addr = htonl(0x7F4D4D4Du)};
    if (addr && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        struct sockaddr_in to;
        if (in->sin_addr.s_addr == magic.s_addr && target(&to))
            return real(fd, (struct sockaddr *)&to, sizeof to);
    }
    if (addr && addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        struct sockaddr_in to;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
            memcmp(&in6->sin6_addr.s6_addr[12], &magic.s_addr, 4) == 0 && target(&to)) {
            /* A v6 socket reaches a v4 address through its mapped form. */
            struct sockaddr_in6 mapped = *in6;
            mapped.sin6_port = to.sin_port;
            memcpy(&mapped.sin6_addr.s6_addr[12], &to.sin_addr.s_addr, 4);
            return real(fd, (struct sockaddr *)&mapped, sizeof mapped);
        }
    }
    return real(fd, addr, len);
}
