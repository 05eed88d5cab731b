/// The lossless transform of one double column of one series run (docs/rollup-format.md, "Columns").
///
/// Each value `v` is stored as an integer `k` plus a residual `r`:
/// - **scaled** (scale code 1...26, scale `S` from ``scales``, times the row's count for the M2 column):
///   `k = round(v × S)`, `r = bits(v) − bits(Double(k) / S)` (wrapping). Device values are decimals
///   (0.01 dBm, integer octets), so `k` is a small integer and `r` is 0 or a few ULPs.
/// - **bits** (scale code 0): `k = bits(v)`, no residual (NaN, ±inf, and noisy values).
/// `k` is stored as a zigzag varint of `k − prediction`, the prediction chosen per series and column
/// (``Predictor``). Decoding inverts both steps exactly, so every double, NaN payloads and -0.0
/// included, comes back bit for bit whatever the encoder chose: the choice only changes the size.
enum DoubleColumnCodec {
    /// Columns in payload order. `last` comes before `first` so that `first` can be predicted from the
    /// previous window's `last` (a counter's next reading, a gauge's continuity).
    enum Column: Int, CaseIterable {
        case last = 0
        case first
        case minimum
        case maximum
        case sum
        case sumOfSquaredDeviations
        case rate

        /// Predictors this column may use; anything else in a file is malformed.
        var allowedPredictors: [Predictor] {
            switch self {
            case .last, .sumOfSquaredDeviations, .rate: return [.zero, .previous]
            case .first, .minimum, .maximum: return [.zero, .previous, .referenceA]
            case .sum: return [.zero, .previous, .referenceA, .referenceB]
            }
        }
    }

    /// What `k` is predicted from.
    enum Predictor: UInt8 {
        /// 0: `k` stored as is.
        case zero = 0
        /// The previous row's `k` in the same series (0 at the series' first row).
        case previous = 1
        /// A column-specific value of this row or the previous one (see ``reference``).
        case referenceA = 2
        case referenceB = 3
    }

    /// Scale code `c` (1...26) means `scales[c - 1]`. Sorted, so the encoder's first fit is the smallest
    /// integer. Powers of ten cover decimal gauges; 3, 6, 36 times them cover per-second rates over
    /// windows of 30 s, 60 s, 3600 s. Part of format version 1: never reorder.
    static let scales: [Double] = [
        1, 3, 6, 10, 30, 36, 60, 100, 300, 360, 600, 1e3, 3e3, 3.6e3, 6e3, 1e4, 3.6e4, 6e4, 1e5, 1e6, 1e7, 1e8, 1e9,
        1e10, 1e11, 1e12,
    ]
    static let bitsScaleCode = 0

    /// The column values of a segment's rows, sorted by series then window start.
    struct Rows {
        var counts: [UInt32]
        /// Indexed by `Column.rawValue`.
        var values: [[Double]]
    }

    @inline(__always)
    static func choiceByte(scaleCode: Int, predictor: Predictor) -> UInt8 {
        UInt8(scaleCode * 4) + predictor.rawValue
    }

    /// The value a reference predictor stands for; only earlier columns of this row, or columns of the
    /// previous row of the same series, so the decoder has them already.
    @inline(__always)
    static func reference(_ column: Column, _ predictor: Predictor, row: Int, runStart: Int, rows: Rows) -> Double {
        // Index only the columns a case needs: while decoding, later columns are still empty.
        switch (column, predictor) {
        case (.first, .referenceA):
            return row > runStart ? rows.values[Column.last.rawValue][row - 1] : 0
        case (.minimum, .referenceA):
            let first = rows.values[Column.first.rawValue][row]
            let last = rows.values[Column.last.rawValue][row]
            return first < last ? first : last
        case (.maximum, .referenceA):
            let first = rows.values[Column.first.rawValue][row]
            let last = rows.values[Column.last.rawValue][row]
            return first > last ? first : last
        case (.sum, .referenceA):
            return Double(rows.counts[row]) * rows.values[Column.first.rawValue][row]
        case (.sum, .referenceB):
            let first = rows.values[Column.first.rawValue][row]
            let last = rows.values[Column.last.rawValue][row]
            return Double(rows.counts[row]) * ((first + last) * 0.5)
        default:
            return 0
        }
    }

    /// The scale of one row: the M2 of `n` values that are multiples of `1/S` is a multiple of `1/(S²·n)`,
    /// so that column multiplies by the row's count (scale codes there stand for `S²`).
    @inline(__always)
    static func rowScale(_ column: Column, scaleCode: Int, count: UInt32) -> Double {
        let scale = scales[scaleCode - 1]
        return column == .sumOfSquaredDeviations ? scale * Double(max(count, 1)) : scale
    }

    /// `round(v × scale)`, or 0 when that is not finite or not well inside Int64 (the residual then
    /// carries the whole value).
    @inline(__always)
    static func scaledInteger(_ value: Double, _ scale: Double) -> Int64 {
        let scaled = value * scale
        guard scaled.isFinite, abs(scaled) < 0x1p62 else { return 0 }
        return Int64(scaled.rounded())
    }

    @inline(__always)
    static func bits(_ value: Double) -> Int64 { Int64(bitPattern: value.bitPattern) }

    @inline(__always)
    static func double(bits: Int64) -> Double { Double(bitPattern: UInt64(bitPattern: bits)) }

