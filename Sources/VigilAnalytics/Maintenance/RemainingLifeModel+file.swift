import VigilCore

/// Why a model file was refused.
public enum RemainingLifeModelFileError: Error, Sendable, Equatable, CustomStringConvertible {
    case notAModel
    case tooLarge(byteCount: Int, limit: Int)
    case unsupportedVersion(Int)
    case truncated(byteCount: Int, expected: Int)
    case checksumMismatch(stored: UInt32, computed: UInt32)
    case malformed(offset: Int, detail: String)

    public var description: String {
        switch self {
        case .notAModel:
            return "not a Vigil remaining-life model (it does not start with `VIGILRUL`)"
        case .tooLarge(let byteCount, let limit):
            return "\(byteCount) bytes, more than a model may have (\(limit))"
        case .unsupportedVersion(let version):
            return "model format version \(version); this vigil reads version \(RemainingLifeModel.fileVersion)"
        case .truncated(let byteCount, let expected):
            return "truncated: \(byteCount) bytes, the header says \(expected)"
        case .checksumMismatch(let stored, let computed):
            return "damaged: CRC32C \(Self.hex(computed)), the file says \(Self.hex(stored))"
        case .malformed(let offset, let detail):
            return "malformed at byte \(offset): \(detail)"
        }
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}

/// The model file (`docs/models.md`): a 16-byte header (`VIGILRUL`, u16 version, u16 0, u32 payload byte count),
/// the payload, and the CRC32C of everything before it. Little-endian throughout.
extension RemainingLifeModel {
    /// The format version written and read.
    public static let fileVersion = 1
    /// The first eight bytes of a model file.
    public static let fileMagic: [UInt8] = Array("VIGILRUL".utf8)
    /// Bytes a model file may have: 64 MiB (the default model is about 40 KB).
    public static let maximumFileBytes = 64 << 20
    /// Sensors a model may read.
    public static let maximumSensors = 256
    /// Nodes over all trees.
    public static let maximumNodes = 1 << 22
    static let headerBytes = 16

