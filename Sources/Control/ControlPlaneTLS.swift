import Foundation
import HTTPServer

/// Where a control plane's HTTPS certificate and key live (`opsctl serve --tls-cert-file --tls-key-file`). Paths,
/// not contents: SIGHUP reads them again (`ControlPlane.reloadTLSCertificate`).
public struct ControlPlaneTLS: Sendable, Equatable {
    /// PEM: the server's certificate, then any intermediates.
    public var certificateFile: String
    /// PEM: the private key of that certificate (unencrypted; mode 0600, readable by the service's user only).
    public var keyFile: String

    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    /// Reads both files; errors name the file and what was expected of it.
    func credentials() throws(TLSCredentialsError) -> TLSCredentials {
        try TLSCredentials(certificateFile: certificateFile, privateKeyFile: keyFile)
    }
}

/// Why a certificate reload did nothing.
public enum ControlPlaneTLSError: Error, CustomStringConvertible, Sendable {
    case notConfigured
    case notStarted

    public var description: String {
        switch self {
        case .notConfigured:
            return "this control plane serves plain HTTP; start it with --tls-cert-file and --tls-key-file to reload "
                + "certificates"
        case .notStarted: return "the control plane is not serving yet; nothing to reload"
        }
    }
}

extension ControlPlane {
    /// SIGHUP: reads the certificate and key files again and presents them to every new connection, keeping the
    /// listening socket open and letting requests in flight finish (`HTTPServer.reloadCertificate`). A new pair
    /// that does not load is refused and the previous certificate stays.
    public func reloadTLSCertificate() throws {
        guard let tls = configuration.tls else { throw ControlPlaneTLSError.notConfigured }
        guard let server else { throw ControlPlaneTLSError.notStarted }
        try server.reloadCertificate(try tls.credentials())
    }
}