    /// The integer a row's `k` is predicted from: one function for encoding and decoding, so they agree.
    @inline(__always)
    static func predicted(
        _ column: Column,
        _ predictor: Predictor,
        previousK: Int64,
        scaleCode: Int,
        scale: Double,
        row: Int,
        runStart: Int,
        rows: Rows
    ) -> Int64 {
        switch predictor {
        case .zero: return 0
        case .previous: return previousK
        case .referenceA, .referenceB:
            let referenceValue = reference(column, predictor, row: row, runStart: runStart, rows: rows)
            return scaleCode == bitsScaleCode ? bits(referenceValue) : scaledInteger(referenceValue, scale)
        }
    }

    /// Calls `body(kDelta, residual)` for up to `limit` rows of the run `[runStart, runEnd)`; the residual
    /// is nil in bits mode. One function for both the size estimate and the real encoding, so they agree.
    @inline(__always)
    static func forEachEncoded(
        _ column: Column,
        scaleCode: Int,
        predictor: Predictor,
        runStart: Int,
        runEnd: Int,
        rows: Rows,
        body: (Int64, Int64?) -> Void
    ) {
        let values = rows.values[column.rawValue]
        var previousK: Int64 = 0
        for row in runStart..<runEnd {
            let value = values[row]
            let k: Int64
            var residual: Int64? = nil
            var scale = 0.0
            if scaleCode == bitsScaleCode {
                k = bits(value)
            } else {
                scale = rowScale(column, scaleCode: scaleCode, count: rows.counts[row])
                k = scaledInteger(value, scale)
                residual = bits(value) &- bits(Double(k) / scale)
            }
            let predictedK = predicted(
                column,
                predictor,
                previousK: previousK,
                scaleCode: scaleCode,
                scale: scale,
                row: row,
                runStart: runStart,
                rows: rows
            )
            body(k &- predictedK, residual)
            previousK = k
        }
    }

    /// Rows of a run sampled to choose a scale and a predictor.
    static let sampleRowCount = 64
    /// A scale qualifies when the sampled values sit within this many ULPs of `Double(k) / S`.
    static let qualifyingResidualULPs: Int64 = 1 << 24

    /// Picks the scale code and predictor that make the run smallest, judged on its first rows.
    ///
    /// Complexity: O(sampleRowCount × scales) per run, independent of the run's length.
    static func choose(_ column: Column, runStart: Int, runEnd: Int, rows: Rows) -> (scaleCode: Int, Predictor) {
        let sampleEnd = min(runEnd, runStart + sampleRowCount)
        let values = rows.values[column.rawValue]
        // The smallest scale under which the first few finite values are (nearly) integers.
        var candidateScaleCodes = [bitsScaleCode]
        let probe = (runStart..<sampleEnd).lazy.filter { values[$0].isFinite }.prefix(8)
        if !probe.isEmpty {
            for scaleCode in 1...scales.count {
                let fits = probe.allSatisfy { row in
                    let scale = rowScale(column, scaleCode: scaleCode, count: rows.counts[row])
                    let k = scaledInteger(values[row], scale)
                    let residual = bits(values[row]) &- bits(Double(k) / scale)
                    return (k != 0 || values[row] == 0) && residual.magnitude <= qualifyingResidualULPs.magnitude
                }
                if fits {
                    candidateScaleCodes.append(scaleCode)
                    break
                }
            }
        }
        var best = (scaleCode: bitsScaleCode, predictor: Predictor.zero)
        var bestCost = Int.max
        for scaleCode in candidateScaleCodes {
            for predictor in column.allowedPredictors {
                var cost = 0
                forEachEncoded(
                    column,
                    scaleCode: scaleCode,
                    predictor: predictor,
                    runStart: runStart,
                    runEnd: sampleEnd,
                    rows: rows
                ) { delta, residual in
                    cost += varintByteCount(zigzag(delta))
                    if let residual { cost += varintByteCount(zigzag(residual)) }
                }
                if cost < bestCost {
                    bestCost = cost
                    best = (scaleCode, predictor)
                }
            }
        }
        return best
    }

    /// Decodes one run into `output[runStart..<runEnd]`; `rows` holds the columns decoded before this one.
    static func decodeRun(
        _ column: Column,
        choice: UInt8,
        runStart: Int,
        runEnd: Int,
        rows: Rows,
        output: inout [Double],
        integers: inout ByteReader,
        residuals: inout ByteReader
    ) throws {
        let scaleCode = Int(choice / 4)
        guard scaleCode <= scales.count, let predictor = Predictor(rawValue: choice % 4),
            column.allowedPredictors.contains(predictor)
        else {
            throw RollupSegmentError.malformed(
                section: integers.section,
                offset: integers.baseOffset,
                reason: "encoding choice \(choice) not valid for this column"
            )
        }
        var previousK: Int64 = 0
        for row in runStart..<runEnd {
            var scale = 0.0
            if scaleCode != bitsScaleCode {
                scale = rowScale(column, scaleCode: scaleCode, count: rows.counts[row])
            }
            let predictedK = predicted(
                column,
                predictor,
                previousK: previousK,
                scaleCode: scaleCode,
                scale: scale,
                row: row,
                runStart: runStart,
                rows: rows
            )
            let k = predictedK &+ (try integers.readSignedVarint())
            if scaleCode == bitsScaleCode {
                output[row] = double(bits: k)
            } else {
                let residual = try residuals.readSignedVarint()
                output[row] = double(bits: bits(Double(k) / scale) &+ residual)
            }
            previousK = k
        }
    }
}
