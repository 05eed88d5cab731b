import VigilCore

/// Settings of gradient boosting (see ``GradientBoosting``).
public struct GradientBoostingConfiguration: Sendable, Equatable {
    /// Trees fitted. Default 200; 1...5,000.
    public var treeCount = 200
    /// Depth of each tree (at most 2^depth leaves). Default 4; 1...12.
    public var maximumDepth = 4
    /// Shrinkage of each tree's values. Default 0.1; (0, 1].
    public var learningRate = 0.1
    /// Training samples each leaf must hold. Default 20; at least 1.
    public var minimumSamplesPerLeaf = 20
    /// L2 penalty on leaf values (added to a leaf's sample count). Default 1; at least 0.
    public var l2Regularization = 1.0
    /// Share of the samples each tree is fitted on, drawn anew per tree. Default 0.8; (0, 1].
    public var sampleFraction = 0.8
    /// Share of the features each tree may split on, drawn anew per tree. Default 0.8; (0, 1].
    public var featureFraction = 0.8
    /// Histogram bins per feature (split candidates at quantiles of the training values). Default 64; 2...256.
    public var binCount = 64
    /// Seed of the per-tree draws: the same data and seed give the same forest.
    public var seed: UInt64 = 1

    public init() {}

    /// Whether every setting is in its range.
    public var isValid: Bool {
        (1...5_000).contains(treeCount) && (1...12).contains(maximumDepth) && learningRate > 0
            && learningRate <= 1 && minimumSamplesPerLeaf >= 1 && l2Regularization >= 0 && sampleFraction > 0
            && sampleFraction <= 1 && featureFraction > 0 && featureFraction <= 1 && (2...256).contains(binCount)
    }
}

/// Gradient-boosted regression trees for squared error, with histogram splits (as LightGBM and XGBoost's `hist`
/// fit them): each feature's values are put into at most `binCount` bins at training quantiles, and a node's
/// best split is found from per-bin sums of the residuals. Deterministic for a given seed.
///
/// O(trees × depth × samples × features) to fit, plus a sort per feature.
public enum GradientBoosting {
    /// Fits a forest to `targets`.
    ///
    /// - Parameters:
    ///   - features: the samples' features, row-major (`featureCount` per sample), all finite.
    ///   - targets: one finite target per sample.
    ///   - featureCount: features per sample, 1...32,767.
    ///   - configuration: validated settings.
    /// - Returns: the fitted forest.
    public static func fit(
        features: [Double],
        targets: [Double],
        featureCount: Int,
        configuration: GradientBoostingConfiguration
    ) -> RegressionForest {
        precondition(configuration.isValid, "validated settings")
        precondition(featureCount >= 1 && featureCount <= Int(Int16.max), "1...32,767 features")
        let sampleCount = targets.count
        precondition(sampleCount >= 1 && features.count == sampleCount * featureCount, "a row per target")
        let edges = (0..<featureCount).map { feature in
            binEdges(feature: feature, features: features, featureCount: featureCount, configuration.binCount)
        }
        var bins = [UInt8](repeating: 0, count: features.count)
        for sample in 0..<sampleCount {
            for feature in 0..<featureCount {
                bins[sample * featureCount + feature] = bin(
                    of: features[sample * featureCount + feature],
                    edges[feature]
                )
            }
        }
        let base = targets.reduce(0, +) / Double(sampleCount)
        var forest = RegressionForest(baseValue: base, featureCount: featureCount)
        var grower = TreeGrower(
            bins: bins,
            edges: edges,
            featureCount: featureCount,
            sampleCount: sampleCount,
            configuration: configuration
        )
        var predictions = [Double](repeating: base, count: sampleCount)
        var random = SplitMix64(seed: configuration.seed)
        for _ in 0..<configuration.treeCount {
            grower.grow(targets: targets, predictions: &predictions, random: &random, into: &forest)
        }
        return forest
    }

