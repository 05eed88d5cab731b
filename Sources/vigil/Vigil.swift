import ArgumentParser

@main
struct Vigil: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract:
            "Streaming telemetry analytics: windows, anomaly and failure forecasts, alerts and compressed rollups.",
        version: "0.1.0",
        subcommands: [
            RunCommand.self, InspectCommand.self, RollupsCommand.self, FlowsCommand.self, GenerateCommand.self,
            EvalCommand.self, PdmCommand.self,
            BenchCommand.self,
        ]
    )
}
