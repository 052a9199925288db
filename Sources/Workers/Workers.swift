// Workers: the worker daemon and everything a node needs to talk to the control plane.
//
// - Executors/   the `JobExecutor` protocol, the `ExecutionContext` executors report through, the registry of
//                job kinds, the artifact store, and the built-in kinds (noop, sleep, fail).
// - Daemon/      `WorkerDaemon`: register, heartbeat, long-poll, run executors within the node's resources,
//                report in batches; retries with backoff (`Backoff`) and keeps undelivered reports (`ReportQueue`).
// - CommandLine/ argument parsing, settings from flags and `OPS_*` variables, and table output for `opsctl`
//                (here rather than in the executable so that it is unit-tested).
