import APITypes
import ClusterModel
import XCTest

@testable import Control

final class AuthorizerTests: XCTestCase {
    private func makeAuthorizer() -> (Authorizer, Secret) {
        let workerToken = Secret("worker-seven-token")
        let authorizer = Authorizer(adminToken: Secret("admin-token"), joinToken: Secret("join-token")) { hash in
            hash == workerToken.hashHex ? WorkerID(7) : nil
        }
        return (authorizer, workerToken)
    }

    func testPrincipalsFromTokens() throws {
        let (authorizer, workerToken) = makeAuthorizer()
        XCTAssertEqual(try authorizer.principal(forAuthorizationHeader: "Bearer admin-token"), .admin)
        XCTAssertEqual(try authorizer.principal(forAuthorizationHeader: "bearer join-token"), .joiningWorker)
        XCTAssertEqual(
            try authorizer.principal(forAuthorizationHeader: "Bearer \(workerToken.value)"), .worker(WorkerID(7)))
        XCTAssertThrowsError(try authorizer.principal(forAuthorizationHeader: nil)) {
            XCTAssertEqual($0 as? AuthorizationError, .missingToken)
        }
        XCTAssertThrowsError(try authorizer.principal(forAuthorizationHeader: "Basic abc")) {
            XCTAssertEqual($0 as? AuthorizationError, .missingToken)
        }
        XCTAssertThrowsError(try authorizer.principal(forAuthorizationHeader: "Bearer admin-tokem")) {
            XCTAssertEqual($0 as? AuthorizationError, .unknownToken)
        }
    }

    /// Named tokens (`ops_…`) are found by their SHA-256 through one lookup; a worker's is never asked for one,
    /// and an `ops_` token no row holds is a 401. Each scope passes the route permissions it allows.
    func testNamedTokensByHashAndTheirScopes() throws {
        let secret = Secret("ops_" + String(repeating: "5", count: 64))
        let named = NamedToken(name: "ci", scope: .submitter, queues: ["research"])
        let authorizer = Authorizer(
            adminToken: Secret("admin-token"), joinToken: Secret("join-token"),
            workerForTokenHash: { _ in
                XCTFail("an ops_ token is not a worker's")
                return nil
            },
            namedTokenForHash: { hash in hash == secret.hashHex ? named : nil })
        XCTAssertEqual(try authorizer.principal(forAuthorizationHeader: "Bearer \(secret.value)"), .token(named))
        XCTAssertThrowsError(try authorizer.principal(forAuthorizationHeader: "Bearer ops_nope")) {
            XCTAssertEqual($0 as? AuthorizationError, .unknownToken)
        }
        XCTAssertEqual(Principal.token(named).actorName, "ci")
        XCTAssertEqual(Principal.admin.actorName, "admin")
        XCTAssertNil(Principal.worker(WorkerID(1)).actorName)

        let expected: [TokenScope: [RouteScope: Bool]] = [
            .viewer: [.read: true, .submit: false, .admin: false],
            .submitter: [.read: true, .submit: true, .admin: false],
            .admin: [.read: true, .submit: true, .admin: true],
        ]
        for (scope, permissions) in expected {
            let principal = Principal.token(NamedToken(name: "t", scope: scope, queues: []))
            for (permission, allowed) in permissions {
                if allowed {
                    XCTAssertNoThrow(try principal.requireOperator(permission), "\(scope) on \(permission)")
                } else {
                    XCTAssertThrowsError(try principal.requireOperator(permission), "\(scope) on \(permission)") {
                        XCTAssertTrue("\($0)".contains("needs a token of scope"), "\($0)")
                    }
                }
            }
            XCTAssertThrowsError(try principal.requireWorker(WorkerID(1)), "\(scope) acts for no worker")
        }
        for permission in [RouteScope.read, .submit, .admin] {
            XCTAssertNoThrow(try Principal.admin.requireOperator(permission))
            XCTAssertThrowsError(try Principal.worker(WorkerID(7)).requireOperator(permission))
        }
    }

    func testWorkerMayOnlyActForItself() throws {
        XCTAssertNoThrow(try Principal.worker(WorkerID(7)).requireWorker(WorkerID(7)))
        XCTAssertThrowsError(try Principal.worker(WorkerID(7)).requireWorker(WorkerID(8)))
        XCTAssertThrowsError(try Principal.worker(WorkerID(7)).requireAdmin())
        XCTAssertThrowsError(try Principal.joiningWorker.requireWorker(WorkerID(7)))
        XCTAssertNoThrow(try Principal.joiningWorker.requireMayRegister())
        XCTAssertNoThrow(try Principal.admin.requireWorker(WorkerID(8)))
    }

    func testSecretsAreNeverPrinted() {
        let secret = Secret("s3cr3t-value")
        XCTAssertFalse("\(secret)".contains("s3cr3t"))
        XCTAssertFalse(String(reflecting: secret).contains("s3cr3t"))
        XCTAssertEqual(Secret.random().value.count, 64)
        XCTAssertNotEqual(Secret.random(), Secret.random())
    }

    func testTokenSourcePrefersFileAndRejectsEmpty() throws {
        let path = NSTemporaryDirectory() + "token-\(UUID().uuidString)"
        try "from-file\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(
            try TokenSource.load(variable: "OPS_TOKEN", environment: ["OPS_TOKEN": "env", "OPS_TOKEN_FILE": path])?
                .value, "from-file")
        XCTAssertEqual(try TokenSource.load(variable: "OPS_TOKEN", environment: ["OPS_TOKEN": "env"])?.value, "env")
        XCTAssertNil(try TokenSource.load(variable: "OPS_TOKEN", environment: [:]))
        XCTAssertThrowsError(try TokenSource.load(variable: "OPS_TOKEN", environment: ["OPS_TOKEN": ""]))
        XCTAssertThrowsError(
            try TokenSource.load(variable: "OPS_TOKEN", environment: ["OPS_TOKEN_FILE": path + ".missing"])
        ) {
            XCTAssertTrue("\($0)".contains(".missing"))
        }
    }

    func testConstantTimeEquals() {
        XCTAssertTrue(constantTimeEquals("abc", "abc"))
        XCTAssertFalse(constantTimeEquals("abc", "abd"))
        XCTAssertFalse(constantTimeEquals("abc", "abcd"))
    }
}
