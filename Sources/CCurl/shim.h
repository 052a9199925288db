#include <curl/curl.h>

// Swift cannot call C variadic functions; curl_easy_setopt/curl_easy_getinfo are reached through
// these fixed-signature helpers, used only by the HTTPClient wrapper.
static inline CURLcode ccurl_setopt_long(CURL *h, CURLoption option, long value) { return curl_easy_setopt(h, option, value); }
static inline CURLcode ccurl_setopt_off_t(CURL *h, CURLoption option, curl_off_t value) { return curl_easy_setopt(h, option, value); }
static inline CURLcode ccurl_setopt_string(CURL *h, CURLoption option, const char *value) { return curl_easy_setopt(h, option, value); }
static inline CURLcode ccurl_setopt_pointer(CURL *h, CURLoption option, void *value) { return curl_easy_setopt(h, option, value); }
static inline CURLcode ccurl_setopt_slist(CURL *h, CURLoption option, struct curl_slist *value) { return curl_easy_setopt(h, option, value); }
static inline CURLcode ccurl_setopt_write_function(CURL *h, CURLoption option, curl_write_callback value) { return curl_easy_setopt(h, option, value); }
static inline CURLcode ccurl_getinfo_long(CURL *h, CURLINFO info, long *value) { return curl_easy_getinfo(h, info, value); }
static inline CURLcode ccurl_setopt_xferinfo_function(CURL *h, curl_xferinfo_callback value) { return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, value); }
