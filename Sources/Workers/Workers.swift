// Workers: the worker daemon and everything a node needs to talk to the control plane.
//
// - Executors/   the `JobExecutor` protocol, the `ExecutionContext` executors report through, the registry of
//                job kinds, the artifact store, and the built-in kinds (noop, sleep, fail).
// - Daemon/      `WorkerDaemon`: register, heartbeat, long-poll, run executors within the node's resources,
//                report in batches; retries with backoff (`Backoff`) and keeps undelivered reports (`ReportQueue`).
// - Training/    the `train` kind: one worker or a DiLoCo gang, checkpoints, the text codec.
//
// The control plane is reached through APIClient; `opsctl worker` (in OpsCommandLine) starts the daemon.
