/// Decodes flow datagrams of any format Vigil reads, told apart per datagram by its first bytes: a 16-bit
/// version 5 (NetFlow v5), 9 (NetFlow v9) or 10 (IPFIX), or a 32-bit version 5 (sFlow v5). One UDP port
/// can therefore carry every format, and an exporter may switch formats between datagrams.
///
/// Anything else is reported as ``FlowDecodeError/Reason/notAFlowDatagram`` with its first bytes in hex,
/// except Vigil's own native frames (magic `VGIL`), which are ``FlowDecodeError/Reason/nativeFramesOnFlowInput``
/// so that a sender pointed at the wrong port is easy to spot.
public struct FlowDatagramDecoder {
    public var netFlowV5: NetFlowV5Decoder
    /// NetFlow v9 and IPFIX share one decoder (and one template store per exporter key).
    public var templateFlows: TemplateFlowDecoder
    public var sFlow: SFlowDecoder

    public init(limits: FlowDecoderLimits = .init()) {
        netFlowV5 = NetFlowV5Decoder(limits: limits)
        templateFlows = TemplateFlowDecoder(limits: limits)
        sFlow = SFlowDecoder(limits: limits)
    }

    /// The format a datagram's first bytes announce, or nil.
    public static func format(of datagram: UnsafeRawBufferPointer) -> FlowFormat? {
        guard datagram.count >= 2 else { return nil }
        switch UInt16(datagram[0]) << 8 | UInt16(datagram[1]) {
        case 5: return .netFlowV5
        case 9: return .netFlowV9
        case 10: return .ipfix
        case 0:
            guard datagram.count >= 4, datagram[2] == 0, datagram[3] == 5 else { return nil }
            return .sFlowV5
        default: return nil
        }
    }

    /// At the end of the input: data still held for templates that never came is dropped and reported.
    public mutating func finish<C: FlowConsumer>(into consumer: inout C) {
        templateFlows.dropHeldData(into: &consumer)
    }

    /// Decodes one datagram with the decoder its format calls for.
    ///
    /// - Parameters:
    ///   - datagram: the UDP payload; only read during the call.
    ///   - address: the datagram's source address.
    ///   - sourcePort: its UDP source port, when known (see ``TemplateFlowDecoder``: v9/IPFIX templates are
    ///     kept per transport session).
    ///   - arrivalNanoseconds: receive time, nanoseconds since the Unix epoch.
    ///   - consumer: receives what the datagram holds, or the error that it is not a flow datagram.
    public mutating func decode<C: FlowConsumer>(
        _ datagram: UnsafeRawBufferPointer,
        from address: IPAddress,
        sourcePort: UInt16? = nil,
        arrivalNanoseconds: Int64,
        into consumer: inout C
    ) {
        switch Self.format(of: datagram) {
        case .netFlowV5:
            netFlowV5.decode(datagram, from: address, arrivalNanoseconds: arrivalNanoseconds, into: &consumer)
        case .netFlowV9, .ipfix:
            templateFlows.decode(
                datagram,
                from: address,
                sourcePort: sourcePort,
                arrivalNanoseconds: arrivalNanoseconds,
                into: &consumer
            )
        case .sFlowV5:
            sFlow.decode(datagram, from: address, arrivalNanoseconds: arrivalNanoseconds, into: &consumer)
        case nil:
            if datagram.count >= 4,
                datagram.loadUnaligned(as: UInt32.self) == NativeFormat.magic.littleEndian
            {
                consumer.flowError(
                    FlowDecodeError(
                        .nativeFramesOnFlowInput,
                        offset: 0,
                        "native Vigil frames (magic VGIL) sent to a flow input; send them to a native input"
                    ),
                    info: nil
                )
                return
            }
            consumer.flowError(
                FlowDecodeError(
                    .notAFlowDatagram,
                    offset: 0,
                    "\(datagram.count) bytes starting \(_FlowBytes.hexPrefix(datagram)): not NetFlow v5/v9, IPFIX "
                        + "or sFlow v5"
                ),
                info: nil
            )
        }
    }
}
