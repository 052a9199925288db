import Foundation

/// An access key pair (and the session token of temporary credentials). `description` shows the key ID only:
/// the secret never reaches a log or an error message.
public struct S3Credentials: Sendable, Equatable, CustomStringConvertible {
    public let accessKeyID: String
    public let secretAccessKey: String
    public let sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String { "S3Credentials(accessKeyID: \(accessKeyID), secret: <redacted>)" }

    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and (optional) AWS_SESSION_TOKEN.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ObjectStoreError) -> S3Credentials
    {
        guard let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty,
            let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty
        else {
            throw .missingCredentials(
                detail: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a credentials file")
        }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return S3Credentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token)
    }

    /// The `[profile]` section of an AWS shared-credentials file (`~/.aws/credentials` format: INI sections of
    /// `aws_access_key_id`, `aws_secret_access_key`, optional `aws_session_token`; `#`/`;` comments).
    public static func fromFile(_ path: String, profile: String = "default") throws(ObjectStoreError) -> S3Credentials {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .localFile(path: path, detail: "cannot read the credentials file (does it exist and is it readable?)")
        }
        let values = parseProfile(String(decoding: data, as: UTF8.self), profile: profile)
        guard let id = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] else {
            throw .missingCredentials(
                detail: "profile [\(profile)] of \(path) lacks aws_access_key_id or aws_secret_access_key")
        }
        return S3Credentials(accessKeyID: id, secretAccessKey: secret, sessionToken: values["aws_session_token"])
    }

    static func parseProfile(_ text: String, profile: String) -> [String: String] {
        var section: String?
        var values: [String: String] = [:]
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                section = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                continue
            }
            guard section == profile, let equals = line.firstIndex(of: "=") else { continue }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            values[name] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        return values
    }
}

extension S3Credentials {
    /// The credentials a process finds for itself, in the AWS tools' order: the environment's
    /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` when set, else profile `AWS_PROFILE` (default `default`) of
    /// the file `AWS_SHARED_CREDENTIALS_FILE` (default `~/.aws/credentials`). The control plane never hands keys
    /// to workers: each node resolves its own.
    public static func resolve(_ environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ObjectStoreError) -> S3Credentials
    {
        if environment["AWS_ACCESS_KEY_ID"].map({ !$0.isEmpty }) == true {
            return try fromEnvironment(environment)
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let file =
            environment["AWS_SHARED_CREDENTIALS_FILE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? home + "/.aws/credentials"
        let profile = environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        guard FileManager.default.fileExists(atPath: file) else {
            throw .missingCredentials(
                detail: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write profile [\(profile)] to \(file) "
                    + "(AWS_SHARED_CREDENTIALS_FILE and AWS_PROFILE choose another file or profile)")
        }
        return try fromFile(file, profile: profile)
    }
}
