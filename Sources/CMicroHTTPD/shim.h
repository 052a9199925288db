#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <microhttpd.h>

// Swift cannot call C variadic functions; these fixed-signature helpers are the only
// variadic calls the HTTPServer wrapper needs.

/// Leaves the URL's and the query arguments' percent escapes as they are (libmicrohttpd's own unescaping turns
/// `%00` into a NUL that ends the C string early, so `/v1/jobs/a%00b/cancel` reached the handler as
/// `/v1/jobs/a`); the Swift side decodes them once, NULs included (`PercentDecoding`).
static inline size_t cmhd_keep_escapes(void *cls, struct MHD_Connection *connection, char *s) {
    (void)cls;
    (void)connection;
    return strlen(s);
}

/// The limits a daemon starts with (see HTTPServerConfiguration for what each one guards against).
struct cmhd_limits {
    unsigned int connection_limit;
    unsigned int per_address_connection_limit; // 0: no limit per address
    unsigned int connection_timeout_seconds;
    unsigned int event_thread_count;           // threads of the epoll loop (MHD_OPTION_THREAD_POOL_SIZE)
    unsigned int listen_backlog;
};

/// Starts a daemon bound to `addr` with the given flags and limits.
static inline struct MHD_Daemon *cmhd_start_daemon(unsigned int flags,
                                                   const struct sockaddr *addr,
                                                   struct cmhd_limits limits,
                                                   MHD_AccessHandlerCallback handler, void *handler_cls,
                                                   MHD_RequestCompletedCallback completed, void *completed_cls) {
    uint16_t port = 0;
    if (addr->sa_family == AF_INET) port = ntohs(((const struct sockaddr_in *)addr)->sin_port);
    else if (addr->sa_family == AF_INET6) port = ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
    return MHD_start_daemon(flags, port, NULL, NULL, handler, handler_cls,
                            MHD_OPTION_SOCK_ADDR, addr,
                            MHD_OPTION_CONNECTION_LIMIT, limits.connection_limit,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, limits.per_address_connection_limit,
                            MHD_OPTION_CONNECTION_TIMEOUT, limits.connection_timeout_seconds,
                            MHD_OPTION_THREAD_POOL_SIZE, limits.event_thread_count,
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, limits.listen_backlog,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
                            MHD_OPTION_UNESCAPE_CALLBACK, cmhd_keep_escapes, NULL,
                            MHD_OPTION_END);
}

/// The port the daemon listens on (useful after binding port 0).
static inline uint16_t cmhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

/// The peer address of a connection, or NULL.
static inline const struct sockaddr *cmhd_client_address(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info ? info->client_addr : NULL;
}
