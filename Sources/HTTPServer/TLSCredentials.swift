// The certificate and private key an HTTPS server presents, read from two PEM files. Read again on every
// `HTTPServer.reloadCertificate`, so a renewed certificate (cert-manager, certbot, a 90-day CA) is picked up on
// SIGHUP without a restart.

import CMicroHTTPD
import Foundation

public struct TLSCredentials: Sendable, Equatable {
    public let certificateFile: String
    public let privateKeyFile: String
    /// PEM text (the chain: the server's certificate first, then intermediates).
    let certificatePEM: String
    let privateKeyPEM: String

    /// Files larger than this are not certificates or keys (a chain of ten 4096-bit certificates is ~20 KiB).
    public static let maxFileBytes = 1 << 20

    /// Reads both files and checks that each holds the PEM block it should; whether the key belongs to the
    /// certificate is checked by `HTTPServer.start`/`reloadCertificate` with GnuTLS itself.
    public init(certificateFile: String, privateKeyFile: String) throws(TLSCredentialsError) {
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        certificatePEM = try Self.readPEM(certificateFile, role: "certificate", marker: "-----BEGIN CERTIFICATE-----")
        privateKeyPEM = try Self.readPEM(privateKeyFile, role: "private key", marker: "PRIVATE KEY-----")
    }

    private static func readPEM(_ path: String, role: String, marker: String) throws(TLSCredentialsError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
            throw .unreadable(file: path, role: role, reason: reason)
        }
        guard data.count <= maxFileBytes else {
            throw .notPEM(file: path, role: role, expected: "at most \(maxFileBytes) bytes of PEM text")
        }
        let text = String(decoding: data, as: UTF8.self)
        guard text.contains(marker) else { throw .notPEM(file: path, role: role, expected: "a PEM block '\(marker)'") }
        return text
    }
}

public enum TLSCredentialsError: Error, CustomStringConvertible, Sendable, Equatable {
    case unreadable(file: String, role: String, reason: String)
    case notPEM(file: String, role: String, expected: String)
    /// GnuTLS refused the pair: the key does not belong to the certificate, or one of them does not parse.
    case rejected(certificateFile: String, privateKeyFile: String)
    /// This libmicrohttpd was built without TLS.
    case notSupported

    public var description: String {
        switch self {
        case .unreadable(let file, let role, let reason):
            return "cannot read the TLS \(role) file \(file): \(reason); check the path and its permissions"
        case .notPEM(let file, let role, let expected):
            return "the TLS \(role) file \(file) is not a PEM \(role): expected \(expected)"
        case .rejected(let certificate, let key):
            return
                "the TLS private key \(key) does not match the certificate \(certificate) (or one of them cannot be "
                + "parsed); check both with `openssl x509 -noout -pubkey -in \(certificate)` and "
                + "`openssl pkey -pubout -in \(key)`"
        case .notSupported:
            return
                "this libmicrohttpd was built without TLS (MHD_FEATURE_TLS); install Debian's libmicrohttpd12 (built "
                + "with GnuTLS) or serve plain HTTP behind a TLS-terminating proxy with --allow-plain-http"
        }
    }
}

extension TLSCredentials {
    /// Throws unless this libmicrohttpd has TLS and GnuTLS accepts the key with the certificate (so a daemon can
    /// check its files before it waits for anything else).
    public func checkUsable() throws(TLSCredentialsError) {
        guard cmhd_tls_supported() != 0 else { throw .notSupported }
        guard cmhd_tls_credentials_usable(privateKeyPEM, certificatePEM) != 0 else {
            throw .rejected(certificateFile: certificateFile, privateKeyFile: privateKeyFile)
        }
    }
}
