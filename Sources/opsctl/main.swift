// opsctl: the single command-line entry point (local cluster, control plane, worker, and the admin commands).
// The command table, parsing and every command live in OpsCommandLine (unit-tested); this file only runs it.

import Foundation
import OpsCommandLine

exit(await Opsctl.run(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment))
