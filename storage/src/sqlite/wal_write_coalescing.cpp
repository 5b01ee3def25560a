#include "fhirbridge/storage/detail/wal_write_coalescing.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <tuple>

namespace fhirbridge::storage::sqlite::detail {

namespace {

constexpr int kFrameHeaderSize = 24;            // SQLite's WAL frame header
constexpr std::size_t kMaxGathered = 1u << 20;  // written out past this
// The most one write to the VFS under carries: SQLite's unix VFS masks a
// write's length with 0x1ffff (its own writes are never longer), so a longer
// one would be cut short.
constexpr std::size_t kMaxWrite = 1u << 16;

// The file SQLite holds: ours first, the file of the VFS under it right
// after (SQLite allocates szOsFile bytes for both).
struct CoalescingFile {
  sqlite3_file base;  // must stay first: SQLite's pointer is to it
  sqlite3_file* under = nullptr;
  bool wal = false;
  // The frame header last written names a database size: the next write,
  // its page, ends a transaction.
  bool commit_page_next = false;
  std::string gathered;
  sqlite3_int64 gathered_offset = 0;
  // The main file's first WAL index region, where its header is, while mapped
  // (set by xShmMap, cleared by xShmUnmap; both run on the connection's
  // thread, as wal_index_header() does).
  void volatile* wal_index = nullptr;
};

constexpr int kFileSize = static_cast<int>((sizeof(CoalescingFile) + 7) & ~std::size_t{7});

CoalescingFile* of(sqlite3_file* file) {
  return reinterpret_cast<CoalescingFile*>(file);
}
const sqlite3_io_methods& under_methods(CoalescingFile* f) {
  return *f->under->pMethods;
}

// A write to the file under. SQLite's unix VFS answers SQLITE_FULL for a
// full disk (ENOSPC) but a plain I/O error for a write past a file size limit
// (EFBIG: RLIMIT_FSIZE) or a quota (EDQUOT); those are a full disk too, for
// the store as for the caller (HTTP 507, docs/server.md). errno is read right
// after the call that set it: SQLite's own record of it is stale by the time
// the statement fails.
int write_under(CoalescingFile* f, const void* data, int amount, sqlite3_int64 offset) {
  errno = 0;
  const int rc = under_methods(f).xWrite(f->under, data, amount, offset);
  if ((rc & 0xff) == SQLITE_IOERR && (errno == EFBIG || errno == EDQUOT)) return SQLITE_FULL;
  return rc;
}

int write_out(CoalescingFile* f) {
  int rc = SQLITE_OK;
  for (std::size_t done = 0; done < f->gathered.size() && rc == SQLITE_OK; done += kMaxWrite) {
    const std::size_t amount = std::min(kMaxWrite, f->gathered.size() - done);
    rc = write_under(f, f->gathered.data() + done, static_cast<int>(amount),
                     f->gathered_offset + static_cast<sqlite3_int64>(done));
  }
  f->gathered.clear();  // on failure SQLite rolls back; the frames are not published
  return rc;
}

// A frame header's database size (bytes 4-7, big-endian): non-zero on a
// commit frame.
bool names_database_size(const void* header) {
  const auto* b = static_cast<const unsigned char*>(header);
  return (b[4] | b[5] | b[6] | b[7]) != 0;
}

int coalescing_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  CoalescingFile* f = of(file);
  if (!f->wal) return write_under(f, data, amount, offset);
  const auto gathered_end = f->gathered_offset + static_cast<sqlite3_int64>(f->gathered.size());
  if (!f->gathered.empty() && offset != gathered_end)
    if (const int rc = write_out(f); rc != SQLITE_OK) return rc;
  if (f->gathered.empty()) f->gathered_offset = offset;
  f->gathered.append(static_cast<const char*>(data), static_cast<std::size_t>(amount));
  const bool ends_commit = f->commit_page_next && amount != kFrameHeaderSize;
  f->commit_page_next = amount == kFrameHeaderSize && names_database_size(data);
  if (ends_commit || f->gathered.size() >= kMaxGathered) return write_out(f);
  return SQLITE_OK;
}

// Every other call on a WAL file sees the file as SQLite wrote it.
int write_out_first(CoalescingFile* f) {
  if (!f->wal) return SQLITE_OK;
  const int rc = write_out(f);
  if (rc != SQLITE_OK) f->commit_page_next = false;
  return rc;
}

int coalescing_close(sqlite3_file* file) {
  CoalescingFile* f = of(file);
  const int written = f->wal ? write_out(f) : SQLITE_OK;
  const int rc = under_methods(f).xClose(f->under);
  f->~CoalescingFile();
  return written != SQLITE_OK ? written : rc;
}

int coalescing_read(sqlite3_file* file, void* data, int amount, sqlite3_int64 offset) {
  CoalescingFile* f = of(file);
  if (const int rc = write_out_first(f); rc != SQLITE_OK) return rc;
  return under_methods(f).xRead(f->under, data, amount, offset);
}

int coalescing_truncate(sqlite3_file* file, sqlite3_int64 size) {
  CoalescingFile* f = of(file);
  if (const int rc = write_out_first(f); rc != SQLITE_OK) return rc;
  return under_methods(f).xTruncate(f->under, size);
}

int coalescing_sync(sqlite3_file* file, int flags) {
  CoalescingFile* f = of(file);
  if (const int rc = write_out_first(f); rc != SQLITE_OK) return rc;
  return under_methods(f).xSync(f->under, flags);
}

int coalescing_file_size(sqlite3_file* file, sqlite3_int64* size) {
  CoalescingFile* f = of(file);
  if (const int rc = write_out_first(f); rc != SQLITE_OK) return rc;
  return under_methods(f).xFileSize(f->under, size);
}

int coalescing_file_control(sqlite3_file* file, int op, void* arg) {
  CoalescingFile* f = of(file);
  if (const int rc = write_out_first(f); rc != SQLITE_OK) return rc;
  return under_methods(f).xFileControl(f->under, op, arg);
}

int coalescing_lock(sqlite3_file* file, int level) {
  return under_methods(of(file)).xLock(of(file)->under, level);
}
int coalescing_unlock(sqlite3_file* file, int level) {
  return under_methods(of(file)).xUnlock(of(file)->under, level);
}
int coalescing_check_reserved_lock(sqlite3_file* file, int* out) {
  return under_methods(of(file)).xCheckReservedLock(of(file)->under, out);
}
int coalescing_sector_size(sqlite3_file* file) {
  return under_methods(of(file)).xSectorSize(of(file)->under);
}
int coalescing_device_characteristics(sqlite3_file* file) {
  return under_methods(of(file)).xDeviceCharacteristics(of(file)->under);
}
// The shared-memory and memory-map calls are the main file's (WAL index,
// mmap reads); forwarded when the file under has them.
int coalescing_shm_map(sqlite3_file* file, int page, int size, int extend, void volatile** out) {
  const auto& m = under_methods(of(file));
  if (m.iVersion < 2 || !m.xShmMap) return SQLITE_IOERR_SHMMAP;
  const int rc = m.xShmMap(of(file)->under, page, size, extend, out);
  if (page == 0 && rc == SQLITE_OK) of(file)->wal_index = *out;
  return rc;
}
int coalescing_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  const auto& m = under_methods(of(file));
  return m.iVersion >= 2 && m.xShmLock ? m.xShmLock(of(file)->under, offset, n, flags)
                                       : SQLITE_IOERR_SHMLOCK;
}
void coalescing_shm_barrier(sqlite3_file* file) {
  const auto& m = under_methods(of(file));
  if (m.iVersion >= 2 && m.xShmBarrier) m.xShmBarrier(of(file)->under);
}
int coalescing_shm_unmap(sqlite3_file* file, int delete_flag) {
  of(file)->wal_index = nullptr;
  const auto& m = under_methods(of(file));
  return m.iVersion >= 2 && m.xShmUnmap ? m.xShmUnmap(of(file)->under, delete_flag) : SQLITE_OK;
}
int coalescing_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  const auto& m = under_methods(of(file));
  if (m.iVersion >= 3 && m.xFetch) return m.xFetch(of(file)->under, offset, amount, out);
  *out = nullptr;
  return SQLITE_OK;
}
int coalescing_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  const auto& m = under_methods(of(file));
  return m.iVersion >= 3 && m.xUnfetch ? m.xUnfetch(of(file)->under, offset, page) : SQLITE_OK;
}