    /// Split candidates of one feature: values at its quantiles, rounded to `Float` (as thresholds are kept),
    /// distinct and increasing.
    static func binEdges(feature: Int, features: [Double], featureCount: Int, _ binCount: Int) -> [Double] {
        let sampleCount = features.count / featureCount
        var column = (0..<sampleCount).map { features[$0 * featureCount + feature] }
        column.sort()
        var edges: [Double] = []
        for quantile in 1..<binCount {
            let value = Double(Float(column[quantile * sampleCount / binCount]))
            // The largest value is no split: nothing would go right.
            if value < column[sampleCount - 1], edges.last.map({ value > $0 }) ?? true { edges.append(value) }
        }
        return edges
    }

    /// The bin of `value`: how many edges lie below it, so `bin <= k` exactly when `value <= edges[k]`.
    static func bin(of value: Double, _ edges: [Double]) -> UInt8 {
        var low = 0
        var high = edges.count
        while low < high {
            let middle = (low + high) / 2
            if edges[middle] < value { low = middle + 1 } else { high = middle }
        }
        return UInt8(low)
    }
}

/// The buffers of tree growing, allocated once per fit (histograms as a level needs them).
///
/// A node's histogram holds, per feature and bin, the sum of its samples' residuals and their count. Only the
/// smaller child of a split is summed from its samples; the larger one is its parent's histogram minus it (as
/// LightGBM does), so each level costs at most half a pass over the samples after the root's.
private struct TreeGrower {
    let bins: [UInt8]
    let edges: [Double]
    let featureCount: Int
    let sampleCount: Int
    let configuration: GradientBoostingConfiguration
    /// Values in one node's histogram: features × bins.
    let histogramSize: Int
    /// Sample indices; each node of the level being split owns a contiguous range.
    var order: [Int32]
    var residuals: [Double]
    /// Histograms of the level being split, one `histogramSize` slot per pending node.
    var levelSums: [Double] = []
    var levelCounts: [Int32] = []
    /// Histograms of the next level, built while the level is split.
    var nextSums: [Double] = []
    var nextCounts: [Int32] = []
    var featureAllowed: [Bool]
    /// Per node of the tree being grown: its bin threshold (training), for routing samples.
    var nodeBins: [UInt8] = []

    init(
        bins: [UInt8],
        edges: [[Double]],
        featureCount: Int,
        sampleCount: Int,
        configuration: GradientBoostingConfiguration
    ) {
        self.bins = bins
        self.edges = edges.flatMap { $0 + Array(repeating: 0, count: 256 - $0.count) }
        self.featureCount = featureCount
        self.sampleCount = sampleCount
        self.configuration = configuration
        histogramSize = featureCount * configuration.binCount
        order = []
        order.reserveCapacity(sampleCount)
        residuals = Array(repeating: 0, count: sampleCount)
        featureAllowed = Array(repeating: true, count: featureCount)
    }

    struct PendingNode {
        var node: Int
        var range: Range<Int>
        var sum: Double
    }

