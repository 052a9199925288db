// `opsctl worker --devices`: the device ids command jobs get as CUDA_VISIBLE_DEVICES (docs/your-own-code.md).

import ClusterModel
import Foundation
import XCTest

@testable import OpsCommandLine

final class WorkerDevicesTests: XCTestCase {
    private func devices(_ line: String, environment: [String: String] = [:]) throws -> [String] {
        let settings = Settings(
            parsed: try OpsCommands.parser.parse(line.split(separator: " ").map(String.init)), environment: environment)
        let configuration = try settings.workerConfiguration(hostName: "host", cores: 2, memory: 1 << 30)
        return try WorkerCommand.devices(settings, offering: configuration.resources)
    }

    func testOneDeviceIdPerAcceleratorFromTheFlagOrTheVariable() throws {
        XCTAssertEqual(try devices("worker --accelerator gpu=2 --devices 0,1"), ["0", "1"])
        XCTAssertEqual(
            try devices("worker --accelerator gpu=2", environment: ["OPS_WORKER_DEVICES": "2, 3"]), ["2", "3"])
        XCTAssertEqual(try devices("worker"), [], "no devices declared: CUDA_VISIBLE_DEVICES is left alone")
    }

    func testACountThatDisagreesWithTheAcceleratorsOrARepeatedIdSaysWhatToWrite() throws {
        for line in [
            "worker --devices 0,1", "worker --accelerator gpu=2 --devices 0",
            "worker --accelerator gpu=2 --devices 1,1",
        ] {
            XCTAssertThrowsError(try devices(line), line) { error in
                XCTAssertTrue("\(error)".contains("--devices: expected"), "\(error)")
                XCTAssertTrue("\(error)".contains("--accelerator gpu=2 --devices 0,1"), "\(error)")
            }
        }
    }
}