const sqlite3_io_methods kMethods = {
    3,
    coalescing_close,
    coalescing_read,
    coalescing_write,
    coalescing_truncate,
    coalescing_sync,
    coalescing_file_size,
    coalescing_lock,
    coalescing_unlock,
    coalescing_check_reserved_lock,
    coalescing_file_control,
    coalescing_sector_size,
    coalescing_device_characteristics,
    coalescing_shm_map,
    coalescing_shm_lock,
    coalescing_shm_barrier,
    coalescing_shm_unmap,
    coalescing_fetch,
    coalescing_unfetch,
};

sqlite3_vfs* under_vfs(sqlite3_vfs* vfs) {
  return static_cast<sqlite3_vfs*>(vfs->pAppData);
}

int coalescing_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags,
                    int* out_flags) {
  sqlite3_vfs* under = under_vfs(vfs);
  auto* under_file = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kFileSize);
  under_file->pMethods = nullptr;
  const int rc = under->xOpen(under, name, under_file, flags, out_flags);
  if (rc != SQLITE_OK) {
    // SQLite calls xClose only when pMethods is set: close the one under here.
    if (under_file->pMethods) under_file->pMethods->xClose(under_file);
    file->pMethods = nullptr;
    return rc;
  }
  auto* f = new (file) CoalescingFile;
  f->under = under_file;
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->base.pMethods = &kMethods;
  return SQLITE_OK;
}

