// TLS settings: the CA file clients verify the control plane against (`--ca-file`, OPS_CA_FILE), the certificate
// `serve` presents (`--tls-cert-file`/`--tls-key-file`), and the rule that plain HTTP stays on loopback unless
// `--allow-plain-http` says otherwise (tokens cross the wire in every request's Authorization header).

import Control
import Foundation
import HTTPClient

extension Settings {
    /// `--ca-file`, OPS_CA_FILE, the current context's (`opsctl config`): a PEM file of CA certificates, checked readable here so that a typo is reported
    /// as the file, not as a TLS failure. Nil: the system's CA store.
    public func caFile() throws(SettingsError) -> String? {
        var given = string("ca-file")
        if given == nil { given = try currentContext()?.caFile }
        guard let path = given else { return nil }
        let expanded = (path as NSString).expandingTildeInPath
        guard let data = FileManager.default.contents(atPath: expanded) else {
            throw SettingsError(
                "--ca-file: cannot read \(expanded)\(sourceOf("ca-file")); check the path and its permissions")
        }
        guard String(decoding: data, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
            throw SettingsError(
                "--ca-file: \(expanded)\(sourceOf("ca-file")) holds no PEM certificate; expected the CA's certificate "
                    + "(-----BEGIN CERTIFICATE-----)")
        }
        return expanded
    }

    /// The HTTP client of every call to the control plane (API, blobs, datasets): verifies HTTPS against
    /// `caFile()`.
    public func controlPlaneHTTPClient() throws(SettingsError) -> HTTPClient {
        HTTPClient(caFile: try caFile())
    }

    /// `serve --tls-cert-file/--tls-key-file` (OPS_TLS_CERT_FILE/OPS_TLS_KEY_FILE): both or neither.
    public func controlPlaneTLS() throws(SettingsError) -> ControlPlaneTLS? {
        let certificate = string("tls-cert-file").map { ($0 as NSString).expandingTildeInPath }
        let key = string("tls-key-file").map { ($0 as NSString).expandingTildeInPath }
        switch (certificate, key) {
        case (nil, nil): return nil
        case (let certificate?, let key?): return ControlPlaneTLS(certificateFile: certificate, keyFile: key)
        case (nil, _):
            throw SettingsError("serve: --tls-key-file is set but --tls-cert-file is not; pass both (or neither)")
        case (_, nil):
            throw SettingsError("serve: --tls-cert-file is set but --tls-key-file is not; pass both (or neither)")
        }
    }

    /// Refuses plain HTTP on an address other hosts can reach unless `--allow-plain-http` (OPS_ALLOW_PLAIN_HTTP=true)
    /// says a TLS-terminating proxy or mesh is in front.
    func checkPlainHTTPAllowed(host: String, tls: ControlPlaneTLS?) throws(SettingsError) {
        guard tls == nil, !Settings.isLoopback(host) else { return }
        let allowed =
            parsed.flag("allow-plain-http") || ["1", "true", "yes"].contains(environment["OPS_ALLOW_PLAIN_HTTP"])
        guard !allowed else { return }
        throw SettingsError(
            "serve: refusing plain HTTP on \(host): tokens would cross the network unencrypted; pass --tls-cert-file "
                + "and --tls-key-file (docs/deploy.md, \"TLS\"), bind 127.0.0.1, or pass --allow-plain-http when a "
                + "TLS-terminating proxy or mesh is in front")
    }

    /// 127.0.0.0/8 and ::1: reachable from this host only.
    static func isLoopback(_ host: String) -> Bool {
        if host == "::1" || host == "localhost" { return true }
        var address = in_addr()
        guard inet_pton(AF_INET, host, &address) == 1 else { return false }
        return UInt32(bigEndian: address.s_addr) >> 24 == 127
    }

    private func sourceOf(_ option: String) -> String {
        if parsed.value(option) != nil { return "" }
        return string(option) != nil ? " (from OPS_CA_FILE)" : " (from the current context)"
    }
}