    mutating func grow(
        targets: [Double],
        predictions: inout [Double],
        random: inout SplitMix64,
        into forest: inout RegressionForest
    ) {
        order.removeAll(keepingCapacity: true)
        for sample in 0..<sampleCount where random.nextUnit() < configuration.sampleFraction {
            order.append(Int32(sample))
        }
        if order.isEmpty { order.append(Int32(random.next() % UInt64(sampleCount))) }
        var anyFeature = false
        for feature in 0..<featureCount {
            featureAllowed[feature] = random.nextUnit() < configuration.featureFraction
            anyFeature = anyFeature || featureAllowed[feature]
        }
        if !anyFeature { featureAllowed[Int(random.next() % UInt64(featureCount))] = true }
        for sample in 0..<sampleCount { residuals[sample] = targets[sample] - predictions[sample] }

        let root = forest.nodeFeatures.count
        forest.roots.append(Int32(root))
        nodeBins.removeAll(keepingCapacity: true)
        var level = [PendingNode(node: root, range: 0..<order.count, sum: order.reduce(0) { $0 + residuals[Int($1)] })]
        appendLeaf(to: &forest, sum: level[0].sum, count: order.count)
        Self.reserve(&levelSums, &levelCounts, slots: 1, size: histogramSize)
        accumulate(level[0].range, into: 0, next: false)
        for depth in 0..<configuration.maximumDepth {
            let buildsNext = depth + 1 < configuration.maximumDepth
            if buildsNext { Self.reserve(&nextSums, &nextCounts, slots: 2 * level.count, size: histogramSize) }
            var next: [PendingNode] = []
            for (slot, pending) in level.enumerated() {
                guard let split = bestSplit(pending, slot: slot) else { continue }
                let middle = partition(pending.range, feature: split.feature, bin: split.bin)
                let left = forest.nodeFeatures.count
                forest.nodeFeatures[pending.node] = Int16(split.feature)
                forest.nodeThresholds[pending.node] = Float(edges[split.feature * 256 + Int(split.bin)])
                forest.nodeLefts[pending.node] = Int32(left)
                nodeBins[pending.node - root] = split.bin
                let leftRange = pending.range.lowerBound..<middle
                let rightRange = middle..<pending.range.upperBound
                appendLeaf(to: &forest, sum: split.leftSum, count: leftRange.count)
                appendLeaf(to: &forest, sum: pending.sum - split.leftSum, count: rightRange.count)
                if buildsNext {
                    let leftSlot = next.count
                    let smallerIsLeft = leftRange.count <= rightRange.count
                    let small = smallerIsLeft ? leftSlot : leftSlot + 1
                    let large = smallerIsLeft ? leftSlot + 1 : leftSlot
                    accumulate(smallerIsLeft ? leftRange : rightRange, into: small, next: true)
                    subtract(parent: slot, small: small, into: large)
                }
                next.append(PendingNode(node: left, range: leftRange, sum: split.leftSum))
                next.append(PendingNode(node: left + 1, range: rightRange, sum: pending.sum - split.leftSum))
            }
            if next.isEmpty || !buildsNext { break }
            level = next
            swap(&levelSums, &nextSums)
            swap(&levelCounts, &nextCounts)
        }
        // Every sample, drawn or not, moves by the tree's value.
        for sample in 0..<sampleCount {
            var node = root
            while forest.nodeFeatures[node] >= 0 {
                let feature = Int(forest.nodeFeatures[node])
                let goesLeft = bins[sample * featureCount + feature] <= nodeBins[node - root]
                node = Int(forest.nodeLefts[node]) + (goesLeft ? 0 : 1)
            }
            predictions[sample] += Double(forest.nodeThresholds[node])
        }
    }

    /// Grows histogram pools to `slots` histograms (they only grow: a fit allocates them once per depth).
    static func reserve(_ sums: inout [Double], _ counts: inout [Int32], slots: Int, size: Int) {
        if sums.count < slots * size {
            sums += Array(repeating: 0, count: slots * size - sums.count)
            counts += Array(repeating: 0, count: slots * size - counts.count)
        }
    }

    /// Sums the samples at `range` of `order` into histogram `slot` of the level's pool, or of the next level's.
    mutating func accumulate(_ range: Range<Int>, into slot: Int, next: Bool) {
        // The pools are passed apart from `self`: a method reading `self` while writing one of its arrays
        // would make Swift copy that array first (an FD001 fit: 7.78 G instructions, 0.42 G of them such copies).
        if next {
            Self.accumulate(range, slot, histogramSize, bins, residuals, order, featureCount, &nextSums, &nextCounts)
        } else {
            Self.accumulate(range, slot, histogramSize, bins, residuals, order, featureCount, &levelSums, &levelCounts)
        }
    }

