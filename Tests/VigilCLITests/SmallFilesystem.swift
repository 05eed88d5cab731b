import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A tmpfs of a few KiB mounted for one test, so that a disk fills for real (a short write, then `ENOSPC`),
/// which `/dev/full` (every write fails whole) cannot show.
///
/// Mounting needs root (`CAP_SYS_ADMIN`), which the development machines and CI have; a test that needs
/// one is skipped where mounting is refused (``canMount``).
final class SmallFilesystem {
    let path: String

    /// Mounts a tmpfs of `kibibytes` KiB on a new directory; nil when the system refuses.
    init?(kibibytes: Int) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "vigil-small-fs-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        ).path
        guard mkdir(directory, 0o755) == 0 else { return nil }
        let mounted = "size=\(kibibytes)k,mode=0755".withCString { options in
            mount("tmpfs", directory, "tmpfs", 0, options) == 0
        }
        guard mounted else {
            rmdir(directory)
            return nil
        }
        path = directory
    }

    /// Unmounts (lazily, should a file still be open) and removes the directory.
    func unmount() {
        umount2(path, Int32(MNT_DETACH))
        rmdir(path)
    }

    /// Whether this process may mount a tmpfs: tried once.
    static let canMount: Bool = {
        guard let probe = SmallFilesystem(kibibytes: 4) else { return false }
        probe.unmount()
        return true
    }()
}
