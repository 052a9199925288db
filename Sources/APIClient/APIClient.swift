// APIClient: the REST API as Swift calls, shared by the worker daemon and `opsctl`.
//
// - `ControlPlaneAPI` (the worker protocol) and `OpsClient` (the admin API), both over an `APIRequester`
//   (base URL, bearer token, wire coders) that maps every answer that is not a 2xx to a `ControlPlaneError`.
// - `HTTPTransport`, the one thing the clients need from HTTP; `CurlTransport` is the libcurl implementation.
