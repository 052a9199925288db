import XCTest

// Placeholder until this module's tests land.
final class PostgresTestsPlaceholder: XCTestCase {}
