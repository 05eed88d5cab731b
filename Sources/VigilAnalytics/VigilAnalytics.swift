/// VigilAnalytics
///
/// Windows, aggregators, counter-rate logic, anomaly detectors and degradation forecasters. Pure and
/// deterministic: time comes in as a parameter, state is small and fixed-size per series.
public enum VigilAnalytics {}
