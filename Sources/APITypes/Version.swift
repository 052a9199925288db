// The one version of llm-ops. It is in the wire module because every side reports it: `opsctl version`, the
// worker's registration (`RegisterWorkerRequest.version`) and the control plane's `/healthz`.

/// The version every component reports.
public let opsVersion = "0.1.0"
