/// `opsctl serve`'s TLS options (docs/deploy.md, "TLS").
enum TLSOptions {
    static let specs: [OptionSpec] = [
        OptionSpec(
            "tls-cert-file", value: "PATH", help: "serve HTTPS with this certificate (PEM, chain after the leaf)",
            environment: "OPS_TLS_CERT_FILE", default: "plain HTTP"),
        OptionSpec(
            "tls-key-file", value: "PATH", help: "the certificate's private key (PEM)", environment: "OPS_TLS_KEY_FILE"),
        OptionSpec(
            "allow-plain-http",
            help: "serve plain HTTP on a non-loopback --host (a TLS-terminating proxy or mesh is in front)",
            environment: "OPS_ALLOW_PLAIN_HTTP"),
    ]
}
