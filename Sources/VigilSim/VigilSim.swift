/// VigilSim
///
/// Synthetic telemetry with ground truth: the fleet simulator behind 'vigil generate' and 'vigil bench', and the
/// scoring of alerts against injected incidents behind 'vigil eval incidents'.
public enum VigilSim {}
