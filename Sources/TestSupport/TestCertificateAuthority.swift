// A throwaway certificate authority made with the `openssl` command (Debian's `openssl`; scripts/install-test-deps.sh
// installs it): a CA certificate, and server certificates for 127.0.0.1 with the serial a test chooses, so a test
// can tell which certificate a server presents (`presentedSerial`).

import Foundation

public struct TestCertificateAuthority: Sendable {
    public let directory: String
    /// The CA's certificate (PEM): what clients pass as `--ca-file`.
    public let certificateFile: String
    private let keyFile: String

    /// An issued server certificate and its key.
    public struct ServerCertificate: Sendable {
        public let certificateFile: String
        public let keyFile: String
        /// Hex, as `openssl x509 -serial` prints it.
        public let serialHex: String
    }

    /// Makes a new CA named `name` in `directory` (an ECDSA P-256 key, valid 2 days).
    public init(directory: String, name: String) throws {
        self.directory = directory
        certificateFile = directory + "/\(name)-ca.pem"
        keyFile = directory + "/\(name)-ca.key"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", keyFile, "-out", certificateFile, "-days", "2", "-subj", "/CN=\(name) test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
    }

    /// A server certificate for 127.0.0.1 and localhost with `serial`, signed by this CA, written to
    /// `<name>.pem`/`<name>.key` (replacing them: a renewed certificate at the same paths).
    public func issueServerCertificate(name: String, serial: UInt32) throws -> ServerCertificate {
        let key = directory + "/\(name).key"
        let request = directory + "/\(name).csr"
        let certificate = directory + "/\(name).pem"
        let extensions = directory + "/\(name).ext"
        try """
        subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
        extendedKeyUsage=serverAuth
        keyUsage=critical,digitalSignature
        """.write(toFile: extensions, atomically: true, encoding: .utf8)
        try Self.openssl([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
            "-out", request, "-subj", "/CN=127.0.0.1",
        ])
        let serialHex = String(serial, radix: 16, uppercase: true)
        try Self.openssl([
            "x509", "-req", "-in", request, "-CA", certificateFile, "-CAkey", keyFile, "-set_serial", "0x\(serialHex)",
            "-days", "2", "-extfile", extensions, "-out", certificate,
        ])
        return ServerCertificate(certificateFile: certificate, keyFile: key, serialHex: serialHex)
    }

    /// The serial (hex) of the certificate a TLS server on `127.0.0.1:port` presents to a new connection, read with
    /// `openssl s_client` (which does not verify: it only shows what the server sent).
    public static func presentedSerial(port: Int) throws -> String {
        let shown = try run(
            "/bin/sh",
            [
                "-c",
                "openssl s_client -connect 127.0.0.1:\(port) </dev/null 2>/dev/null | openssl x509 -noout -serial",
            ])
        guard let line = shown.split(separator: "\n").first(where: { $0.hasPrefix("serial=") }) else {
            throw CertificateToolError("no certificate on 127.0.0.1:\(port): openssl printed '\(shown)'")
        }
        return String(line.dropFirst("serial=".count)).trimmingCharacters(in: .whitespaces)
    }

    /// Skips unless the `openssl` command exists (CI installs it with scripts/install-test-deps.sh).
    public static var opensslPath: String? {
        ["/usr/bin/openssl", "/usr/local/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private static func openssl(_ arguments: [String]) throws {
        guard let path = opensslPath else {
            throw CertificateToolError("the openssl command is not installed; run scripts/install-test-deps.sh")
        }
        _ = try run(path, arguments)
    }

    @discardableResult
    private static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CertificateToolError(
                "\(executable) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus): \(output)")
        }
        return output
    }
}

public struct CertificateToolError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The inode of the socket listening on TCP `port` (from /proc/net/tcp and tcp6, which list every socket of the
/// network namespace, whichever process holds it): the same inode before and after an event means the
/// listener was never closed and reopened.
public func listeningSocketInode(port: Int) -> String? {
    let portHex = String(format: "%04X", port)
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            guard fields.count > 9, fields[1].hasSuffix(":" + portHex), fields[3] == "0A" else { continue }
            return String(fields[9])
        }
    }
    return nil
}