    /// The model as a file's bytes.
    public func fileBytes() -> [UInt8] {
        var payload = StateWriter()
        payload.put(lifeCapCycles)
        payload.put(features.smoothingFactor)
        payload.put(features.slowSmoothingFactor)
        payload.put(UInt32(features.slopeWindowCycles))
        payload.put(UInt32(sensors.count))
        for sensor in sensors {
            payload.put(sensor.name)
            payload.put(sensor.mean)
            payload.put(sensor.deviation)
        }
        payload.put(forest.baseValue)
        payload.put(UInt32(forest.roots.count))
        payload.put(UInt32(forest.nodeFeatures.count))
        for root in forest.roots { payload.put(root) }
        for feature in forest.nodeFeatures { payload.put(feature) }
        for threshold in forest.nodeThresholds { payload.put(threshold) }
        for left in forest.nodeLefts { payload.put(left) }

        var file = StateWriter(reservingCapacity: Self.headerBytes + payload.bytes.count + 4)
        for byte in Self.fileMagic { file.put(byte) }
        file.put(UInt16(Self.fileVersion))
        file.put(UInt16(0))
        file.put(UInt32(payload.bytes.count))
        var bytes = file.bytes + payload.bytes
        let checksum = CRC32C.checksum(bytes)
        withUnsafeBytes(of: checksum.littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Reads a model file, checking everything before trusting anything: magic, version, length, checksum, then
    /// every count against its limit and every tree's structure (``RegressionForest/structuralProblem``).
    ///
    /// - Parameter bytes: the whole file.
    /// - Returns: the model.
    /// - Throws: ``RemainingLifeModelFileError``.
    public init(fileBytes bytes: [UInt8]) throws(RemainingLifeModelFileError) {
        guard bytes.count <= Self.maximumFileBytes else {
            throw .tooLarge(byteCount: bytes.count, limit: Self.maximumFileBytes)
        }
        guard bytes.count >= Self.fileMagic.count, Array(bytes.prefix(Self.fileMagic.count)) == Self.fileMagic else {
            throw .notAModel
        }
        guard bytes.count >= Self.headerBytes + 4 else {
            throw .truncated(byteCount: bytes.count, expected: Self.headerBytes + 4)
        }
        var header = StateReader(bytes, offset: Self.fileMagic.count)
        do {
            let version = try header.get(UInt16.self, "version")
            guard Int(version) == Self.fileVersion else {
                throw RemainingLifeModelFileError.unsupportedVersion(Int(version))
            }
            _ = try header.get(UInt16.self, "reserved")
            let payloadCount = Int(try header.get(UInt32.self, "payload length"))
            let expected = Self.headerBytes + payloadCount + 4
            guard bytes.count == expected else {
                throw RemainingLifeModelFileError.truncated(byteCount: bytes.count, expected: expected)
            }
        } catch let error as RemainingLifeModelFileError {
            throw error
        } catch {
            throw .malformed(offset: header.offset, detail: "\(error)")
        }
        let body = bytes.count - 4
        let stored = bytes.withUnsafeBytes {
            UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: body, as: UInt32.self))
        }
        let computed = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<body])) }
        guard stored == computed else { throw .checksumMismatch(stored: stored, computed: computed) }

        var reader = StateReader(Array(bytes[Self.headerBytes..<body]))
        do {
            self = try Self.readPayload(&reader)
        } catch {
            throw .malformed(offset: Self.headerBytes + error.offset, detail: error.detail)
        }
    }

    private static func readPayload(_ reader: inout StateReader) throws(StateReader.Malformed) -> RemainingLifeModel {
        var configuration = Configuration()
        configuration.lifeCapCycles = try reader.double("life cap")
        configuration.features.smoothingFactor = try reader.double("smoothing factor")
        configuration.features.slowSmoothingFactor = try reader.double("slow smoothing factor")
        configuration.features.slopeWindowCycles = Int(try reader.get(UInt32.self, "slope window"))
        guard configuration.isValid else { throw reader.malformed("feature settings out of range") }
        let sensorCount = Int(try reader.get(UInt32.self, "sensor count"))
        guard (1...maximumSensors).contains(sensorCount) else {
            throw reader.malformed("\(sensorCount) sensors (1...\(maximumSensors))")
        }
        var sensors: [Sensor] = []
        var names: Set<String> = []
        for _ in 0..<sensorCount {
            let name = try reader.string("sensor name", maximumByteCount: RunHistoryLimits.maximumColumnNameBytes)
            let mean = try reader.double("sensor mean")
            let deviation = try reader.double("sensor deviation")
            guard !name.isEmpty, names.insert(name).inserted, mean.isFinite, deviation.isFinite, deviation > 0 else {
                throw reader.malformed("sensor `\(name)`: an empty or repeated name, or a mean or deviation unusable")
            }
            sensors.append(Sensor(name: name, mean: mean, deviation: deviation))
        }
        let baseValue = try reader.double("base value")
        let treeCount = Int(try reader.get(UInt32.self, "tree count"))
        let nodeCount = Int(try reader.get(UInt32.self, "node count"))
        guard treeCount <= 5_000, nodeCount <= maximumNodes else {
            throw reader.malformed("\(treeCount) trees and \(nodeCount) nodes (at most 5,000 and \(maximumNodes))")
        }
        // Sizes are checked against the bytes left before anything is allocated for them.
        guard reader.remaining == treeCount * 4 + nodeCount * 10 else {
            throw reader.malformed("\(reader.remaining) bytes left for \(treeCount) trees and \(nodeCount) nodes")
        }
        var forest = RegressionForest(
            baseValue: baseValue,
            featureCount: HealthFeatureConfiguration.featureCount(sensorCount: sensorCount)
        )
        forest.roots = try (0..<treeCount).map { (_) throws(StateReader.Malformed) in try reader.get(Int32.self, "root")
        }
        forest.nodeFeatures = try (0..<nodeCount).map { (_) throws(StateReader.Malformed) in
            try reader.get(Int16.self, "node feature")
        }
        forest.nodeThresholds = try (0..<nodeCount).map { (_) throws(StateReader.Malformed) in
            try reader.float("node threshold")
        }
        forest.nodeLefts = try (0..<nodeCount).map { (_) throws(StateReader.Malformed) in
            try reader.get(Int32.self, "node child")
        }
        if let problem = forest.structuralProblem { throw reader.malformed(problem) }
        return RemainingLifeModel(
            lifeCapCycles: configuration.lifeCapCycles,
            features: configuration.features,
            sensors: sensors,
            forest: forest
        )
    }
}
