/// VigilWire
///
/// Decoders and encoders for telemetry on the wire: Vigil's native framed format (docs/wire-format.md)
/// (`Native/`), the types flow decoders share (`Flow/`), sFlow v5 (`SFlow/`), a raw packet header parser
/// (`Packet/`) and a pcap/pcapng capture reader (`Capture/`); NetFlow v9 and IPFIX beside them. Pure: bytes in,
/// values out; no I/O, no clocks, no globals.
public enum VigilWire {}
