import ArgumentParser

/// `vigil generate`: test traffic. `fleet` (the default, so `vigil generate --out x` works as it always
/// has) simulates a fleet's telemetry; `flows` sends NetFlow, IPFIX or sFlow datagrams.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate test input: a fleet's telemetry (fleet, the default) or flow export datagrams (flows).",
        discussion: """
            Without a subcommand, `vigil generate` is `vigil generate fleet`: every flag of fleet works as is.

            Examples:
              vigil generate --out fleet.vgl.zst --truth fleet.truth.json
              vigil generate flows --format ipfix --records 100000 --out flows.pcap
              vigil generate flows --format v9 --records 5000000 --rate 1000000 --to udp://127.0.0.1:2055
            """,
        subcommands: [GenerateFleetCommand.self, GenerateFlowsCommand.self],
        defaultSubcommand: GenerateFleetCommand.self
    )
}
