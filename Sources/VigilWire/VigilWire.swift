/// VigilWire
///
/// Decoders and encoders for telemetry on the wire: Vigil's native framed format (docs/wire-format.md), later
/// NetFlow v9, IPFIX, sFlow v5 and pcap. Pure: bytes in, values out; no I/O, no clocks, no globals.
public enum VigilWire {}
