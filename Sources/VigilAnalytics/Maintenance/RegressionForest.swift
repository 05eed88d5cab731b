/// A sum of regression trees (what gradient boosting fits): a prediction is `baseValue` plus one leaf value
/// from each tree.
///
/// Nodes of every tree share flat arrays. An inner node sends a feature vector left when
/// `features[feature] <= threshold`, else right; its children sit at `left` and `left + 1`, always after it, so a
/// walk ends. A leaf has feature -1 and holds its value in `threshold`.
public struct RegressionForest: Sendable, Equatable {
    /// The prediction before any tree (the training targets' mean).
    public var baseValue: Double
    /// Features a vector must have.
    public var featureCount: Int
    /// First node of each tree.
    public var roots: [Int32]
    /// Per node: the feature compared, or -1 for a leaf.
    public var nodeFeatures: [Int16]
    /// Per node: the split threshold, or a leaf's value.
    public var nodeThresholds: [Float]
    /// Per node: the left child (the right is next to it); 0 for a leaf.
    public var nodeLefts: [Int32]

    public init(
        baseValue: Double,
        featureCount: Int,
        roots: [Int32] = [],
        nodeFeatures: [Int16] = [],
        nodeThresholds: [Float] = [],
        nodeLefts: [Int32] = []
    ) {
        self.baseValue = baseValue
        self.featureCount = featureCount
        self.roots = roots
        self.nodeFeatures = nodeFeatures
        self.nodeThresholds = nodeThresholds
        self.nodeLefts = nodeLefts
    }

    /// Why a forest's structure cannot be walked, or `nil` when every walk ends at a leaf within the arrays:
    /// what a forest read from a file must pass before it predicts anything.
    public var structuralProblem: String? {
        let nodeCount = nodeFeatures.count
        guard nodeThresholds.count == nodeCount, nodeLefts.count == nodeCount else {
            return "node arrays of different lengths"
        }
        guard baseValue.isFinite else { return "a base value that is not finite" }
        for root in roots where root < 0 || Int(root) >= nodeCount {
            return "tree root \(root) outside the \(nodeCount) nodes"
        }
        for node in 0..<nodeCount {
            guard nodeThresholds[node].isFinite else { return "node \(node): a value that is not finite" }
            let feature = Int(nodeFeatures[node])
            if feature == -1 { continue }
            guard feature >= 0, feature < featureCount else {
                return "node \(node): feature \(feature) of \(featureCount)"
            }
            let left = Int(nodeLefts[node])
            guard left > node, left + 1 < nodeCount else {
                return "node \(node): children at \(left) (they must follow it, within \(nodeCount) nodes)"
            }
        }
        return nil
    }

    /// The forest's prediction for one feature vector.
    ///
    /// O(trees × depth).
    @inlinable
    public func predict(_ features: UnsafeBufferPointer<Double>) -> Double {
        precondition(features.count == featureCount, "one value per feature")
        var sum = baseValue
        nodeFeatures.withUnsafeBufferPointer { featureOf in
            nodeThresholds.withUnsafeBufferPointer { thresholdOf in
                nodeLefts.withUnsafeBufferPointer { leftOf in
                    for root in roots {
                        var node = Int(root)
                        while featureOf[node] >= 0 {
                            let goesLeft = features[Int(featureOf[node])] <= Double(thresholdOf[node])
                            node = Int(leftOf[node]) + (goesLeft ? 0 : 1)
                        }
                        sum += Double(thresholdOf[node])
                    }
                }
            }
        }
        return sum
    }
}