    static func accumulate(
        _ range: Range<Int>,
        _ slot: Int,
        _ histogramSize: Int,
        _ bins: [UInt8],
        _ residuals: [Double],
        _ order: [Int32],
        _ featureCount: Int,
        _ sums: inout [Double],
        _ counts: inout [Int32]
    ) {
        let base = slot * histogramSize
        let width = histogramSize / featureCount
        bins.withUnsafeBufferPointer { bins in
            residuals.withUnsafeBufferPointer { residuals in
                order.withUnsafeBufferPointer { order in
                    sums.withUnsafeMutableBufferPointer { sums in
                        counts.withUnsafeMutableBufferPointer { counts in
                            for index in base..<(base + histogramSize) {
                                sums[index] = 0
                                counts[index] = 0
                            }
                            for position in range {
                                let sample = Int(order[position])
                                let residual = residuals[sample]
                                let row = sample * featureCount
                                var slot = base
                                for feature in 0..<featureCount {
                                    let index = slot + Int(bins[row + feature])
                                    sums[index] += residual
                                    counts[index] += 1
                                    slot += width
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Next-level histogram `large` = level histogram `parent` − next-level histogram `small`.
    mutating func subtract(parent: Int, small: Int, into large: Int) {
        let size = histogramSize
        levelSums.withUnsafeBufferPointer { parentSums in
            levelCounts.withUnsafeBufferPointer { parentCounts in
                nextSums.withUnsafeMutableBufferPointer { sums in
                    nextCounts.withUnsafeMutableBufferPointer { counts in
                        for index in 0..<size {
                            sums[large * size + index] = parentSums[parent * size + index] - sums[small * size + index]
                            counts[large * size + index] =
                                parentCounts[parent * size + index] - counts[small * size + index]
                        }
                    }
                }
            }
        }
    }

    mutating func appendLeaf(to forest: inout RegressionForest, sum: Double, count: Int) {
        let value = configuration.learningRate * sum / (Double(count) + configuration.l2Regularization)
        forest.nodeFeatures.append(-1)
        forest.nodeThresholds.append(Float(value))
        forest.nodeLefts.append(0)
        nodeBins.append(0)
    }

    struct Split {
        var feature: Int
        var bin: UInt8
        var leftSum: Double
    }

    /// The split of a node (its histogram at `slot` of the level) with the largest gain in squared error, if any
    /// leaves both children `minimumSamplesPerLeaf` samples and gains anything.
    func bestSplit(_ pending: PendingNode, slot: Int) -> Split? {
        let minimum = configuration.minimumSamplesPerLeaf
        guard pending.range.count >= 2 * minimum else { return nil }
        let width = configuration.binCount
        let lambda = configuration.l2Regularization
        let base = slot * histogramSize
        let total = Double(pending.range.count)
        let parentScore = pending.sum * pending.sum / (total + lambda)
        var best: Split?
        var bestGain = 1e-9
        for feature in 0..<featureCount where featureAllowed[feature] {
            var leftSum = 0.0
            var leftCount = 0
            for bin in 0..<(width - 1) {
                leftSum += levelSums[base + feature * width + bin]
                leftCount += Int(levelCounts[base + feature * width + bin])
                let rightCount = pending.range.count - leftCount
                if leftCount < minimum { continue }
                if rightCount < minimum { break }
                let rightSum = pending.sum - leftSum
                let gain =
                    leftSum * leftSum / (Double(leftCount) + lambda) + rightSum * rightSum
                    / (Double(rightCount) + lambda) - parentScore
                if gain > bestGain {
                    bestGain = gain
                    best = Split(feature: feature, bin: UInt8(bin), leftSum: leftSum)
                }
            }
        }
        return best
    }

    /// Moves the node's samples with `bin <= bin` on `feature` to the front of its range; returns where the rest
    /// begin.
    mutating func partition(_ range: Range<Int>, feature: Int, bin: UInt8) -> Int {
        var front = range.lowerBound
        for position in range {
            let sample = Int(order[position])
            if bins[sample * featureCount + feature] <= bin {
                order.swapAt(front, position)
                front += 1
            }
        }
        return front
    }
}
