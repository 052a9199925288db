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
