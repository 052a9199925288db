#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
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

/// libmicrohttpd's messages, printed to standard error as its own logger prints them, except the one for a failed TLS
/// handshake: every event-thread wake of an HTTPS daemon ends in one, four a second with the defaults
/// (HTTPServer/EventThreadWaker.swift), and a client whose handshake failed reports the failure itself.
static inline void cmhd_log(void *cls, const char *format, va_list arguments) {
    (void)cls;
    if (strstr(format, "received handshake message out of context") != NULL) return;
    vfprintf(stderr, format, arguments);
}

/// The limits a daemon starts with (see HTTPServerConfiguration for what each one guards against).
struct cmhd_limits {
    unsigned int connection_limit;
    unsigned int per_address_connection_limit; // 0: no limit per address
    unsigned int connection_timeout_seconds;
    unsigned int event_thread_count;           // threads of the epoll loop (MHD_OPTION_THREAD_POOL_SIZE)
    unsigned int listen_backlog;
};

/// A daemon's certificate: HTTPS when `key_pem` and `cert_pem` are both set (PEM text, NUL-terminated, alive until
/// the daemon stops). Daemons never listen themselves (MHD_USE_NO_LISTEN_SOCKET): the Swift side owns the socket
/// and hands accepted connections over with MHD_add_connection (HTTPServer/ListeningSocket.swift says why).
struct cmhd_endpoint {
    const char *key_pem;
    const char *cert_pem;
};

/// Starts a daemon with no listening socket: the optional options go through MHD_OPTION_ARRAY (Swift cannot build
/// a variadic list whose length depends on the configuration).
static inline struct MHD_Daemon *cmhd_start_endpoint_daemon(unsigned int flags, struct cmhd_endpoint endpoint,
                                                            struct cmhd_limits limits,
                                                            MHD_AccessHandlerCallback handler, void *handler_cls,
                                                            MHD_RequestCompletedCallback completed,
                                                            void *completed_cls) {
    struct MHD_OptionItem options[3];
    int count = 0;
    flags |= MHD_USE_NO_LISTEN_SOCKET;
    if (endpoint.key_pem != NULL && endpoint.cert_pem != NULL) {
        flags |= MHD_USE_TLS;
        options[count++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)endpoint.key_pem};
        options[count++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)endpoint.cert_pem};
    }
    options[count] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return MHD_start_daemon(flags, 0, NULL, NULL, handler, handler_cls,
                            MHD_OPTION_EXTERNAL_LOGGER, cmhd_log, NULL, // first: it must be (libmicrohttpd warns)
                            MHD_OPTION_ARRAY, options,
                            MHD_OPTION_CONNECTION_LIMIT, limits.connection_limit,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, limits.per_address_connection_limit,
                            MHD_OPTION_CONNECTION_TIMEOUT, limits.connection_timeout_seconds,
                            MHD_OPTION_THREAD_POOL_SIZE, limits.event_thread_count,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
                            MHD_OPTION_UNESCAPE_CALLBACK, cmhd_keep_escapes, NULL,
                            MHD_OPTION_END);
}

static inline enum MHD_Result cmhd_refuse_all(void *cls, struct MHD_Connection *connection, const char *url,
                                              const char *method, const char *version, const char *upload_data,
                                              size_t *upload_data_size, void **con_cls) {
    (void)cls; (void)connection; (void)url; (void)method; (void)version; (void)upload_data;
    (void)upload_data_size; (void)con_cls;
    return MHD_NO;
}

/// Whether GnuTLS accepts this key and certificate (parsed, and the key belongs to the certificate), checked by
/// starting and stopping a daemon that listens nowhere: the same code path a serving daemon's start takes.
static inline int cmhd_tls_credentials_usable(const char *key_pem, const char *cert_pem) {
    struct MHD_Daemon *probe = MHD_start_daemon(MHD_USE_TLS | MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL,
                                                cmhd_refuse_all, NULL,
                                                MHD_OPTION_HTTPS_MEM_KEY, key_pem,
                                                MHD_OPTION_HTTPS_MEM_CERT, cert_pem,
                                                MHD_OPTION_END);
    if (probe == NULL) return 0;
    MHD_stop_daemon(probe);
    return 1;
}

/// Whether this libmicrohttpd was built with TLS (Debian's links GnuTLS).
static inline int cmhd_tls_supported(void) { return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES; }

/// The peer address of a connection, or NULL.
static inline const struct sockaddr *cmhd_client_address(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info ? info->client_addr : NULL;
}
