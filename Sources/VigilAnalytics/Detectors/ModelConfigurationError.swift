/// A model configuration that cannot work, with the field at fault and the value it held.
///
/// Tables check their configuration once, when they are built, so the per-window paths can rely on it.
public struct ModelConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The model whose configuration was refused (`SeasonalAnomalyDetector`, `DegradationForecaster`, …).
    public var model: String
    /// The configuration field at fault.
    public var field: String
    /// The refused value, as text.
    public var value: String
    /// What the field must satisfy.
    public var requirement: String

    public init(model: String, field: String, value: String, requirement: String) {
        self.model = model
        self.field = field
        self.value = value
        self.requirement = requirement
    }

    public var description: String {
        "\(model) configuration: \(field) = \(value), but it must be \(requirement)"
    }

    /// Throws when `condition` is false.
    static func require(
        _ condition: Bool,
        model: String,
        field: String,
        value: some CustomStringConvertible,
        _ requirement: String
    ) throws {
        if !condition {
            throw ModelConfigurationError(
                model: model,
                field: field,
                value: value.description,
                requirement: requirement
            )
        }
    }
}
