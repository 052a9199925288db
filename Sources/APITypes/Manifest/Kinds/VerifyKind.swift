// The `verify` job kind: re-check sizes, layout and both SHA-256s of every shard of a dataset, split over
// tasks across the workers; bad shards are reported and marked bad in the control plane. Same as
// `type: stream` with `mode: verify`.
//
//   spec:
//     type: verify
//     verify: {dataset: web-v1, shardsPerTask: 4}     # or location: /data/tokens/web-v1 (or an http URL)

extension StreamJobKinds {
    /// `spec.type: verify`.
    public static let verify = JobKind(
        name: verifyName, summary: "re-checks every shard of a dataset across the workers and marks bad ones",
        settingsRequired: true
    ) { settings, context in
        checkSplitsItself(context, kind: verifyName)
        _ = settings.choice("mode", [StreamSettings.verifyMode])
        validateVerify(settings)
    }
}
