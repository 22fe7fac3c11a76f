package import Foundation
import Testing

/// `Tests/interop/s3_server.py` as a child process: moto's S3 server with authentication on, so every request must
/// carry an AWS Signature V4 that botocore recomputes and agrees with.
package final class LocalS3: Sendable {
    package let port: Int
    package let accessKeyID: String
    package let secretAccessKey: String

    private init(port: Int, accessKeyID: String, secretAccessKey: String) {
        self.port = port
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
    }

    package var endpoint: String { "http://127.0.0.1:\(port)" }

    /// Starts the store (with `bucket` made, if given), runs `body`, stops the store.
    package static func with<R>(bucket: String? = "agora-media", _ body: (LocalS3) async throws -> R) async throws -> R {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestServices.uniqueName("agora-s3"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let credentials = directory.appendingPathComponent("credentials.json")
        let arguments = ["--credentials", credentials.path] + (bucket.map { ["--bucket", $0] } ?? [])
        return try await PythonServer.with("Tests/interop/s3_server.py", arguments, in: directory, name: "the local S3 server (moto)") { port in
            // Written before the port, so it is there now.
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: credentials)) as? [String: String] ?? [:]
            let store = LocalS3(
                port: port, accessKeyID: try #require(json["accessKeyId"]), secretAccessKey: try #require(json["secretAccessKey"]))
            return try await body(store)
        }
    }

    /// The settings that point an Agora instance at this store's `bucket`.
    package func environment(bucket: String = "agora-media", prefix: String = "") -> [String: String] {
        [
            "AGORA_MEDIA_STORE": "s3", "AGORA_MEDIA_S3_ENDPOINT": endpoint, "AGORA_MEDIA_S3_BUCKET": bucket,
            "AGORA_MEDIA_S3_REGION": "us-east-1", "AGORA_MEDIA_S3_ACCESS_KEY_ID": accessKeyID,
            "AGORA_MEDIA_S3_SECRET_ACCESS_KEY": secretAccessKey, "AGORA_MEDIA_S3_PREFIX": prefix,
        ]
    }

    /// Whether botocore, given the secret, computes the signature `url` carries: nil when it does, its complaint
    /// otherwise. (moto serves presigned URLs without checking them, so this is the check.)
    package func presignedProblem(_ url: String, secret: String? = nil, region: String = "us-east-1") async throws -> String? {
        let python = try #require(TestTools.python(), "no python3")
        let script = TestTools.repositoryRoot.appendingPathComponent("Tests/interop/s3_server.py").path
        let outcome = try await ChildProcess.run(
            python, [script, "--verify-presigned", url, "--secret", secret ?? secretAccessKey, "--region", region], timeout: .seconds(30))
        return outcome.status == 0 ? nil : outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
