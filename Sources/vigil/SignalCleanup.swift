import Dispatch
import VigilStore

#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM end a command that has no drain of its own (`generate`, `bench`) as they do by
/// default, after removing the temporary files it has not published (``TemporaryFiles``). `vigil run`
/// drains instead (the engine's handlers); its second signal exits through `exit`, which removes them too.
enum SignalCleanup {
    /// Kept for the life of the process: a cancelled or released source stops handling its signal.
    private nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []

    static func install() {
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                TemporaryFiles.removeAll()
                // Die of the signal, as without a handler, so that a shell sees why the command ended.
                signal(number, SIG_DFL)
                var unblocked = sigset_t()
                sigemptyset(&unblocked)
                sigaddset(&unblocked, number)
                pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
                raise(number)
                _exit(128 + number)  // only if the signal could not be delivered to this thread
            }
            source.resume()
            return source
        }
    }
}
