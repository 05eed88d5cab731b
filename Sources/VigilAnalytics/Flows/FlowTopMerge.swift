import VigilCore

/// Merging heavy-hitter lists (mergeable summaries: Agarwal, Cormode, Huang, Phillips, Wei, Yi, "Mergeable
/// Summaries", PODS 2012): counts of one key are summed, a list that does not hold a key contributes its
/// absent bound to both that key's count and its error, and the largest `keep` are kept.
///
/// For every key the merged count stays an overestimate and `count - error` an underestimate of the key's
/// true total over the merged streams: each list's contribution is (lower, upper) = (count - error, count)
/// when it holds the key and (0, absent bound) when not, and both sum. A key not in the result has at most
/// the new absent bound: the sum of the lists' absent bounds, or the largest merged count left out.
public enum FlowTopMerge {
    /// Merges `lists` and keeps the `keep` largest (ties: smaller error, then key order).
    ///
    /// - Complexity: O(E log E) for E entries in all lists; allocates a dictionary of the keys seen.
    public static func merge(_ lists: [FlowTopList], keep: Int) -> FlowTopList {
        precondition(keep >= 0, "keep must be ≥ 0")
        var absentTotal: UInt64 = 0
        for list in lists { absentTotal = saturatingAdd(absentTotal, list.absentBoundBytes) }
        // Per key: (bytes, error) from the lists holding it, and the sum of the absent bounds of those lists.
        var sums: [FlowKey: (bytes: UInt64, error: UInt64, heldBound: UInt64)] = [:]
        for list in lists {
            for entry in list.entries {
                var sum = sums[entry.key] ?? (0, 0, 0)
                sum.bytes = saturatingAdd(sum.bytes, entry.bytes)
                sum.error = saturatingAdd(sum.error, entry.errorBytes)
                sum.heldBound = saturatingAdd(sum.heldBound, list.absentBoundBytes)
                sums[entry.key] = sum
            }
        }
        var entries = sums.map { key, sum in
            // Lists without the key add their absent bound (total minus those of the lists holding it).
            let missing = absentTotal - min(sum.heldBound, absentTotal)
            return FlowTopEntry(
                key: key,
                bytes: saturatingAdd(sum.bytes, missing),
                errorBytes: saturatingAdd(sum.error, missing)
            )
        }
        entries.sort { a, b in
            if a.bytes != b.bytes { return a.bytes > b.bytes }
            if a.errorBytes != b.errorBytes { return a.errorBytes < b.errorBytes }
            return FlowKeyOrder.less(a.key, b.key)
        }
        var bound = absentTotal
        if entries.count > keep {
            bound = max(bound, entries[keep].bytes)
            entries.removeLast(entries.count - keep)
        }
        return FlowTopList(entries: entries, absentBoundBytes: bound)
    }

    /// `a + b`, or `UInt64.max` when that overflows.
    public static func saturatingSum(_ a: UInt64, _ b: UInt64) -> UInt64 { saturatingAdd(a, b) }

    @inline(__always)
    static func saturatingAdd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }
}
