import VigilCore

/// HyperLogLog distinct counting (Flajolet, Fusy, Gandouet, Meunier 2007) over 64-bit hashes, with the
/// small-range correction (linear counting below 2.5 m). `m = 2^precision` one-byte registers; the
/// relative standard error is 1.04 / √m (precision 10: 3.3 %, 12: 1.6 %). A 64-bit hash needs no
/// large-range correction. Pure functions over register bytes, so a register bank, a stored copy and a
/// merged union share one estimator.
public enum HyperLogLog {
    /// Precisions accepted: 4...16 (16 bytes to 64 KiB of registers).
    public static let precisions = 4...16

    /// The register index and rank of `hash` at `precision`: the top `precision` bits choose the register,
    /// the rank is 1 + the leading zeros of the rest (at most `65 - precision`).
    @inlinable
    public static func place(_ hash: UInt64, precision: Int) -> (index: Int, rank: UInt8) {
        let index = Int(truncatingIfNeeded: hash >> UInt64(64 - precision))
        // A guard bit below the remaining bits caps the rank at 65 - precision.
        let rest = (hash << UInt64(precision)) | (1 << UInt64(precision - 1))
        return (index, UInt8(truncatingIfNeeded: rest.leadingZeroBitCount + 1))
    }

    /// Adds `hash` to `registers` (2^precision bytes).
    @inlinable
    public static func add(_ hash: UInt64, to registers: UnsafeMutablePointer<UInt8>, precision: Int) {
        let (index, rank) = place(hash, precision: precision)
        if registers[index] < rank { registers[index] = rank }
    }

    /// The estimated number of distinct hashes added to `registers`.
    /// Complexity: O(m).
    public static func estimate(_ registers: UnsafeBufferPointer<UInt8>) -> Double {
        let m = Double(registers.count)
        precondition(registers.count >= 16 && registers.count & (registers.count - 1) == 0, "m = 2^4...2^16")
        var sum = 0.0
        var zeros = 0
        for register in registers {
            sum += Double(sign: .plus, exponent: -Int(register), significand: 1)
            if register == 0 { zeros += 1 }
        }
        let alpha: Double
        switch registers.count {
        case 16: alpha = 0.673
        case 32: alpha = 0.697
        case 64: alpha = 0.709
        default: alpha = 0.7213 / (1 + 1.079 / m)
        }
        let raw = alpha * m * m / sum
        if raw <= 2.5 * m && zeros > 0 {
            return m * _logarithm(m / Double(zeros))
        }
        return raw
    }

    /// ``estimate(_:)`` of an array of registers.
    public static func estimate(_ registers: [UInt8]) -> Double {
        registers.withUnsafeBufferPointer { estimate($0) }
    }

    /// The union of two register sets of one precision: the larger register of each pair, into `target`.
    public static func merge(_ source: [UInt8], into target: inout [UInt8]) {
        precondition(source.count == target.count, "registers of different precisions")
        for index in target.indices where source[index] > target[index] { target[index] = source[index] }
    }
}

/// `count` HyperLogLog register sets of one precision in one allocation, made at init: the distinct
/// sources of each counter of a destination sketch. Adding allocates nothing.
public final class HyperLogLogBank {
    public let precision: Int
    public let count: Int
    @usableFromInline let _registers: UnsafeMutablePointer<UInt8>
    @usableFromInline let _registerCount: Int

    /// - Parameters:
    ///   - count: register sets, ≥ 1.
    ///   - precision: 4...16; each set is 2^precision bytes.
    public init(count: Int, precision: Int) {
        precondition(count >= 1, "at least one register set")
        precondition(HyperLogLog.precisions.contains(precision), "precision must be 4...16")
        self.count = count
        self.precision = precision
        _registerCount = 1 << precision
        _registers = .allocate(capacity: count << precision)
        _registers.initialize(repeating: 0, count: count << precision)
    }

    deinit { _registers.deallocate() }

    /// Empties set `set` (a new key took its counter). O(2^precision).
    @inlinable
    public func reset(_ set: Int) {
        (_registers + set * _registerCount).update(repeating: 0, count: _registerCount)
    }

    /// Adds `hash` to set `set`. O(1).
    @inlinable
    public func add(_ hash: UInt64, to set: Int) {
        HyperLogLog.add(hash, to: _registers + set * _registerCount, precision: precision)
    }

    /// A copy of set `set`'s registers.
    public func registers(_ set: Int) -> [UInt8] {
        Array(UnsafeBufferPointer(start: _registers + set * _registerCount, count: _registerCount))
    }

    /// The estimated distinct count of set `set`.
    public func estimate(_ set: Int) -> Double {
        HyperLogLog.estimate(UnsafeBufferPointer(start: _registers + set * _registerCount, count: _registerCount))
    }
}

#if canImport(Glibc)
import Glibc
@usableFromInline func _logarithm(_ x: Double) -> Double { Glibc.log(x) }
#elseif canImport(Darwin)
import Darwin
@usableFromInline func _logarithm(_ x: Double) -> Double { Darwin.log(x) }
#endif