int coalescing_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return under_vfs(vfs)->xDelete(under_vfs(vfs), name, sync_dir);
}
int coalescing_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return under_vfs(vfs)->xAccess(under_vfs(vfs), name, flags, out);
}
int coalescing_full_pathname(sqlite3_vfs* vfs, const char* name, int size, char* out) {
  return under_vfs(vfs)->xFullPathname(under_vfs(vfs), name, size, out);
}
void* coalescing_dl_open(sqlite3_vfs* vfs, const char* name) {
  return under_vfs(vfs)->xDlOpen(under_vfs(vfs), name);
}
void coalescing_dl_error(sqlite3_vfs* vfs, int size, char* out) {
  under_vfs(vfs)->xDlError(under_vfs(vfs), size, out);
}
void (*coalescing_dl_sym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return under_vfs(vfs)->xDlSym(under_vfs(vfs), handle, symbol);
}
void coalescing_dl_close(sqlite3_vfs* vfs, void* handle) {
  under_vfs(vfs)->xDlClose(under_vfs(vfs), handle);
}
int coalescing_randomness(sqlite3_vfs* vfs, int size, char* out) {
  return under_vfs(vfs)->xRandomness(under_vfs(vfs), size, out);
}
int coalescing_sleep(sqlite3_vfs* vfs, int microseconds) {
  return under_vfs(vfs)->xSleep(under_vfs(vfs), microseconds);
}
int coalescing_current_time(sqlite3_vfs* vfs, double* out) {
  return under_vfs(vfs)->xCurrentTime(under_vfs(vfs), out);
}
int coalescing_get_last_error(sqlite3_vfs* vfs, int size, char* out) {
  return under_vfs(vfs)->xGetLastError ? under_vfs(vfs)->xGetLastError(under_vfs(vfs), size, out)
                                       : 0;
}
int coalescing_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  sqlite3_vfs* under = under_vfs(vfs);
  if (under->iVersion >= 2 && under->xCurrentTimeInt64) return under->xCurrentTimeInt64(under, out);
  double days = 0;
  const int rc = under->xCurrentTime(under, &days);
  *out = static_cast<sqlite3_int64>(days * 86400000.0);
  return rc;
}

