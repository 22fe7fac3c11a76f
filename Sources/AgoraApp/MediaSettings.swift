package import AgoraMedia
import Foundation

/// Where uploaded images are kept (`AGORA_MEDIA_STORE`, `AGORA_MEDIA_S3_*`).
package struct MediaSettings: Sendable {
    /// `local`: a folder of this host (`$AGORA_DATA_DIR/media`), for one host. `s3`: an S3-compatible bucket that
    /// every host shares.
    package enum Store: String, Sendable { case local, s3 }

    package var store: Store
    package var localDirectory: String
    /// The bucket's settings when `store` is `s3`.
    package var s3: S3MediaStorage.Settings?

    /// Safe to log: no keys.
    var summary: String {
        switch store {
        case .local: "local \(localDirectory)"
        case .s3: s3.map { "s3 \($0.endpoint) bucket \($0.bucket)\($0.prefix.isEmpty ? "" : " prefix \($0.prefix)")" } ?? "s3"
        }
    }

    static func read(
        env: [String: String],
        dataDirectory: String,
        maxImageSize: Int,
        string: (String, String) -> String,
        int: (String, Int, ClosedRange<Int>) -> Int,
        bool: (String, Bool) -> Bool,
        problem: (String) -> Void
    ) -> MediaSettings {
        let storeName = string("AGORA_MEDIA_STORE", "local")
        let store = Store(rawValue: storeName) ?? .local
        if Store(rawValue: storeName) == nil { problem("AGORA_MEDIA_STORE must be local or s3, got '\(storeName)'") }
        let localDirectory = URL(fileURLWithPath: dataDirectory).appendingPathComponent("media").path
        guard store == .s3 else { return MediaSettings(store: store, localDirectory: localDirectory, s3: nil) }
        let caFile = env["AGORA_MEDIA_S3_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) { problem("AGORA_MEDIA_S3_CA_FILE: cannot read \(caFile)") }
        let settings = S3MediaStorage.Settings(
            endpoint: string("AGORA_MEDIA_S3_ENDPOINT", ""),
            publicEndpoint: env["AGORA_MEDIA_S3_PUBLIC_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 },
            bucket: string("AGORA_MEDIA_S3_BUCKET", ""),
            region: string("AGORA_MEDIA_S3_REGION", "us-east-1"),
            credentials: .init(accessKeyID: env["AGORA_MEDIA_S3_ACCESS_KEY_ID"] ?? "", secretAccessKey: env["AGORA_MEDIA_S3_SECRET_ACCESS_KEY"] ?? ""),
            pathStyle: bool("AGORA_MEDIA_S3_PATH_STYLE", true),
            prefix: string("AGORA_MEDIA_S3_PREFIX", ""),
            caFile: caFile,
            timeout: .milliseconds(int("AGORA_MEDIA_S3_TIMEOUT_MS", 30_000, 100...600_000)),
            presignSeconds: int("AGORA_MEDIA_S3_PRESIGN_SECONDS", 900, 120...604_800),
            redirectAbove: int("AGORA_MEDIA_S3_REDIRECT_BYTES", 0, 0...(1 << 40)),
            // Thumbnails and originals alike are at most the upload limit; leave room for a store's own framing.
            maxObjectBytes: maxImageSize + (1 << 20),
            createBucket: bool("AGORA_MEDIA_S3_CREATE_BUCKET", false)
        )
        settings.problems.forEach(problem)
        return MediaSettings(store: store, localDirectory: localDirectory, s3: settings)
    }
}
