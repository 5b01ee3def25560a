#pragma once
// A SQLite VFS that writes a commit's WAL frames out together.
//
// SQLite writes each WAL frame as two writes (its 24-byte header, then the
// page): a patient create's commit was ~60 pwrite calls, where one write of
// the same bytes costs a third of their time (benchmarks/README.md,
// thirteenth session; docs/storage.md). This VFS forwards
// every call to the VFS under it, except that a WAL file's contiguous writes
// are gathered and written out together (64 KiB per write call):
//  - with the page of a commit frame (a frame whose header carries the
//    database size: the write that ends a transaction), from that xWrite, so
//    a failed write-out fails the commit before SQLite publishes it in the
//    WAL index; other connections only read frames of published commits;
//  - before any other call on the file (read, size, truncate, sync, close,
//    file control), at a gap in the offsets, or past 1 MiB gathered.
// What is still gathered when the process dies belongs to a transaction that
// had not committed.
//
// It also remembers where the main file's WAL index is mapped, so that a
// connection can tell whether anything was committed since it last looked
// without a transaction (wal_index_header below).
#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <optional>

namespace fhirbridge::storage::sqlite::detail {

// Registers (once, thread-safe) and returns the name of the coalescing VFS
// over SQLite's default VFS: what every store connection opens with.
const char* wal_write_coalescing_vfs();

// Registers a coalescing VFS called `name` over the registered VFS `under`
// (tests put a fault-injecting VFS there). Returns SQLITE_OK or SQLite's code;
// the VFS lives until the process ends.
int register_wal_write_coalescing_vfs(const char* name, const char* under);

// The WAL index header (sqlite.org/walformat.html, "The WAL-Index Header"):
// the 48 bytes SQLite rewrites, in the shared memory every connection to the
// file maps, at each commit of any connection, this process's or another's.
// Readers find their snapshot through it (its last committed frame), so while
// it reads the same, nothing was committed; a commit always changes it (the
// frame count and the frames' checksum go on; a restarted WAL changes its salt).
struct WalIndexHeader {
  std::array<std::uint32_t, 12> words{};
  bool operator==(const WalIndexHeader&) const = default;
};

// `db`'s main database as its WAL index says it is now, read without a lock
// or a transaction, as SQLite's readers read it: the first copy, a barrier,
// the second, equal. nullopt when that cannot be done: `db` is not open on a
// coalescing VFS, has not mapped a WAL index (not in WAL mode, exclusive
// locking mode, no read yet), or a commit is writing the header (the copies
// differ). Callers then ask SQLite (PRAGMA data_version).
std::optional<WalIndexHeader> wal_index_header(sqlite3* db);

}  // namespace fhirbridge::storage::sqlite::detail
