/// Theil-Sen line fit over caller-owned scratch memory: no allocation, bounded by the point count.
@usableFromInline
enum TheilSen {
    /// Result of a fit: `y ≈ intercept + slope × x`, and Kendall's tau of the points (-1...1).
    @usableFromInline
    struct Fit {
        @usableFromInline var slope: Double
        @usableFromInline var intercept: Double
        @usableFromInline var tau: Double
    }

    /// Fits `count` points with distinct, increasing `xs`.
    ///
    /// - Parameters:
    ///   - xs, ys: the points (only the first `count` are read; `ys` is reordered).
    ///   - slopes: scratch of at least `count × (count - 1) / 2` elements.
    /// - Complexity: O(n²) time for n = `count` (all pairs; n <= 64 in Vigil), O(1) extra space.
    @usableFromInline
    static func fit(
        xs: UnsafeMutableBufferPointer<Float>,
        ys: UnsafeMutableBufferPointer<Float>,
        count: Int,
        slopes: UnsafeMutableBufferPointer<Float>
    ) -> Fit {
        precondition(count >= 2 && count <= xs.count && count <= ys.count, "a line needs 2 points in the buffers")
        let pairCount = count * (count - 1) / 2
        precondition(slopes.count >= pairCount, "slope scratch holds \(slopes.count) of \(pairCount) pairs")
        var pair = 0
        var concordant = 0
        var discordant = 0
        for i in 0..<count - 1 {
            for j in i + 1..<count {
                let rise = ys[j] - ys[i]
                slopes[pair] = rise / (xs[j] - xs[i])
                pair += 1
                if rise > 0 { concordant += 1 } else if rise < 0 { discordant += 1 }
            }
        }
        let slope = median(slopes, count: pairCount)
        // Intercepts reuse the ys buffer: ys[k] becomes ys[k] - slope × xs[k].
        for k in 0..<count { ys[k] = Float(Double(ys[k]) - slope * Double(xs[k])) }
        let intercept = median(ys, count: count)
        return Fit(slope: slope, intercept: intercept, tau: Double(concordant - discordant) / Double(pairCount))
    }

    /// Median of the first `count` elements (the mean of the middle two for an even count); reorders them.
    ///
    /// - Complexity: O(n) expected (quickselect with a median-of-three pivot).
    @usableFromInline
    static func median(_ buffer: UnsafeMutableBufferPointer<Float>, count: Int) -> Double {
        precondition(count >= 1 && count <= buffer.count)
        let upper = count / 2
        let upperValue = select(buffer, count: count, rank: upper)
        if count % 2 == 1 { return Double(upperValue) }
        // After selection every element before `upper` is <= it; the largest of them is the lower middle.
        var lowerValue = buffer[0]
        for k in 1..<upper where buffer[k] > lowerValue { lowerValue = buffer[k] }
        return (Double(lowerValue) + Double(upperValue)) / 2
    }

    /// Moves the element of rank `rank` (0-based) to `buffer[rank]`, smaller ones before, larger after.
    /// The elements must not be NaN.
    @usableFromInline
    static func select(_ buffer: UnsafeMutableBufferPointer<Float>, count: Int, rank: Int) -> Float {
        var low = 0
        var high = count - 1
        // Each pass shrinks [low, high] by at least one element, so at most `count` passes.
        while low < high {
            let middle = low + (high - low) / 2
            let a = buffer[low]
            let b = buffer[middle]
            let c = buffer[high]
            let pivot = max(min(a, b), min(max(a, b), c))
            var i = low
            var j = high
            while i <= j {
                while buffer[i] < pivot { i += 1 }
                while buffer[j] > pivot { j -= 1 }
                if i <= j {
                    buffer.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if rank <= j {
                high = j
            } else if rank >= i {
                low = i
            } else {
                break
            }
        }
        return buffer[rank]
    }
}