// One copy of the header, word by word: another process writes this memory
// as we read it, so each load is atomic and a torn copy shows as a difference
// between the two.
WalIndexHeader load_header_copy(void volatile* region, std::size_t copy) {
  auto* words = const_cast<std::uint32_t*>(static_cast<volatile std::uint32_t*>(region)) +
                copy * std::tuple_size_v<decltype(WalIndexHeader::words)>;
  WalIndexHeader header;
  for (std::size_t i = 0; i < header.words.size(); ++i)
    header.words[i] = __atomic_load_n(words + i, __ATOMIC_RELAXED);
  return header;
}

}  // namespace

std::optional<WalIndexHeader> wal_index_header(sqlite3* db) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || !file ||
      file->pMethods != &kMethods)
    return std::nullopt;
  void volatile* region = of(file)->wal_index;
  if (!region) return std::nullopt;
  // SQLite's writer stores the second copy, a barrier, then the first
  // (walIndexWriteHdr); its readers load the first, a barrier, the second
  // (walIndexTryHdr). A copy loaded while a commit writes it differs from
  // the other one.
  const WalIndexHeader first = load_header_copy(region, 0);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const WalIndexHeader second = load_header_copy(region, 1);
  constexpr std::size_t kIsInitOffset = 12;  // u8 isInit, after three u32 (in native order)
  const bool initialised =
      reinterpret_cast<const unsigned char*>(first.words.data())[kIsInitOffset];
  if (!(first == second) || !initialised) return std::nullopt;
  return first;
}

int register_wal_write_coalescing_vfs(const char* name, const char* under_name) {
  sqlite3_vfs* under = sqlite3_vfs_find(under_name);
  if (!under) return SQLITE_NOTFOUND;
  // Kept for the process's life: SQLite holds the pointer once registered
  // (its list of VFSes keeps both reachable: no leak report at exit).
  struct Registered {
    sqlite3_vfs vfs{};  // first: the pointer SQLite holds is the whole's
    std::string name;
  };
  auto* registered = new Registered;
  registered->name = name;
  sqlite3_vfs* vfs = &registered->vfs;
  vfs->iVersion = 2;
  vfs->szOsFile = kFileSize + under->szOsFile;
  vfs->mxPathname = under->mxPathname;
  vfs->zName = registered->name.c_str();
  vfs->pAppData = under;
  vfs->xOpen = coalescing_open;
  vfs->xDelete = coalescing_delete;
  vfs->xAccess = coalescing_access;
  vfs->xFullPathname = coalescing_full_pathname;
  vfs->xDlOpen = coalescing_dl_open;
  vfs->xDlError = coalescing_dl_error;
  vfs->xDlSym = coalescing_dl_sym;
  vfs->xDlClose = coalescing_dl_close;
  vfs->xRandomness = coalescing_randomness;
  vfs->xSleep = coalescing_sleep;
  vfs->xCurrentTime = coalescing_current_time;
  vfs->xGetLastError = coalescing_get_last_error;
  vfs->xCurrentTimeInt64 = coalescing_current_time_int64;
  return sqlite3_vfs_register(vfs, /*makeDflt=*/0);
}

const char* wal_write_coalescing_vfs() {
  static const char* const name = [] {
    const char* chosen = "fhirbridge-wal-coalescing";
    return register_wal_write_coalescing_vfs(chosen, nullptr) == SQLITE_OK ? chosen : nullptr;
  }();
  return name;  // nullptr (SQLite's default VFS) if registration failed
}

}  // namespace fhirbridge::storage::sqlite::detail
