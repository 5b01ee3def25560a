// SqliteStore: sealed iCure documents + clear index tables in one SQLite file.
#include "fhirbridge/storage/sqlite_store.hpp"

#include <botan/chacha_rng.h>
#include <botan/system_rng.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <exception>
#include <set>
#include <type_traits>
#include <utility>

#include "fhirbridge/crypto/primitives.hpp"
#include "fhirbridge/json_io.hpp"
#include "fhirbridge/mapping/json_writer.hpp"
#include "fhirbridge/storage/detail/sqlite.hpp"
#include "fhirbridge/storage/text_fold.hpp"
#include "schema.hpp"
#include "sqlite_store_impl.hpp"

namespace fhirbridge::storage {

namespace json = boost::json;
using sqlite::Statement;
using sqlite::Transaction;
using sqlite::Value;

namespace {

constexpr const char* kHcpType = "org.taktik.icure.entities.HealthcareParty";

// Straight to text (the same bytes as json::serialize(json_io::to_json(entity))).
template <typename Entity>
std::string serialize(const Entity& entity) {
  return json_writer::to_string(entity);
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::vector<std::string> readers_of(const icure::DelegationMap& delegations) {
  std::vector<std::string> readers;
  if (delegations)
    for (const auto& [hcp, list] : *delegations)
      if (!list.empty()) readers.push_back(hcp);
  return readers;
}

// The ids a contact is also read by: its services' ids and FHIR ids.
std::vector<std::string> service_aliases_of(const icure::Contact& contact) {
  std::vector<std::string> aliases;
  if (contact.services)
    for (const auto& service : *contact.services) {
      if (service.id) aliases.push_back(*service.id);
      for (auto& fhir_id : fhir_ids_of(service.identifier)) aliases.push_back(std::move(fhir_id));
    }
  return aliases;
}

// ",a,b," so that membership is one instr() / find().
std::string joined_readers(const std::vector<std::string>& readers) {
  std::string out = ",";
  for (const auto& r : readers) out += r + ",";
  return out;
}

// Every index table of patients and of contacts, with its entity column.
struct IndexTables {
  const char* column;
  std::vector<const char*> tables;
};
const IndexTables& index_tables(const char* kind) {
  static const IndexTables patient{"patient_id",
                                   {"patient_reader", "patient_identifier", "patient_name"}};
  static const IndexTables contact{"contact_id",
                                   {"contact_reader", "contact_secret_fk", "service",
                                    "service_identifier", "service_code", "contact_date"}};
  return std::string_view(kind) == "patient" ? patient : contact;
}

// iCure dates in contacts are YYYYMMDDhhmmss, but YYYYMMDD is accepted.
std::int64_t normalize_date(std::int64_t date) {
  return date < 100000000 ? date * 1000000 : date;
}

// Copies what sealing added (crypto fields, encryptedSelf) onto the clear
// entity, which is what the caller gets back: no decryption round trip.
template <typename Entity>
Entity reveal(Entity clear, const Entity& sealed) {
  clear.id = sealed.id;
  clear.rev = sealed.rev;
  clear.delegations = sealed.delegations;
  clear.encryptionKeys = sealed.encryptionKeys;
  clear.cryptedForeignKeys = sealed.cryptedForeignKeys;
  clear.secretForeignKeys = sealed.secretForeignKeys;
  clear.encryptedSelf = sealed.encryptedSelf;
  return clear;
}

// What a create returns when the caller asked for no entities back
// (WriteBatch::return_entities = false): the stored id and rev only.
template <typename Entity>
Entity id_and_rev_of(Entity& sealed) {
  Entity stored;
  stored.id = std::move(sealed.id);
  stored.rev = std::move(sealed.rev);
  return stored;
}

icure::Contact reveal_contact(icure::Contact clear, const icure::Contact& sealed) {
  if (clear.services && sealed.services && clear.services->size() == sealed.services->size())
    for (std::size_t i = 0; i < clear.services->size(); ++i)
      (*clear.services)[i].encryptedSelf = (*sealed.services)[i].encryptedSelf;
  return reveal(std::move(clear), sealed);
}

}  // namespace

// ---- opening --------------------------------------------------------------------

int SqliteStore::schema_version() {
  return static_cast<int>(schema::migrations().size());
}

SqliteStore::Impl::Impl(crypto::Keychain& keychain, SqliteStoreOptions& options)
    // The default RNG: ChaCha20 keyed from the OS CSPRNG (getrandom) and rekeyed
    // from it every 1024 requests and after a fork. Calling the OS for every
    // IV, key and UUID cost a system call each (a tenth of an insert's time).
    : owned_rng(options.rng ? nullptr
                            : std::make_unique<Botan::ChaCha_RNG>(Botan::system_rng(), 1024)),
      rng(options.rng ? *options.rng : *owned_rng),
      sealer(keychain, rng, options.sealing),
      new_id(options.new_id),
      now_ms(options.now_ms) {
  if (!now_ms)
    now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  // Time-ordered ids (docs/storage.md): new rows land at the right edge of
  // the id-keyed B-trees.
  if (!new_id) new_id = [this] { return crypto::time_ordered_uuid(rng, now_ms()); };
}

SqliteStore::Impl::~Impl() {
  if (checkpointer.joinable()) {
    {
      std::lock_guard lock(checkpoint_mutex);
      stopping = true;
    }
    checkpoint_wanted.notify_all();
    checkpointer.join();
  }
  checkpointer_db = sqlite::Database();
  {
    // No call is running when the store dies: every reader is back in the pool.
    std::lock_guard lock(pool_mutex);
    idle_readers.clear();
  }
  // Leave no WAL behind (the last close would checkpoint too, unless another
  // process still has the file open; then TRUNCATE still empties the WAL).
  if (writer.handle() && checkpoint_pages > 0)
    sqlite3_wal_checkpoint_v2(writer.handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr,
                              nullptr);
}

Status SqliteStore::Impl::migrate() {
  const auto& migrations = schema::migrations();
  Bind bind(writer);
  auto tx = Transaction::begin(writer, Transaction::Mode::immediate);
  if (!tx.ok()) return tx.status();
  auto version = db().query_int("PRAGMA user_version");
  if (!version.ok()) return version.status();
  if (*version > static_cast<std::int64_t>(migrations.size()))
    return Status::Internal("database schema version " + std::to_string(*version) +
                            " is newer than this build (" + std::to_string(migrations.size()) +
                            ")");
  for (auto v = static_cast<std::size_t>(*version); v < migrations.size(); ++v) {
    FHIRBRIDGE_RETURN_IF_ERROR(db().exec(migrations[v]));
    FHIRBRIDGE_RETURN_IF_ERROR(db().exec("PRAGMA user_version = " + std::to_string(v + 1)));
  }
  // A bulk import killed after defer_search_indexes left them out.
  FHIRBRIDGE_RETURN_IF_ERROR(build_missing_search_indexes());
  return tx->commit();
}

Status SqliteStore::Impl::build_missing_search_indexes() {
  for (const auto& index : schema::kDeferrableIndexes)
    FHIRBRIDGE_RETURN_IF_ERROR(db().exec(index.create_sql));
  return {};
}

Status SqliteStore::Impl::start(const SqliteStoreOptions& options) {
  busy_timeout = options.busy_timeout;
  max_group = std::max<std::size_t>(1, options.max_group_commit);
  // An in-memory (or temporary) database exists only on its own connection:
  // reads then share the writer and SQLite checkpoints as it likes.
  const char* name = sqlite3_db_filename(writer.handle(), "main");
  const bool on_disk = name && *name;
  max_readers = !on_disk ? 0
                : options.read_connections
                    ? options.read_connections
                    : std::max<std::size_t>(2, std::thread::hardware_concurrency());
  checkpoint_pages = on_disk ? options.checkpoint_pages : 0;
  if (checkpoint_pages == 0) return {};
  // Replaces SQLite's automatic checkpoint (which would run inside COMMIT).
  sqlite3_wal_hook(writer.handle(), &Impl::on_wal_commit, this);
  auto db = sqlite::Database::open_existing(file, /*read_only=*/false);
  if (!db.ok()) return db.status();
  checkpointer_db = std::move(*db);
  // A connection that has never read the file has not opened its WAL yet, and
  // its checkpoints then return SQLITE_OK having done nothing ("not in WAL
  // mode"); one read opens the WAL for the connection's lifetime.
  FHIRBRIDGE_RETURN_IF_ERROR(checkpointer_db.exec("SELECT count(*) FROM sqlite_schema"));
  checkpointer = std::thread([this] { checkpoint_loop(); });
  return {};
}

// ---- read connections -------------------------------------------------------------

SqliteStore::Impl::ReadLease::~ReadLease() {
  if (pooled_) impl_->return_reader(std::move(pooled_));
}

Result<SqliteStore::Impl::ReadLease> SqliteStore::Impl::lease_reader() {
  ReadLease lease;
  lease.impl_ = this;
  if (max_readers == 0) {
    lease.writer_lock_ = std::unique_lock(write_mutex);
    lease.db_ = &writer;
    return lease;
  }
  std::unique_lock lock(pool_mutex);
  while (idle_readers.empty()) {
    if (open_readers < max_readers) {  // open one more, outside the lock
      ++open_readers;
      lock.unlock();
      auto opened = sqlite::Database::open_existing(file, /*read_only=*/true);
      Status status = opened.status();
      if (opened.ok()) {
        sqlite3_busy_timeout(opened->handle(), static_cast<int>(busy_timeout.count()));
        status = opened->exec(
            "PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY; PRAGMA mmap_size = "
            "268435456;");
      }
      if (!status.ok()) {
        lock.lock();
        --open_readers;
        pool_available.notify_one();
        return status;
      }
      lease.pooled_ = std::make_unique<Reader>(std::move(*opened));
      lease.db_ = &lease.pooled_->db;
      return lease;
    }
    pool_available.wait(lock);
  }
  lease.pooled_ = std::move(idle_readers.back());
  idle_readers.pop_back();
  lease.db_ = &lease.pooled_->db;
  return lease;
}

void SqliteStore::Impl::return_reader(std::unique_ptr<Reader> reader) {
  {
    std::lock_guard lock(pool_mutex);
    idle_readers.push_back(std::move(reader));
  }
  pool_available.notify_one();
}

Result<SqliteStore::Impl::DataVersion> SqliteStore::Impl::data_version(sqlite::Database& db) {
  DataVersion version;
  if ((version.header = sqlite::detail::wal_index_header(db.handle()))) return version;
  auto stmt = db.cached("PRAGMA data_version");
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Internal("PRAGMA data_version returned no row");
  version.pragma = stmt->int64(0);
  return version;
}

// Every connection's DataVersion changes with any other connection's commit
// (this store's writer, another process), so some read connection sees each
// commit on its first look after it, and moves the epoch on then. An answer
// read after a call that returned N started its snapshot after that call: a
// commit it missed came later, and so did the epoch's move.
Result<std::optional<std::uint64_t>> SqliteStore::change_epoch() {
  try {
    auto lease = impl_->lease_reader();
    if (!lease.ok()) return lease.status();
    Impl::Reader* reader = lease->reader();
    if (!reader) return std::optional<std::uint64_t>{};
    auto version = Impl::data_version(lease->db());
    if (!version.ok()) return version.status();
    if (*version != reader->epoch_version) {
      reader->epoch_version = *version;
      impl_->change_epoch.fetch_add(1, std::memory_order_acq_rel);
    }
    return std::optional<std::uint64_t>{impl_->change_epoch.load(std::memory_order_acquire)};
  } catch (const std::exception& e) {
    return Status::Internal(std::string("store: ") + e.what());
  }
}

// ---- group commit -----------------------------------------------------------------

Status SqliteStore::Impl::commit_group(const PendingWritePtr& mine) {
  std::unique_lock lock(queue_mutex);
  write_queue.push_back(mine);
  while (!mine->done) {
    if (leader_running) {
      mine->wake.wait(lock);
      continue;
    }
    // Lead: everything queued so far (oldest first) goes into one transaction.
    leader_running = true;
    const auto n = static_cast<std::ptrdiff_t>(std::min(write_queue.size(), max_group));
    std::vector<PendingWritePtr> group(std::make_move_iterator(write_queue.begin()),
                                       std::make_move_iterator(write_queue.begin() + n));
    write_queue.erase(write_queue.begin(), write_queue.begin() + n);
    lock.unlock();
    try {
      run_group(group);
    } catch (const std::exception& e) {
      for (const auto& p : group)
        if (p->outcome.ok()) p->outcome = Status::Internal(std::string("store: ") + e.what());
    }
    lock.lock();
    for (const auto& p : group) p->done = true;
    leader_running = false;
    PendingWritePtr next_leader = write_queue.empty() ? nullptr : write_queue.front();
    const bool ran_mine = mine->done;  // false when more than max_group were queued before it
    lock.unlock();
    // Woken after the unlock: woken under it, each writer went straight back
    // to sleep on queue_mutex, still held by this leader (two context
    // switches per write instead of one). `group` keeps every write alive
    // until its notify, even if its owner saw `done` already and returned.
    for (const auto& p : group)
      if (p != mine) p->wake.notify_one();
    if (next_leader) next_leader->wake.notify_one();
    if (ran_mine) return mine->outcome;  // set by run_group on this thread
    lock.lock();
  }
  return mine->outcome;
}

void SqliteStore::Impl::run_group(const std::vector<PendingWritePtr>& group) {
  std::lock_guard lock(write_mutex);
  // Timed on every path out (a failed BEGIN, a rollback, the checkpoint after the COMMIT).
  struct GroupTimer {
    std::atomic<std::int64_t>& total;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    ~GroupTimer() {
      total.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count(),
                      std::memory_order_relaxed);
    }
  } timer{stat_group_ns};
  Bind bind(writer);
  auto fail_all = [&](const Status& status) {
    for (const auto& p : group) p->outcome = status;
  };
  auto tx = Transaction::begin(writer, Transaction::Mode::immediate);
  if (!tx.ok()) return fail_all(tx.status());
  // Alone, a write needs no savepoint: its failure rolls the transaction back.
  const bool savepoints = group.size() > 1;
  std::size_t applied = 0;
  for (const auto& p : group) {
    if (savepoints) {
      if (Status s = writer.run_cached("SAVEPOINT grouped_write"); !s.ok()) return fail_all(s);
    }
    Status body;
    {
      // Owner numbers are remembered for this write only: all of it is kept
      // or undone together (its savepoint, or the transaction when alone).
      std::unordered_map<std::string, std::int64_t> owner_numbers;
      owner_numbers_of_write = &owner_numbers;
      struct Forget {
        std::unordered_map<std::string, std::int64_t>*& numbers;
        ~Forget() { numbers = nullptr; }
      } forget{owner_numbers_of_write};
      body = p->run();
    }
    if (!writer.in_transaction()) {
      // SQLite rolled the whole transaction back (I/O error, disk full, ...):
      // nothing of the group is kept; the failing write keeps its own error.
      const Status lost = Status::Internal(
          "the write transaction was rolled back" +
          (body.ok() ? std::string() : " after a failed write: " + body.to_string()));
      for (const auto& q : group)
        if (q != p || body.ok()) q->outcome = lost;
      return;
    }
    if (!savepoints) {
      if (!body.ok()) return;  // the guard rolls back; the caller gets its error
    } else {
      if (!body.ok()) {
        if (Status s = writer.run_cached("ROLLBACK TO grouped_write"); !s.ok()) return fail_all(s);
      }
      if (Status s = writer.run_cached("RELEASE grouped_write"); !s.ok()) return fail_all(s);
    }
    if (body.ok()) ++applied;
  }
  if (applied == 0) return;  // every write failed: the guard rolls back
  if (Status committed = tx->commit(); !committed.ok()) return fail_all(committed);
  stat_commits.fetch_add(1, std::memory_order_relaxed);
  stat_writes.fetch_add(group.size(), std::memory_order_relaxed);
  finish_checkpoint();
}

// ---- checkpoints ------------------------------------------------------------------
//
// SQLite restarts the WAL from its start only when a write transaction begins
// with every frame already copied into the database. A checkpoint running
// beside a busy writer never gets there: the writer commits new frames while
// it copies. So the work is split (docs/storage.md "Checkpoints off the request
// path"):
//   idle        --(a commit leaves >= checkpoint_pages in the WAL)-->  copying
//   copying     --(the checkpointer thread copied the WAL's bulk)-->   tail_ready
//   tail_ready  --(the writer, after a commit, copied the few frames
//                  committed since; its next transaction restarts the WAL)--> idle

void SqliteStore::Impl::finish_checkpoint() {
  if (checkpoint_pages == 0) return;
  const auto pages = static_cast<std::size_t>(wal_pages.load(std::memory_order_relaxed));
  const bool tail = checkpoint_state.load(std::memory_order_acquire) == CheckpointState::tail_ready;
  // Past 4x the threshold the thread lags (or readers hold it back): copy
  // whatever can be, so that the WAL stays bounded.
  if (!tail && pages < 4 * checkpoint_pages) return;
  // Waits for a pass of the thread still running (two checkpoints at once: the
  // second would fail at once, SQLITE_BUSY, and the bound would not hold).
  std::lock_guard running(checkpoint_run_mutex);
  int wal_frames = -1, copied = -1;
  const int rc = sqlite3_wal_checkpoint_v2(writer.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                           &wal_frames, &copied);
  stat_inline_checkpoints.fetch_add(1, std::memory_order_relaxed);
  // Everything copied: the next transaction restarts the WAL. Otherwise (a
  // reader still needs old frames) the tail is tried again after the next commit.
  auto ready = CheckpointState::tail_ready;
  if (rc == SQLITE_OK && copied == wal_frames)
    checkpoint_state.compare_exchange_strong(ready, CheckpointState::idle,
                                             std::memory_order_acq_rel);
}

int SqliteStore::Impl::on_wal_commit(void* self, sqlite3*, const char*, int pages) {
  auto* impl = static_cast<Impl*>(self);
  impl->wal_pages.store(pages, std::memory_order_relaxed);
  auto idle = CheckpointState::idle;
  if (static_cast<std::size_t>(pages) >= impl->checkpoint_pages &&
      impl->checkpoint_state.compare_exchange_strong(idle, CheckpointState::copying,
                                                     std::memory_order_acq_rel)) {
    {
      std::lock_guard lock(impl->checkpoint_mutex);
      ++impl->commits_seen;
    }
    impl->checkpoint_wanted.notify_one();
  }
  return SQLITE_OK;
}

void SqliteStore::Impl::checkpoint_loop() {
  std::unique_lock lock(checkpoint_mutex);
  for (;;) {
    checkpoint_wanted.wait(lock, [&] { return stopping || commits_seen != commits_checkpointed; });
    if (stopping) return;
    commits_checkpointed = commits_seen;
    lock.unlock();
    // PASSIVE: copies what no reader still needs, never waits for anyone.
    {
      std::lock_guard running(checkpoint_run_mutex);
      int wal_frames = -1;
      if (sqlite3_wal_checkpoint_v2(checkpointer_db.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                    &wal_frames, nullptr) == SQLITE_OK &&
          wal_frames >= 0)
        stat_background_checkpoints.fetch_add(1, std::memory_order_relaxed);
      // Even after a failure: the writer's own checkpoint then does it all.
      checkpoint_state.store(CheckpointState::tail_ready, std::memory_order_release);
    }
    lock.lock();
  }
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::filesystem::path& file,
                                                       crypto::Keychain& keychain,
                                                       SqliteStoreOptions options) {
  const std::size_t page_size = options.page_size;
  if (!valid_page_size(page_size))
    return Status::Invalid(
        "page_size", "must be a power of two from 512 to 65536, not " + std::to_string(page_size));
  try {
    auto db = sqlite::Database::open(file);
    if (!db.ok()) return db.status();
    auto impl = std::make_unique<Impl>(keychain, options);
    impl->file = file;
    impl->writer = std::move(*db);
    sqlite::Database& writer = impl->writer;
    sqlite3_busy_timeout(writer.handle(), static_cast<int>(options.busy_timeout.count()));
    // foreign_keys off: the schema's REFERENCES clauses document the links,
    // but checking them cost a parent look-up per index row inserted (~7% of an
    // import); deletes clear index rows themselves (clear_index_rows).
    // secure_delete: freed pages are zeroed (sealed data only, but old
    // revisions need not linger).
    FHIRBRIDGE_RETURN_IF_ERROR(writer.exec(
        "PRAGMA foreign_keys = OFF; PRAGMA secure_delete = ON; PRAGMA synchronous = NORMAL; "
        "PRAGMA cache_size = -32768;"));
    // Before WAL mode: a new file takes it at its first write; a file that
    // exists ignores it (in WAL mode not even VACUUM changes it).
    if (page_size != 0)
      FHIRBRIDGE_RETURN_IF_ERROR(writer.exec("PRAGMA page_size = " + std::to_string(page_size)));
    auto mode = writer.prepare("PRAGMA journal_mode = WAL");
    if (!mode.ok()) return mode.status();
    auto row = mode->step();
    if (!row.ok()) return row.status();
    if (!*row || mode->text(0) != "wal")
      return Status::Internal("cannot switch " + file.string() + " to WAL journal mode");
    mode = Statement();
    // Migrations (and indexes an import left out) sort through temporary
    // files: memory then does not grow with the store. Queries sort in memory.
    FHIRBRIDGE_RETURN_IF_ERROR(impl->migrate());
    FHIRBRIDGE_RETURN_IF_ERROR(writer.exec("PRAGMA temp_store = MEMORY"));
    {
      auto size = writer.prepare("PRAGMA page_size");
      if (!size.ok()) return size.status();
      auto row = size->step();
      if (!row.ok()) return row.status();
      if (*row) impl->page_size = static_cast<std::size_t>(size->int64(0));
    }
    FHIRBRIDGE_RETURN_IF_ERROR(impl->start(options));
    return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("opening the store: ") + e.what());
  }
}

std::size_t SqliteStore::page_size() const {
  return impl_->page_size;
}

Status SqliteStore::defer_search_indexes() {
  return impl_->write([&]() -> Status {
    for (const auto& index : schema::kDeferrableIndexes)
      FHIRBRIDGE_RETURN_IF_ERROR(
          impl_->db().exec(std::string("DROP INDEX IF EXISTS ") + index.name));
    return {};
  });
}

Status SqliteStore::build_search_indexes() {
  // Not in a write group: the sort behind each index spills to temporary
  // files instead of memory (the store's temp_store), so memory does not grow
  // with the store; writes wait meanwhile.
  std::lock_guard lock(impl_->write_mutex);
  Impl::Bind bind(impl_->writer);
  FHIRBRIDGE_RETURN_IF_ERROR(impl_->writer.exec("PRAGMA temp_store = FILE"));
  Status built;
  {
    auto tx = Transaction::begin(impl_->writer, Transaction::Mode::immediate);
    built = tx.ok() ? impl_->build_missing_search_indexes() : tx.status();
    if (built.ok()) built = tx->commit();
  }  // rolled back unless committed
  const Status restored = impl_->writer.exec("PRAGMA temp_store = MEMORY");
  return built.ok() ? restored : built;
}

Result<std::int64_t> SqliteStore::write_fence_time() {
  // A write group of its own: BEGIN IMMEDIATE waits for any writer, and the
  // COMMIT of a transaction that wrote nothing writes no WAL frame.
  return impl_->write([&]() -> Result<std::int64_t> { return impl_->now_ms(); });
}

std::vector<std::string> SqliteStore::deferrable_search_indexes() {
  std::vector<std::string> names;
  for (const auto& index : schema::kDeferrableIndexes) names.emplace_back(index.name);
  return names;
}

bool SqliteStore::valid_page_size(std::size_t bytes) {
  return bytes == 0 || (bytes >= 512 && bytes <= 65536 && (bytes & (bytes - 1)) == 0);
}

SqliteStore::WriteStats SqliteStore::write_stats() const {
  WriteStats stats;
  stats.commits = impl_->stat_commits.load();
  stats.background_checkpoints = impl_->stat_background_checkpoints.load();
  stats.inline_checkpoints = impl_->stat_inline_checkpoints.load();
  stats.writes = impl_->stat_writes.load();
  stats.group_time = std::chrono::nanoseconds(impl_->stat_group_ns.load());
  std::lock_guard lock(impl_->queue_mutex);
  stats.queued = impl_->write_queue.size();
  return stats;
}

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

// ---- shared helpers -------------------------------------------------------------

std::string SqliteStore::Impl::next_rev(std::int64_t previous_generation) {
  std::uint8_t random[16];
  rng.randomize(random, sizeof random);
  return std::to_string(previous_generation + 1) + "-" + crypto::to_hex(random, sizeof random);
}

Result<std::optional<std::pair<std::string, std::string>>> SqliteStore::Impl::load_doc(
    const char* table, const std::string& id) {
  auto stmt = db().cached(std::string("SELECT rev, doc FROM ") + table + " WHERE id = ?");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, id);
  auto row = stmt->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::pair<std::string, std::string>>();
  return std::optional(std::pair(stmt->text(0), stmt->text(1)));
}

Result<std::string> SqliteStore::Impl::doc_at(const char* table, std::int64_t rowid) {
  auto stmt = db().cached(std::string("SELECT doc FROM ") + table + " WHERE rowid = ?");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, rowid);
  auto row = stmt->step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Internal(std::string("a ") + table + " row left during its search");
  return stmt->text(0);
}

Result<SqliteStore::Impl::IdSlot> SqliteStore::Impl::id_slot(EntityKind kind,
                                                             const std::string& id) {
  auto stmt = db().cached(kind == EntityKind::patient
                              ? "SELECT EXISTS(SELECT 1 FROM patient WHERE id = ?1), "
                                "(SELECT rev FROM tombstone WHERE kind = 'patient' AND id = ?1)"
                              : "SELECT EXISTS(SELECT 1 FROM contact WHERE id = ?1), "
                                "(SELECT rev FROM tombstone WHERE kind = 'contact' AND id = ?1)");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, id);
  auto row = stmt->step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Internal("no row for the id check of " + id);
  return IdSlot{stmt->int64(0) != 0, stmt->optional_text(1)};
}

Result<std::optional<Deletion>> SqliteStore::Impl::deletion_for(const char* kind,
                                                                const std::string& id_or_alias,
                                                                const std::string& reader) {
  // The store id wins (the first arm runs first); several deleted entities
  // may share an alias (a FHIR id re-used after a delete): then the latest
  // one the reader could read is the answer.
  auto stmt = db().cached(
      "SELECT id, rev, deleted, readers FROM tombstone WHERE kind = ?1 AND id = ?2 "
      "UNION ALL SELECT t.id, t.rev, t.deleted, t.readers FROM tombstone_alias a "
      "JOIN tombstone t ON t.kind = a.kind AND t.id = a.id WHERE a.kind = ?1 AND a.alias = ?2");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, kind).bind(2, id_or_alias);
  const std::string needle = "," + reader + ",";
  std::optional<Deletion> latest;
  for (;;) {
    auto row = stmt->step();
    if (!row.ok()) return row.status();
    if (!*row) return latest;
    if (stmt->text(3).find(needle) == std::string::npos) continue;
    Deletion found{stmt->text(0), stmt->text(1), stmt->int64(2)};
    if (found.id == id_or_alias) return std::optional(std::move(found));
    if (!latest || found.deleted_ms > latest->deleted_ms) latest = std::move(found);
  }
}

Status SqliteStore::Impl::write_tombstone(const char* kind, const std::string& id,
                                          const std::string& rev,
                                          const std::vector<std::string>& readers,
                                          const std::vector<std::string>& aliases) {
  FHIRBRIDGE_RETURN_IF_ERROR(drop_tombstone(kind, id));
  auto stmt =
      db().cached("INSERT INTO tombstone(kind, id, rev, deleted, readers) VALUES(?, ?, ?, ?, ?)");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, kind).bind(2, id).bind(3, rev).bind(4, now_ms()).bind(5, joined_readers(readers));
  FHIRBRIDGE_RETURN_IF_ERROR(stmt->run());
  for (const auto& alias : aliases) {
    if (alias == id) continue;
    auto add =
        db().cached("INSERT OR IGNORE INTO tombstone_alias(kind, alias, id) VALUES(?, ?, ?)");
    if (!add.ok()) return add.status();
    add->bind(1, kind).bind(2, alias).bind(3, id);
    FHIRBRIDGE_RETURN_IF_ERROR(add->run());
  }
  return {};
}

Status SqliteStore::Impl::drop_tombstone(const char* kind, const std::string& id) {
  for (const char* sql : {"DELETE FROM tombstone WHERE kind = ? AND id = ?",
                          "DELETE FROM tombstone_alias WHERE kind = ? AND id = ?"}) {
    auto stmt = db().cached(sql);
    if (!stmt.ok()) return stmt.status();
    stmt->bind(1, kind).bind(2, id);
    FHIRBRIDGE_RETURN_IF_ERROR(stmt->run());
  }
  return {};
}

// ---- healthcare parties (also the sealer's HcpDirectory) ---------------------------

Result<icure::HealthcareParty> SqliteStore::Impl::get(const std::string& hcp_id) {
  auto hcp = get_shared(hcp_id);
  if (!hcp.ok()) return hcp.status();
  return **hcp;
}

Result<std::shared_ptr<const icure::HealthcareParty>> SqliteStore::Impl::get_shared(
    const std::string& hcp_id) {
  if (!bound_db) return Status::Internal("healthcare party lookup outside a store transaction");
  // The rev alone is a cheap primary-key lookup; the document (public key,
  // exchange keys) is only parsed again when the rev changed.
  auto rev = db().cached("SELECT rev FROM healthcare_party WHERE id = ?");
  if (!rev.ok()) return rev.status();
  rev->bind(1, hcp_id);
  auto row = rev->step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("healthcare party " + hcp_id + " not found");
  const std::string current = rev->text(0);
  rev = sqlite::Statement();
  if (auto hit = hcp_cache.read(hcp_id, [&](const CachedHcp& cached) {
        return cached.rev == current ? cached.hcp : nullptr;
      }))
    return hit;
  auto doc = load_doc("healthcare_party", hcp_id);
  if (!doc.ok()) return doc.status();
  if (!*doc) return Status::NotFound("healthcare party " + hcp_id + " not found");
  auto parsed = json_io::parse<icure::HealthcareParty>((*doc)->second, "HealthcareParty");
  if (!parsed.ok()) return parsed.status();
  auto shared = std::make_shared<const icure::HealthcareParty>(std::move(*parsed));
  hcp_cache.put(hcp_id, CachedHcp{(*doc)->first, shared});
  return shared;
}

void SqliteStore::Impl::remember_patient_secrets(const std::string& hcp_id,
                                                 const std::string& patient_id,
                                                 const std::string& rev,
                                                 std::vector<std::string> secret_ids) {
  patient_secrets_cache.put(hcp_id + "|" + patient_id, CachedSecrets{rev, std::move(secret_ids)});
}

std::optional<SqliteStore::Impl::CachedSecrets> SqliteStore::Impl::cached_patient_secrets(
    const std::string& hcp_id, const std::string& patient_id) {
  return patient_secrets_cache.read(hcp_id + "|" + patient_id, [](const CachedSecrets& cached) {
    return std::optional<CachedSecrets>(cached);
  });
}

Status SqliteStore::Impl::put(const icure::HealthcareParty& hcp) {
  // The sealer adds exchange keys inside our transaction: no rev check here.
  if (!bound_db) return Status::Internal("healthcare party write outside a store transaction");
  if (!hcp.id || hcp.id->empty())
    return Status::Invalid("HealthcareParty.id", "a healthcare party needs an id");
  auto doc = load_doc("healthcare_party", *hcp.id);
  if (!doc.ok()) return doc.status();
  icure::HealthcareParty stored = hcp;
  stored.rev = next_rev(*doc ? rev_generation((*doc)->first) : 0);
  stored.modified = now_ms();
  return write_hcp(stored);
}

Status SqliteStore::Impl::write_hcp(const icure::HealthcareParty& hcp) {
  auto stmt = db().cached(
      "INSERT INTO healthcare_party(id, rev, doc) VALUES(?1, ?2, ?3) "
      "ON CONFLICT(id) DO UPDATE SET rev = ?2, doc = ?3");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, *hcp.id).bind(2, *hcp.rev).bind(3, serialize(hcp));
  return stmt->run();
}

Result<icure::HealthcareParty> SqliteStore::get_healthcare_party(const std::string& id) {
  return impl_->read([&] { return impl_->get(id); });
}

Result<icure::HealthcareParty> SqliteStore::put_healthcare_party(icure::HealthcareParty hcp) {
  return impl_->write([&]() -> Result<icure::HealthcareParty> {
    if (!hcp.id || hcp.id->empty()) hcp.id = impl_->new_id();
    auto doc = impl_->load_doc("healthcare_party", *hcp.id);
    if (!doc.ok()) return doc.status();
    if (!hcp.rev) {
      if (*doc)
        return Status::Conflict("healthcare party " + *hcp.id + " already exists",
                                "HealthcareParty.id");
      hcp.created = hcp.created.value_or(impl_->now_ms());
    } else {
      if (!*doc) return Status::NotFound("healthcare party " + *hcp.id + " not found");
      if ((*doc)->first != *hcp.rev)
        return Status(StatusCode::version_conflict,
                      "healthcare party " + *hcp.id + " is at rev " + (*doc)->first,
                      "HealthcareParty.rev");
    }
    if (!hcp._type) hcp._type = kHcpType;
    hcp.rev = impl_->next_rev(*doc ? rev_generation((*doc)->first) : 0);
    hcp.modified = impl_->now_ms();
    FHIRBRIDGE_RETURN_IF_ERROR(impl_->write_hcp(hcp));
    return hcp;
  });
}

// ---- users ----------------------------------------------------------------------------

Result<icure::User> SqliteStore::get_user_by_login(const std::string& login) {
  return impl_->read([&]() -> Result<icure::User> {
    auto stmt = impl_->db().cached("SELECT doc FROM app_user WHERE login = ?");
    if (!stmt.ok()) return stmt.status();
    stmt->bind(1, login);
    auto row = stmt->step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::NotFound("no user with login '" + login + "'");
    return json_io::parse<icure::User>(stmt->text(0), "User");
  });
}

Result<icure::User> SqliteStore::put_user(icure::User user) {
  return impl_->write([&]() -> Result<icure::User> {
    if (!user.login || user.login->empty())
      return Status::Invalid("User.login", "a user needs a login");
    if (!user.id || user.id->empty()) user.id = impl_->new_id();
    auto doc = impl_->load_doc("app_user", *user.id);
    if (!doc.ok()) return doc.status();
    if (!user.rev) {
      if (*doc) return Status::Conflict("user " + *user.id + " already exists", "User.id");
      auto other = impl_->db().cached("SELECT 1 FROM app_user WHERE login = ?");
      if (!other.ok()) return other.status();
      other->bind(1, *user.login);
      auto taken = other->step();
      if (!taken.ok()) return taken.status();
      if (*taken)
        return Status::Conflict("login '" + *user.login + "' is already taken", "User.login");
      user.created = user.created.value_or(impl_->now_ms());
    } else {
      if (!*doc) return Status::NotFound("user " + *user.id + " not found");
      if ((*doc)->first != *user.rev)
        return Status(StatusCode::version_conflict,
                      "user " + *user.id + " is at rev " + (*doc)->first, "User.rev");
    }
    user.rev = impl_->next_rev(*doc ? rev_generation((*doc)->first) : 0);
    auto stmt = impl_->db().cached(
        "INSERT INTO app_user(id, login, rev, doc) VALUES(?1, ?2, ?3, ?4) "
        "ON CONFLICT(id) DO UPDATE SET login = ?2, rev = ?3, doc = ?4");
    if (!stmt.ok()) return stmt.status();
    stmt->bind(1, *user.id).bind(2, *user.login).bind(3, *user.rev).bind(4, serialize(user));
    Status status = stmt->run();
    if (status.code() == StatusCode::conflict)
      return Status::Conflict("login '" + *user.login + "' is already taken", "User.login");
    FHIRBRIDGE_RETURN_IF_ERROR(status);
    return user;
  });
}

// ---- patients ---------------------------------------------------------------------

Result<std::optional<SqliteStore::Impl::PatientRow>> SqliteStore::Impl::patient_row(
    const std::string& id, std::string rev) {
  if (auto hit = parsed_patients.find(id, rev))
    return std::optional(PatientRow{id, std::move(rev), std::move(hit)});
  auto doc = load_doc("patient", id);
  if (!doc.ok()) return doc.status();
  if (!*doc) return std::optional<PatientRow>();
  auto sealed = json_io::parse<icure::Patient>((*doc)->second, "Patient");
  if (!sealed.ok())
    return Status::Internal("stored patient " + id + ": " + sealed.status().to_string());
  auto shared = std::make_shared<const icure::Patient>(std::move(*sealed));
  parsed_patients.put(id, (*doc)->first, shared);
  return std::optional(PatientRow{id, (*doc)->first, std::move(shared)});
}

Result<std::optional<std::string>> SqliteStore::Impl::patient_id_by_fhir_id(
    const std::string& fhir_id, const std::string& hcp_id, const std::string* except_id) {
  auto stmt = db().cached(
      "SELECT i.patient_id FROM patient_identifier i "
      "JOIN patient_reader r ON r.patient_id = i.patient_id AND r.hcp_id = ? "
      "WHERE i.value = ? AND i.system = ? AND i.patient_id <> ? LIMIT 1");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, hcp_id)
      .bind(2, fhir_id)
      .bind(3, kFhirIdSystem)
      .bind(4, except_id ? *except_id : "");
  auto row = stmt->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional(stmt->text(0));
}

Result<SqliteStore::Impl::PatientRow> SqliteStore::Impl::visible_patient(
    const Principal& who, const std::string& id_or_fhir_id, bool report_deleted) {
  // One statement: the store id this party reads, else the FHIR id (a
  // compound SELECT runs its arms in order and LIMIT 1 stops at the first
  // row). Only the rev is read: the document is read and parsed again only
  // when the parsed copy of that rev is not cached.
  auto stmt = db().cached(
      "SELECT p.id, p.rev FROM patient p WHERE p.id = ?1 AND EXISTS(SELECT 1 FROM patient_reader "
      "r WHERE r.hcp_id = ?2 AND r.patient_id = p.id) "
      "UNION ALL SELECT p.id, p.rev FROM patient_identifier i "
      "JOIN patient_reader r ON r.patient_id = i.patient_id AND r.hcp_id = ?2 "
      "JOIN patient p ON p.id = i.patient_id WHERE i.value = ?1 AND i.system = ?3 LIMIT 1");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, id_or_fhir_id).bind(2, who.hcp_id).bind(3, kFhirIdSystem);
  auto found = stmt->step();
  if (!found.ok()) return found.status();
  if (*found) {
    std::string id = stmt->text(0), rev = stmt->text(1);
    stmt = Statement();
    auto row = patient_row(id, std::move(rev));
    if (!row.ok()) return row.status();
    if (*row) return std::move(**row);
  } else {
    stmt = Statement();
  }
  if (report_deleted) {
    auto deleted = deletion_for("patient", id_or_fhir_id, who.hcp_id);
    if (!deleted.ok()) return deleted.status();
    if (*deleted) return Status(StatusCode::deleted, "patient " + id_or_fhir_id + " was deleted");
  }
  return Status::NotFound("patient " + id_or_fhir_id + " not found");
}

Status SqliteStore::Impl::check_fhir_id_conflicts(const Principal& who,
                                                  const icure::Patient& patient) {
  if (!patient.identifier) return {};
  for (std::size_t i = 0; i < patient.identifier->size(); ++i) {
    const auto& identifier = (*patient.identifier)[i];
    if (identifier.system != kFhirIdSystem || !identifier.value) continue;
    auto other = patient_id_by_fhir_id(*identifier.value, who.hcp_id, &*patient.id);
    if (!other.ok()) return other.status();
    if (*other)
      return Status::Conflict(
          "a patient with FHIR id '" + *identifier.value + "' already exists (" + **other + ")",
          "Patient.identifier[" + std::to_string(i) + "]");
  }
  return {};
}

Status SqliteStore::Impl::clear_index_rows(const char* kind, const std::string& id) {
  const IndexTables& index = index_tables(kind);
  for (const char* table : index.tables) {
    auto clear =
        db().cached(std::string("DELETE FROM ") + table + " WHERE " + index.column + " = ?");
    if (!clear.ok()) return clear.status();
    clear->bind(1, id);
    FHIRBRIDGE_RETURN_IF_ERROR(clear->run());
  }
  return {};
}

Status SqliteStore::Impl::keep_version(const char* kind, const std::string& id) {
  const bool patient = std::string_view(kind) == "patient";
  auto stmt = db().cached(
      patient ? "INSERT OR REPLACE INTO entity_version(kind, id, generation, rev, modified, "
                "patient_id, doc) SELECT 'patient', id, CAST(rev AS INTEGER), rev, modified, "
                "NULL, doc FROM patient WHERE id = ?"
              : "INSERT OR REPLACE INTO entity_version(kind, id, generation, rev, modified, "
                "patient_id, doc) SELECT 'contact', id, CAST(rev AS INTEGER), rev, modified, "
                "patient_id, doc FROM contact WHERE id = ?");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, id);
  return stmt->run();
}

Status SqliteStore::Impl::drop_versions(const char* kind, const std::string& id) {
  auto stmt = db().cached("DELETE FROM entity_version WHERE kind = ? AND id = ?");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, kind).bind(2, id);
  return stmt->run();
}

Result<std::vector<SqliteStore::Impl::OldVersion>> SqliteStore::Impl::old_versions(
    const char* kind, const std::string& id, std::optional<std::int64_t> generation) {
  // -1: every generation (they start at 1).
  auto stmt = db().cached(
      "SELECT rev, coalesce(patient_id, ''), doc FROM entity_version "
      "WHERE kind = ?1 AND id = ?2 AND (?3 < 0 OR generation = ?3) ORDER BY generation DESC");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, kind).bind(2, id).bind(3, generation.value_or(-1));
  std::vector<OldVersion> out;
  for (;;) {
    auto row = stmt->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(OldVersion{stmt->text(0), stmt->text(1), stmt->text(2)});
  }
  return out;
}

Result<std::vector<SqliteStore::Impl::ListedVersion>> SqliteStore::Impl::list_old_versions(
    const char* kind, const std::string& reader, std::int64_t since_ms,
    const std::optional<VersionPosition>& after, std::size_t limit) {
  // entity_version_modified (kind, modified) drives it; the reader tables say who may read.
  const bool patient = std::string_view(kind) == "patient";
  auto stmt = db().cached(
      patient ? "SELECT v.id, v.rev, coalesce(v.patient_id, ''), v.doc FROM entity_version v "
                "JOIN patient_reader r ON r.patient_id = v.id AND r.hcp_id = ?1 "
                "WHERE v.kind = 'patient' AND v.modified >= ?2 AND (?3 IS NULL OR v.modified < ?3 "
                "OR (v.modified = ?3 AND (v.id < ?4 OR (v.id = ?4 AND v.generation < ?5)))) "
                "ORDER BY v.modified DESC, v.id DESC, v.generation DESC LIMIT ?6"
              : "SELECT v.id, v.rev, coalesce(v.patient_id, ''), v.doc FROM entity_version v "
                "JOIN contact_reader r ON r.contact_id = v.id AND r.hcp_id = ?1 "
                "WHERE v.kind = 'contact' AND v.modified >= ?2 AND (?3 IS NULL OR v.modified < ?3 "
                "OR (v.modified = ?3 AND (v.id < ?4 OR (v.id = ?4 AND v.generation < ?5)))) "
                "ORDER BY v.modified DESC, v.id DESC, v.generation DESC LIMIT ?6");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, reader).bind(2, since_ms);
  if (after)
    stmt->bind(3, after->modified_ms).bind(4, after->id).bind(5, after->generation);
  else
    stmt->bind(3, nullptr).bind(4, nullptr).bind(5, nullptr);
  stmt->bind(6, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
  std::vector<ListedVersion> out;
  for (;;) {
    auto row = stmt->step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(ListedVersion{stmt->text(0), {stmt->text(1), stmt->text(2), stmt->text(3)}});
  }
}

namespace {

// Runs the cached `sql` with `values` bound to ?1..?n; texts are bound
// without SQLite's copy, so every value must outlive the call (index rows of
// write_patient / write_contact: parts of the entity being written).
template <typename... Values>
Status insert_row(sqlite::Database& db, std::string_view sql, const Values&... values) {
  auto stmt = db.cached(sql);
  if (!stmt.ok()) return stmt.status();
  int index = 0;
  auto bind_one = [&](const auto& value) {
    if constexpr (std::is_convertible_v<decltype(value), std::string_view>)
      stmt->bind_static(++index, value);
    else
      stmt->bind(++index, value);
  };
  (bind_one(values), ...);
  return stmt->run();
}

// Name rows per INSERT statement (write_patient).
constexpr std::size_t kNameRowsPerInsert = 16;

// "INSERT INTO patient_name(...) VALUES(?, ?, ?, ?, ?, ?), ..." with `rows`
// rows (1..kNameRowsPerInsert): built once per row count.
constexpr int kNameRowColumns = 6;
std::string_view name_insert_sql(std::size_t rows) {
  static const auto statements = [] {
    std::array<std::string, kNameRowsPerInsert + 1> sql;
    for (std::size_t n = 1; n <= kNameRowsPerInsert; ++n) {
      sql[n] = "INSERT INTO patient_name(patient_id, field, token, whole, modified, reader) VALUES";
      for (std::size_t row = 0; row < n; ++row)
        sql[n] += row ? ", (?, ?, ?, ?, ?, ?)" : "(?, ?, ?, ?, ?, ?)";
    }
    return sql;
  }();
  return statements[rows];
}

}  // namespace

Result<std::int64_t> SqliteStore::Impl::data_owner_number(const std::string& owner_id) {
  // Remembered only within the write running now (owner_numbers_of_write,
  // set by run_group): a number drawn in a write that is then rolled back
  // would be drawn again for another owner, so one kept past its write could
  // tag rows with the wrong reader. An import's batch is one write.
  if (owner_numbers_of_write)
    if (auto known = owner_numbers_of_write->find(owner_id); known != owner_numbers_of_write->end())
      return known->second;
  auto number = stored_owner_number(owner_id);
  if (number.ok() && owner_numbers_of_write) owner_numbers_of_write->emplace(owner_id, *number);
  return number;
}

Result<std::int64_t> SqliteStore::Impl::stored_owner_number(const std::string& owner_id) {
  auto known = db().cached("SELECT number FROM data_owner_number WHERE owner_id = ?");
  if (!known.ok()) return known.status();
  known->bind(1, owner_id);
  auto row = known->step();
  if (!row.ok()) return row.status();
  if (*row) return known->int64(0);
  auto added = db().cached("INSERT INTO data_owner_number(owner_id) VALUES(?) RETURNING number");
  if (!added.ok()) return added.status();
  added->bind(1, owner_id);
  row = added->step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Internal("data_owner_number: no number returned for " + owner_id);
  const std::int64_t number = added->int64(0);
  auto done = added->step();  // RETURNING: the insert completes on the last step
  if (!done.ok()) return done.status();
  return number;
}

template <typename Entity>
Result<std::set<std::int64_t>> SqliteStore::Impl::write_readers(std::string_view insert_sql,
                                                                const Entity& sealed,
                                                                const std::string& id) {
  std::set<std::int64_t> numbers;
  for (const auto& reader : readers_of(sealed.delegations)) {
    FHIRBRIDGE_RETURN_IF_ERROR(insert_row(db(), insert_sql, reader, id));
    auto number = data_owner_number(reader);
    if (!number.ok()) return number.status();
    numbers.insert(*number);
  }
  return numbers;
}

Status SqliteStore::Impl::write_patient(const icure::Patient& sealed, bool insert) {
  const std::string& id = *sealed.id;
  // Name index: whole folded parts and their words, per field.
  std::set<std::tuple<std::string, std::string, int>> tokens;
  auto add_part = [&](const char* field, const std::optional<std::string>& part) {
    if (!part || part->empty()) return;
    std::string folded = fold_text(*part);
    tokens.emplace(field, folded, 1);
    for (auto& word : fold_words(folded))
      if (word != folded) tokens.emplace(field, std::move(word), 0);
  };
  add_part("family", sealed.lastName);
  add_part("given", sealed.firstName);
  std::string family_sort = sealed.lastName ? fold_text(*sealed.lastName) : "";
  std::string given_sort = sealed.firstName ? fold_text(*sealed.firstName) : "";
  if (sealed.names) {
    for (const auto& name : *sealed.names) {
      add_part("family", name.lastName);
      if (family_sort.empty() && name.lastName) family_sort = fold_text(*name.lastName);
      if (name.firstNames)
        for (const auto& given : *name.firstNames) add_part("given", given);
      if (name.prefix)
        for (const auto& p : *name.prefix) add_part("other", p);
      if (name.suffix)
        for (const auto& s : *name.suffix) add_part("other", s);
      add_part("other", name.text);
      if (given_sort.empty() && name.firstNames && !name.firstNames->empty())
        given_sort = fold_text(name.firstNames->front());
    }
  }

  // A word that is also a whole part of the same field ("lua" of the
  // firstName "Wrk Lua" and of the given name "Lua") needs no row of its own:
  // a prefix search reads both kinds, exact and :contains only whole parts.
  // Each name row is an index entry at a page of its own in the commit.
  std::erase_if(tokens, [&tokens](const auto& t) {
    return std::get<2>(t) == 0 && tokens.count({std::get<0>(t), std::get<1>(t), 1}) > 0;
  });

  if (!insert) FHIRBRIDGE_RETURN_IF_ERROR(keep_version("patient", id));  // before it changes
  const std::string doc = serialize(sealed);  // bound without a copy (bind_static)
  auto row = db().cached(
      insert ? "INSERT INTO patient(id, rev, doc, modified, gender, birth_date, active, "
               "family_sort, given_sort) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
             : "UPDATE patient SET rev = ?2, doc = ?3, modified = ?4, gender = ?5, "
               "birth_date = ?6, active = ?7, family_sort = ?8, given_sort = ?9 WHERE id = ?1");
  if (!row.ok()) return row.status();
  row->bind(1, id)
      .bind(2, *sealed.rev)
      .bind_static(3, doc)
      .bind(4, sealed.modified.value_or(0))
      .bind(5, sealed.gender)
      .bind(6, sealed.dateOfBirth)
      .bind(7, sealed.active.value_or(true))  // iCure: absent means active
      .bind(8, family_sort)
      .bind(9, given_sort);
  FHIRBRIDGE_RETURN_IF_ERROR(row->run());

  if (!insert) FHIRBRIDGE_RETURN_IF_ERROR(clear_index_rows("patient", id));  // new: none yet
  // Name rows are kept per reader (schema migration 9), tagged with the
  // reader's number, so that a name search checks who reads a match on the
  // index entry, not in patient_reader.
  auto readers = write_readers(
      "INSERT OR IGNORE INTO patient_reader(hcp_id, patient_id) VALUES(?, ?)", sealed, id);
  if (!readers.ok()) return readers.status();
  const std::set<std::int64_t>& reader_numbers = *readers;
  if (sealed.identifier)
    for (const auto& identifier : *sealed.identifier)
      if (identifier.value)
        FHIRBRIDGE_RETURN_IF_ERROR(
            insert_row(db(),
                       "INSERT INTO patient_identifier(patient_id, system, value) "
                       "VALUES(?, ?, ?)",
                       id, identifier.system.value_or(""), *identifier.value));
  // Every (whole family part, whole given part) pair, for exact family+given
  // searches in the default order (schema migration 2).
  std::vector<std::string> pairs;
  for (const auto& [field, token, whole] : tokens) {
    if (field != "family" || !whole) continue;
    for (const auto& [given_field, given, given_whole] : tokens)
      if (given_field == "given" && given_whole) pairs.push_back(name_pair_token(token, given));
  }
  // The head of every token (sqlite_store_impl.hpp, name_head_token), once.
  std::vector<std::string> heads;
  for (const auto& [field, token, whole] : tokens)
    if (auto head = name_head_token(token)) heads.push_back(std::move(*head));
  for (auto& pair : pairs) tokens.emplace("pair", std::move(pair), 1);
  for (auto& head : heads) tokens.emplace("head", std::move(head), 0);
  const std::int64_t modified = sealed.modified.value_or(0);
  // Several rows per INSERT: a patient has ~9 name rows, and each statement
  // run opens a cursor on the table and on each of its indexes anew.
  for (const std::int64_t reader : reader_numbers) {
    auto next = tokens.begin();
    for (std::size_t left = tokens.size(); left > 0;) {
      const std::size_t rows = std::min(left, kNameRowsPerInsert);
      auto stmt = db().cached(name_insert_sql(rows));
      if (!stmt.ok()) return stmt.status();
      for (int first = 1; first <= static_cast<int>(rows) * kNameRowColumns;
           first += kNameRowColumns, ++next) {
        const auto& [field, token, whole] = *next;
        // The bound texts outlive the run below (`tokens`, `id`).
        stmt->bind_static(first, id)
            .bind_static(first + 1, field)
            .bind_static(first + 2, token)
            .bind(first + 3, whole)
            .bind(first + 4, modified)
            .bind(first + 5, reader);
      }
      FHIRBRIDGE_RETURN_IF_ERROR(stmt->run());
      left -= rows;
    }
  }
  return {};
}

Result<icure::Patient> SqliteStore::Impl::create_patient(const Principal& who,
                                                         icure::Patient patient, bool full_result) {
  if (!patient.id || patient.id->empty()) patient.id = new_id();
  auto slot = id_slot(EntityKind::patient, *patient.id);
  if (!slot.ok()) return slot.status();
  if (slot->taken)
    return Status::Conflict("patient " + *patient.id + " already exists", "Patient.id");
  FHIRBRIDGE_RETURN_IF_ERROR(check_fhir_id_conflicts(who, patient));
  const auto& tomb = slot->tombstone_rev;
  if (tomb) FHIRBRIDGE_RETURN_IF_ERROR(drop_tombstone("patient", *patient.id));

  const auto now = now_ms();
  patient.rev = next_rev(rev_generation(tomb));
  patient._type = icure::kPatientType;
  patient.created = patient.created.value_or(now);
  patient.modified = now;
  if (!patient.author && !who.user_id.empty()) patient.author = who.user_id;
  if (!patient.responsible) patient.responsible = who.hcp_id;
  // The clear entity is kept for the result only when the caller reads it.
  std::optional<icure::Patient> clear;
  if (full_result) clear = patient;
  icure::Patient& sealed = patient;
  // A caller that reads nothing back (a bulk import) gets no warm decryption
  // cache either: it would fill it for nobody.
  std::vector<std::string> secret_ids;
  FHIRBRIDGE_RETURN_IF_ERROR(sealer.seal_new_patient(
      *this, who.hcp_id, sealed, {}, /*remember_entries=*/full_result, &secret_ids));
  FHIRBRIDGE_RETURN_IF_ERROR(write_patient(sealed, /*insert=*/true));
  // Its contacts usually follow (imports, transactions): keep the secretId the
  // sealer drew, so they need not load and decrypt the patient.
  remember_patient_secrets(who.hcp_id, *sealed.id, *sealed.rev, std::move(secret_ids));
  if (clear) return reveal(std::move(*clear), sealed);
  return id_and_rev_of(sealed);
}

Result<icure::Patient> SqliteStore::Impl::update_patient(const Principal& who,
                                                         icure::Patient patient) {
  if (!patient.id || patient.id->empty())
    return Status::Invalid("Patient.id", "an update needs the patient's id");
  auto previous = visible_patient(who, *patient.id, false);
  if (!previous.ok()) return previous.status();
  if (patient.rev && *patient.rev != previous->rev)
    return Status(
        StatusCode::version_conflict,
        "patient " + previous->id + " is at rev " + previous->rev + ", not " + *patient.rev,
        "Patient.rev");
  patient.id = previous->id;  // the caller may have used the FHIR id
  FHIRBRIDGE_RETURN_IF_ERROR(check_fhir_id_conflicts(who, patient));
  patient.rev = next_rev(rev_generation(previous->rev));
  patient._type = icure::kPatientType;
  patient.created = previous->sealed->created;
  patient.modified = now_ms();
  if (!patient.responsible) patient.responsible = previous->sealed->responsible;
  if (!patient.author) patient.author = previous->sealed->author;
  icure::Patient sealed = patient;
  FHIRBRIDGE_RETURN_IF_ERROR(sealer.reseal_patient(*this, who.hcp_id, sealed, *previous->sealed));
  FHIRBRIDGE_RETURN_IF_ERROR(write_patient(sealed, /*insert=*/false));
  return reveal(std::move(patient), sealed);
}

Result<Deleted> SqliteStore::Impl::delete_patient(const Principal& who, const std::string& id,
                                                  const std::optional<std::string>& rev) {
  auto previous = visible_patient(who, id, false);
  if (!previous.ok()) return previous.status();
  if (rev && *rev != previous->rev)
    return Status(StatusCode::version_conflict,
                  "patient " + previous->id + " is at rev " + previous->rev, "Patient.rev");
  Deleted deleted{previous->id, next_rev(rev_generation(previous->rev))};
  FHIRBRIDGE_RETURN_IF_ERROR(write_tombstone("patient", deleted.id, deleted.rev,
                                             readers_of(previous->sealed->delegations),
                                             fhir_ids_of(previous->sealed->identifier)));
  FHIRBRIDGE_RETURN_IF_ERROR(clear_index_rows("patient", deleted.id));
  FHIRBRIDGE_RETURN_IF_ERROR(drop_versions("patient", deleted.id));  // keeps nothing readable
  auto stmt = db().cached("DELETE FROM patient WHERE id = ?");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, deleted.id);
  FHIRBRIDGE_RETURN_IF_ERROR(stmt->run());
  return deleted;
}

Result<icure::Patient> SqliteStore::create_patient(const Principal& who, icure::Patient patient) {
  return impl_->write([&] { return impl_->create_patient(who, std::move(patient)); });
}

Result<icure::Patient> SqliteStore::get_patient(const Principal& who, const std::string& id) {
  auto shared = get_patient_shared(who, id);
  if (!shared.ok()) return shared.status();
  return **shared;
}

Result<std::shared_ptr<const icure::Patient>> SqliteStore::get_patient_shared(
    const Principal& who, const std::string& id) {
  return impl_->read_remembered(
      &Impl::VisibleMemo::patients, impl_->parsed_patients, who, id,
      [&] { return impl_->visible_patient(who, id, true); },
      [&](const Impl::PatientRow& row) -> Result<std::shared_ptr<const icure::Patient>> {
        return impl_->sealer.unseal_patient_shared(*impl_, who.hcp_id, *row.sealed);
      });
}

Result<icure::Patient> SqliteStore::update_patient(const Principal& who, icure::Patient patient) {
  return impl_->write([&] { return impl_->update_patient(who, std::move(patient)); });
}

Result<Deleted> SqliteStore::delete_patient(const Principal& who, const std::string& id,
                                            const std::optional<std::string>& rev) {
  return impl_->write([&] { return impl_->delete_patient(who, id, rev); });
}

Status SqliteStore::share_patient(const Principal& who, const std::string& patient_id,
                                  const std::string& delegate_hcp_id) {
  auto result = impl_->write([&]() -> Result<bool> {
    auto row = impl_->visible_patient(who, patient_id, false);
    if (!row.ok()) return row.status();
    auto delegate = impl_->get(delegate_hcp_id);
    if (!delegate.ok())
      return Status::NotFound("healthcare party " + delegate_hcp_id + " not found",
                              "delegate_hcp_id");
    if (!contains(readers_of(row->sealed->delegations), delegate_hcp_id)) {
      icure::Patient sealed = *row->sealed;
      FHIRBRIDGE_RETURN_IF_ERROR(
          impl_->sealer.share_patient(*impl_, who.hcp_id, sealed, delegate_hcp_id));
      sealed.rev = impl_->next_rev(rev_generation(row->rev));
      FHIRBRIDGE_RETURN_IF_ERROR(impl_->write_patient(sealed, /*insert=*/false));
    }
    // The patient's contacts that `who` can read follow.
    auto list = impl_->db().cached(
        "SELECT c.id FROM contact c JOIN contact_reader r ON r.contact_id = c.id "
        "AND r.hcp_id = ? WHERE c.patient_id = ? ORDER BY c.id");
    if (!list.ok()) return list.status();
    list->bind(1, who.hcp_id).bind(2, row->id);
    std::vector<std::string> contact_ids;
    for (;;) {
      auto next = list->step();
      if (!next.ok()) return next.status();
      if (!*next) break;
      contact_ids.push_back(list->text(0));
    }
    list = Statement();
    for (const auto& contact_id : contact_ids) {
      auto contact = impl_->load_contact(contact_id);
      if (!contact.ok()) return contact.status();
      if (!*contact || contains(readers_of((*contact)->sealed->delegations), delegate_hcp_id))
        continue;
      icure::Contact sealed = *(*contact)->sealed;
      FHIRBRIDGE_RETURN_IF_ERROR(
          impl_->sealer.share_contact(*impl_, who.hcp_id, sealed, delegate_hcp_id));
      sealed.rev = impl_->next_rev(rev_generation((*contact)->rev));
      FHIRBRIDGE_RETURN_IF_ERROR(
          impl_->write_contact(sealed, (*contact)->patient_id, /*insert=*/false));
    }
    return true;
  });
  return result.status();
}

// ---- contacts --------------------------------------------------------------------------

Result<std::optional<SqliteStore::Impl::ContactRow>> SqliteStore::Impl::contact_row(
    const std::string& id, std::string rev, std::string patient_id) {
  if (auto hit = parsed_contacts.find(id, rev))
    return std::optional(ContactRow{id, std::move(rev), std::move(patient_id), std::move(hit)});
  auto doc = load_doc("contact", id);
  if (!doc.ok()) return doc.status();
  if (!*doc) return std::optional<ContactRow>();
  auto sealed = json_io::parse<icure::Contact>((*doc)->second, "Contact");
  if (!sealed.ok())
    return Status::Internal("stored contact " + id + ": " + sealed.status().to_string());
  auto shared = std::make_shared<const icure::Contact>(std::move(*sealed));
  parsed_contacts.put(id, (*doc)->first, shared);
  return std::optional(ContactRow{id, (*doc)->first, std::move(patient_id), std::move(shared)});
}

Result<std::optional<SqliteStore::Impl::ContactRow>> SqliteStore::Impl::load_contact(
    const std::string& id) {
  // As for patients: the document only when its parsed copy is not cached.
  auto stmt = db().cached("SELECT rev, patient_id FROM contact WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, id);
  auto row = stmt->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<ContactRow>();
  std::string rev = stmt->text(0), patient_id = stmt->text(1);
  stmt = Statement();
  return contact_row(id, std::move(rev), std::move(patient_id));
}

Result<SqliteStore::Impl::ContactRow> SqliteStore::Impl::visible_contact(const Principal& who,
                                                                         const std::string& id,
                                                                         bool report_deleted) {
  // One statement, arms in order: a contact id this party reads, one of its
  // service ids, a service's FHIR id.
  auto stmt = db().cached(
      "SELECT c.id, c.rev, c.patient_id FROM contact c WHERE c.id = ?1 AND EXISTS(SELECT 1 FROM "
      "contact_reader r WHERE r.hcp_id = ?2 AND r.contact_id = c.id) "
      "UNION ALL SELECT c.id, c.rev, c.patient_id FROM service s JOIN contact_reader r "
      "ON r.contact_id = s.contact_id AND r.hcp_id = ?2 JOIN contact c ON c.id = s.contact_id "
      "WHERE s.service_id = ?1 "
      "UNION ALL SELECT c.id, c.rev, c.patient_id FROM service_identifier i JOIN contact_reader r "
      "ON r.contact_id = i.contact_id AND r.hcp_id = ?2 JOIN contact c ON c.id = i.contact_id "
      "WHERE i.value = ?1 AND i.system = ?3 LIMIT 1");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, id).bind(2, who.hcp_id).bind(3, kFhirIdSystem);
  auto found = stmt->step();
  if (!found.ok()) return found.status();
  if (*found) {
    std::string contact_id = stmt->text(0), rev = stmt->text(1), patient_id = stmt->text(2);
    stmt = Statement();
    auto row = contact_row(contact_id, std::move(rev), std::move(patient_id));
    if (!row.ok()) return row.status();
    if (*row) return std::move(**row);
  } else {
    stmt = Statement();
  }
  if (report_deleted) {
    auto deleted = deletion_for("contact", id, who.hcp_id);
    if (!deleted.ok()) return deleted.status();
    if (*deleted) return Status(StatusCode::deleted, "contact " + id + " was deleted");
  }
  return Status::NotFound("contact " + id + " not found");
}

Status SqliteStore::Impl::check_service_fhir_id_conflicts(const Principal& who,
                                                          const icure::Contact& contact) {
  if (!contact.services) return {};
  for (std::size_t s = 0; s < contact.services->size(); ++s) {
    const auto& service = (*contact.services)[s];
    if (!service.identifier) continue;
    for (const auto& identifier : *service.identifier) {
      if (identifier.system != kFhirIdSystem || !identifier.value) continue;
      auto stmt = db().cached(
          "SELECT i.contact_id FROM service_identifier i JOIN contact_reader r "
          "ON r.contact_id = i.contact_id AND r.hcp_id = ? "
          "WHERE i.value = ? AND i.system = ? AND i.contact_id <> ? LIMIT 1");
      if (!stmt.ok()) return stmt.status();
      stmt->bind(1, who.hcp_id)
          .bind(2, *identifier.value)
          .bind(3, kFhirIdSystem)
          .bind(4, *contact.id);
      auto found = stmt->step();
      if (!found.ok()) return found.status();
      if (*found)
        return Status::Conflict("a service with FHIR id '" + *identifier.value +
                                    "' already exists (contact " + stmt->text(0) + ")",
                                "Contact.services[" + std::to_string(s) + "].identifier");
    }
  }
  return {};
}

Status SqliteStore::Impl::write_contact(const icure::Contact& sealed, const std::string& patient_id,
                                        bool insert) {
  const std::string& id = *sealed.id;
  std::vector<std::int64_t> dates;
  std::string sort_code;
  std::optional<std::int64_t> sort_status;
  if (sealed.services) {
    for (const auto& service : *sealed.services) {
      auto date = service.valueDate     ? service.valueDate
                  : service.openingDate ? service.openingDate
                                        : sealed.openingDate;
      if (date) dates.push_back(normalize_date(*date));
    }
    if (!sealed.services->empty()) {
      const auto& first = sealed.services->front();
      if (first.codes && !first.codes->empty())
        sort_code =
            first.codes->front().type.value_or("") + "|" + first.codes->front().code.value_or("");
      sort_status = first.status;
    }
  }
  if ((!sealed.services || sealed.services->empty()) && sealed.openingDate)
    dates.push_back(normalize_date(*sealed.openingDate));
  std::optional<std::int64_t> sort_date;
  if (!dates.empty()) sort_date = *std::min_element(dates.begin(), dates.end());

  if (!insert) FHIRBRIDGE_RETURN_IF_ERROR(keep_version("contact", id));  // before it changes
  const std::string doc = serialize(sealed);  // bound without a copy (bind_static)
  auto row = db().cached(
      insert ? "INSERT INTO contact(id, rev, doc, patient_id, modified, sort_date, sort_code, "
               "sort_status) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
             : "UPDATE contact SET rev = ?2, doc = ?3, patient_id = ?4, modified = ?5, "
               "sort_date = ?6, sort_code = ?7, sort_status = ?8 WHERE id = ?1");
  if (!row.ok()) return row.status();
  row->bind(1, id)
      .bind(2, *sealed.rev)
      .bind_static(3, doc)
      .bind(4, patient_id)
      .bind(5, sealed.modified.value_or(0))
      .bind(6, sort_date)
      .bind(7, sort_code)
      .bind(8, sort_status);
  FHIRBRIDGE_RETURN_IF_ERROR(row->run());

  if (!insert) FHIRBRIDGE_RETURN_IF_ERROR(clear_index_rows("contact", id));  // new: none yet
  // Code rows are kept per reader (schema migration 10), as name rows are.
  auto readers = write_readers(
      "INSERT OR IGNORE INTO contact_reader(hcp_id, contact_id) VALUES(?, ?)", sealed, id);
  if (!readers.ok()) return readers.status();
  const std::set<std::int64_t>& reader_numbers = *readers;
  if (sealed.secretForeignKeys)
    for (const auto& fk : *sealed.secretForeignKeys)
      FHIRBRIDGE_RETURN_IF_ERROR(insert_row(
          db(), "INSERT INTO contact_secret_fk(contact_id, secret_fk) VALUES(?, ?)", id, fk));
  for (auto date : dates)
    FHIRBRIDGE_RETURN_IF_ERROR(
        insert_row(db(), "INSERT INTO contact_date(contact_id, date) VALUES(?, ?)", id, date));
  if (sealed.services) {
    for (const auto& service : *sealed.services) {
      const std::string service_id = service.id.value_or("");
      FHIRBRIDGE_RETURN_IF_ERROR(
          insert_row(db(), "INSERT INTO service(contact_id, service_id, status) VALUES(?, ?, ?)",
                     id, service_id, service.status));
      if (service.identifier)
        for (const auto& identifier : *service.identifier)
          if (identifier.value)
            FHIRBRIDGE_RETURN_IF_ERROR(
                insert_row(db(),
                           "INSERT INTO service_identifier(contact_id, service_id, system, value) "
                           "VALUES(?, ?, ?, ?)",
                           id, service_id, identifier.system.value_or(""), *identifier.value));
      for (const auto& [kind, stubs] :
           {std::pair{"code", &service.codes}, std::pair{"tag", &service.tags}}) {
        if (!*stubs) continue;
        for (const auto& stub : **stubs)
          for (const std::int64_t reader : reader_numbers)
            FHIRBRIDGE_RETURN_IF_ERROR(insert_row(
                db(),
                "INSERT INTO service_code(contact_id, service_id, kind, type, code, modified, "
                "reader) VALUES(?, ?, ?, ?, ?, ?, ?)",
                id, service_id, kind, stub.type.value_or(""), stub.code.value_or(""),
                sealed.modified.value_or(0), reader));
      }
    }
  }
  return {};
}

Result<ContactRecord> SqliteStore::Impl::create_contact(const Principal& who,
                                                        icure::Contact contact,
                                                        const std::string& patient_id,
                                                        bool full_result) {
  // The patient's store id and the secretIds the writer decrypts from it: from
  // the cache when its rev still matches and the writer still reads it, else
  // by loading and decrypting the patient.
  std::string resolved_patient_id;
  std::vector<std::string> patient_secrets;
  {
    // The rev and whether the writer reads it, in one statement.
    auto current = db().cached(
        "SELECT p.rev, EXISTS(SELECT 1 FROM patient_reader r WHERE r.hcp_id = ?2 AND "
        "r.patient_id = p.id) FROM patient p WHERE p.id = ?1");
    if (!current.ok()) return current.status();
    current->bind(1, patient_id).bind(2, who.hcp_id);
    auto row = current->step();
    if (!row.ok()) return row.status();
    if (*row && current->int64(1) != 0) {
      auto hit = cached_patient_secrets(who.hcp_id, patient_id);
      if (hit && hit->rev == current->text(0)) {
        resolved_patient_id = patient_id;
        patient_secrets = std::move(hit->secret_ids);
      }
    }
  }
  if (resolved_patient_id.empty()) {
    auto patient = visible_patient(who, patient_id, false);
    if (!patient.ok()) {
      Status s = patient.status();
      return Status(s.code(), s.message(), "patient_id");
    }
    auto secrets = sealer.patient_secret_ids(*this, who.hcp_id, *patient->sealed);
    if (!secrets.ok()) return secrets.status();
    resolved_patient_id = patient->id;
    patient_secrets = *secrets;
    remember_patient_secrets(who.hcp_id, patient->id, patient->rev, std::move(*secrets));
  }
  if (!contact.id || contact.id->empty()) contact.id = new_id();
  auto slot = id_slot(EntityKind::contact, *contact.id);
  if (!slot.ok()) return slot.status();
  if (slot->taken)
    return Status::Conflict("contact " + *contact.id + " already exists", "Contact.id");
  const auto now = now_ms();
  if (contact.services)
    for (auto& service : *contact.services) {
      if (!service.id || service.id->empty()) service.id = new_id();
      if (!service.created) service.created = now;
      service.modified = now;
    }
  FHIRBRIDGE_RETURN_IF_ERROR(check_service_fhir_id_conflicts(who, contact));
  const auto& tomb = slot->tombstone_rev;
  if (tomb) FHIRBRIDGE_RETURN_IF_ERROR(drop_tombstone("contact", *contact.id));

  contact.rev = next_rev(rev_generation(tomb));
  contact._type = icure::kContactType;
  contact.created = contact.created.value_or(now);
  contact.modified = now;
  if (!contact.author && !who.user_id.empty()) contact.author = who.user_id;
  if (!contact.responsible) contact.responsible = who.hcp_id;
  if (!contact.healthcarePartyId) contact.healthcarePartyId = who.hcp_id;
  std::optional<icure::Contact> clear;  // as in create_patient
  if (full_result) clear = contact;
  icure::Contact& sealed = contact;
  FHIRBRIDGE_RETURN_IF_ERROR(sealer.seal_new_contact_of(
      *this, who.hcp_id, sealed, resolved_patient_id, std::move(patient_secrets), {},
      /*remember_entries=*/full_result));
  FHIRBRIDGE_RETURN_IF_ERROR(write_contact(sealed, resolved_patient_id, /*insert=*/true));
  if (clear) return ContactRecord{reveal_contact(std::move(*clear), sealed), resolved_patient_id};
  return ContactRecord{id_and_rev_of(sealed), resolved_patient_id};
}

Result<ContactRecord> SqliteStore::Impl::update_contact(const Principal& who,
                                                        icure::Contact contact) {
  if (!contact.id || contact.id->empty())
    return Status::Invalid("Contact.id", "an update needs the contact's id");
  auto previous = visible_contact(who, *contact.id, false);
  if (!previous.ok()) return previous.status();
  if (*contact.id != previous->id) return Status::NotFound("contact " + *contact.id + " not found");
  if (contact.rev && *contact.rev != previous->rev)
    return Status(
        StatusCode::version_conflict,
        "contact " + previous->id + " is at rev " + previous->rev + ", not " + *contact.rev,
        "Contact.rev");
  const auto now = now_ms();
  if (contact.services)
    for (auto& service : *contact.services) {
      if (!service.id || service.id->empty()) service.id = new_id();
      if (!service.created) service.created = now;
      service.modified = now;
    }
  FHIRBRIDGE_RETURN_IF_ERROR(check_service_fhir_id_conflicts(who, contact));
  contact.rev = next_rev(rev_generation(previous->rev));
  contact._type = icure::kContactType;
  contact.created = previous->sealed->created;
  contact.modified = now;
  if (!contact.responsible) contact.responsible = previous->sealed->responsible;
  if (!contact.author) contact.author = previous->sealed->author;
  if (!contact.healthcarePartyId) contact.healthcarePartyId = previous->sealed->healthcarePartyId;
  icure::Contact sealed = contact;
  FHIRBRIDGE_RETURN_IF_ERROR(sealer.reseal_contact(*this, who.hcp_id, sealed, *previous->sealed));
  FHIRBRIDGE_RETURN_IF_ERROR(write_contact(sealed, previous->patient_id, /*insert=*/false));
  return ContactRecord{reveal_contact(std::move(contact), sealed), previous->patient_id};
}

Result<Deleted> SqliteStore::Impl::delete_contact(const Principal& who, const std::string& id,
                                                  const std::optional<std::string>& rev) {
  auto previous = visible_contact(who, id, false);
  if (!previous.ok()) return previous.status();
  if (rev && *rev != previous->rev)
    return Status(StatusCode::version_conflict,
                  "contact " + previous->id + " is at rev " + previous->rev, "Contact.rev");
  Deleted deleted{previous->id, next_rev(rev_generation(previous->rev))};
  FHIRBRIDGE_RETURN_IF_ERROR(write_tombstone("contact", deleted.id, deleted.rev,
                                             readers_of(previous->sealed->delegations),
                                             service_aliases_of(*previous->sealed)));
  FHIRBRIDGE_RETURN_IF_ERROR(clear_index_rows("contact", deleted.id));
  FHIRBRIDGE_RETURN_IF_ERROR(drop_versions("contact", deleted.id));  // keeps nothing readable
  auto stmt = db().cached("DELETE FROM contact WHERE id = ?");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, deleted.id);
  FHIRBRIDGE_RETURN_IF_ERROR(stmt->run());
  return deleted;
}

Result<ContactRecord> SqliteStore::create_contact(const Principal& who, icure::Contact contact,
                                                  const std::string& patient_id) {
  return impl_->write([&] { return impl_->create_contact(who, std::move(contact), patient_id); });
}

Result<ContactRecord> SqliteStore::get_contact(const Principal& who, const std::string& id) {
  return impl_->read_remembered(
      &Impl::VisibleMemo::contacts, impl_->parsed_contacts, who, id,
      [&] { return impl_->visible_contact(who, id, true); },
      [&](const Impl::ContactRow& row) -> Result<ContactRecord> {
        auto contact = impl_->sealer.unseal_contact(*impl_, who.hcp_id, *row.sealed);
        if (!contact.ok()) return contact.status();
        return ContactRecord{std::move(*contact), row.patient_id};
      });
}

namespace {
// An old version's sealed document with the current version's key maps:
// updates keep the content key (EntitySealer::reseal_*), so whoever may read
// the current version decrypts the old one, a delegate added later included.
template <typename Entity>
Result<Entity> with_current_keys(const std::string& doc, const char* type, const Entity& current) {
  auto sealed = json_io::parse<Entity>(doc, type);
  if (!sealed.ok())
    return Status::Internal(std::string("stored version of ") + type + " " +
                            current.id.value_or("?") + ": " + sealed.status().to_string());
  sealed->delegations = current.delegations;
  sealed->encryptionKeys = current.encryptionKeys;
  sealed->cryptedForeignKeys = current.cryptedForeignKeys;
  sealed->secretForeignKeys = current.secretForeignKeys;
  return std::move(*sealed);
}

Status version_not_kept(const char* kind, const std::string& id, std::int64_t generation) {
  return Status::NotFound(std::string(kind) + " " + id + ": no version " +
                          std::to_string(generation) + " (an older version is kept until the " +
                          kind + " is deleted)");
}
}  // namespace

namespace {
using Impl = SqliteStore::Impl;

// Patient and contact specifics of reading kept versions.
struct PatientVersions {
  using Record = icure::Patient;
  static constexpr const char* kind = "patient";
  static constexpr const char* type = "Patient";
  static Result<Impl::PatientRow> visible(Impl& impl, const Principal& who, const std::string& id,
                                          bool report_deleted) {
    return impl.visible_patient(who, id, report_deleted);
  }
  static const std::string& patient_id(const Impl::PatientRow&) {
    static const std::string none;
    return none;
  }
  static Result<Record> unseal(Impl& impl, const Principal& who, const icure::Patient& sealed,
                               const std::string&) {
    return impl.sealer.unseal_patient(impl, who.hcp_id, sealed);
  }
};

struct ContactVersions {
  using Record = ContactRecord;
  static constexpr const char* kind = "contact";
  static constexpr const char* type = "Contact";
  static Result<Impl::ContactRow> visible(Impl& impl, const Principal& who, const std::string& id,
                                          bool report_deleted) {
    return impl.visible_contact(who, id, report_deleted);
  }
  static const std::string& patient_id(const Impl::ContactRow& row) { return row.patient_id; }
  static Result<Record> unseal(Impl& impl, const Principal& who, const icure::Contact& sealed,
                               const std::string& patient_id) {
    auto clear = impl.sealer.unseal_contact(impl, who.hcp_id, sealed);
    if (!clear.ok()) return clear.status();
    return ContactRecord{std::move(*clear), patient_id};
  }
};

// An old version's document, unsealed with the current row's key maps; with
// its own when those do not open it (a client that re-sealed an update with
// a new content key, as the iCure REST subset lets it).
template <typename Kind, typename Row>
Result<typename Kind::Record> unseal_old(Impl& impl, const Principal& who, const Row& current,
                                         const Impl::OldVersion& version) {
  using Sealed = std::remove_cvref_t<decltype(*current.sealed)>;
  auto sealed = with_current_keys(version.doc, Kind::type, *current.sealed);
  if (!sealed.ok()) return sealed.status();
  auto clear = Kind::unseal(impl, who, *sealed, version.patient_id);
  if (clear.ok() || clear.status().code() == StatusCode::key_missing) return clear;
  auto own = json_io::parse<Sealed>(version.doc, Kind::type);
  if (!own.ok()) return clear;
  auto with_own_keys = Kind::unseal(impl, who, *own, version.patient_id);
  return with_own_keys.ok() ? std::move(with_own_keys) : std::move(clear);
}

// Store::patient_versions / contact_versions.
template <typename Kind>
Result<std::vector<typename Kind::Record>> versions_of(Impl& impl, const Principal& who,
                                                       const std::string& id,
                                                       std::optional<std::int64_t> generation) {
  auto row = Kind::visible(impl, who, id, true);
  if (!row.ok()) return row.status();
  std::vector<typename Kind::Record> out;
  if (!generation || *generation == rev_generation(row->rev)) {
    auto current = Kind::unseal(impl, who, *row->sealed, Kind::patient_id(*row));
    if (!current.ok()) return current.status();
    out.push_back(std::move(*current));
    if (generation) return out;
  }
  auto old = impl.old_versions(Kind::kind, row->id, generation);
  if (!old.ok()) return old.status();
  for (const auto& version : *old) {
    auto clear = unseal_old<Kind>(impl, who, *row, version);
    if (!clear.ok()) return clear.status();
    out.push_back(std::move(*clear));
  }
  if (out.empty()) return version_not_kept(Kind::kind, id, *generation);
  return out;
}

// Store::list_old_patient_versions / list_old_contact_versions.
template <typename Kind>
Result<std::vector<typename Kind::Record>> listed_versions(
    Impl& impl, const Principal& who, std::int64_t since_ms,
    const std::optional<VersionPosition>& after, std::size_t limit) {
  auto listed = impl.list_old_versions(Kind::kind, who.hcp_id, since_ms, after, limit);
  if (!listed.ok()) return listed.status();
  std::vector<typename Kind::Record> out;
  for (const auto& [id, version] : *listed) {
    auto current = Kind::visible(impl, who, id, false);
    if (!current.ok()) return current.status();
    auto clear = unseal_old<Kind>(impl, who, *current, version);
    if (!clear.ok()) return clear.status();
    out.push_back(std::move(*clear));
  }
  return out;
}
}  // namespace

Result<std::vector<icure::Patient>> SqliteStore::patient_versions(
    const Principal& who, const std::string& id, std::optional<std::int64_t> generation) {
  return impl_->read([&] { return versions_of<PatientVersions>(*impl_, who, id, generation); });
}

Result<std::vector<ContactRecord>> SqliteStore::contact_versions(
    const Principal& who, const std::string& id, std::optional<std::int64_t> generation) {
  return impl_->read([&] { return versions_of<ContactVersions>(*impl_, who, id, generation); });
}

Result<std::vector<icure::Patient>> SqliteStore::list_old_patient_versions(
    const Principal& who, std::int64_t since_ms, const std::optional<VersionPosition>& after,
    std::size_t limit) {
  return impl_->read(
      [&] { return listed_versions<PatientVersions>(*impl_, who, since_ms, after, limit); });
}

Result<std::vector<ContactRecord>> SqliteStore::list_old_contact_versions(
    const Principal& who, std::int64_t since_ms, const std::optional<VersionPosition>& after,
    std::size_t limit) {
  return impl_->read(
      [&] { return listed_versions<ContactVersions>(*impl_, who, since_ms, after, limit); });
}

Result<Deletion> SqliteStore::get_deletion(const Principal& who, EntityKind kind,
                                           const std::string& id) {
  return impl_->read([&]() -> Result<Deletion> {
    const char* table = kind == EntityKind::patient ? "patient" : "contact";
    auto found = impl_->deletion_for(table, id, who.hcp_id);
    if (!found.ok()) return found.status();
    if (!*found) return Status::NotFound(std::string(table) + " " + id + ": no deletion known");
    return std::move(**found);
  });
}

Result<std::vector<Deletion>> SqliteStore::list_deletions(const Principal& who, EntityKind kind,
                                                          std::int64_t since_ms,
                                                          const std::optional<Deletion>& after,
                                                          std::size_t limit) {
  return impl_->read([&]() -> Result<std::vector<Deletion>> {
    // tombstone_deleted (kind, deleted) drives it; readers are ",hcp1,hcp2,".
    auto stmt = impl_->db().cached(
        "SELECT id, rev, deleted FROM tombstone WHERE kind = ?1 AND deleted >= ?2 "
        "AND (?3 IS NULL OR deleted < ?3 OR (deleted = ?3 AND id < ?4)) "
        "AND instr(readers, ?5) > 0 ORDER BY deleted DESC, id DESC LIMIT ?6");
    if (!stmt.ok()) return stmt.status();
    stmt->bind(1, kind == EntityKind::patient ? "patient" : "contact").bind(2, since_ms);
    if (after)
      stmt->bind(3, after->deleted_ms).bind(4, after->id);
    else
      stmt->bind(3, nullptr).bind(4, nullptr);
    stmt->bind(5, "," + who.hcp_id + ",")
        .bind(6, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
    std::vector<Deletion> out;
    for (;;) {
      auto row = stmt->step();
      if (!row.ok()) return row.status();
      if (!*row) return out;
      out.push_back(Deletion{stmt->text(0), stmt->text(1), stmt->int64(2)});
    }
  });
}

Result<ContactRecord> SqliteStore::update_contact(const Principal& who, icure::Contact contact) {
  return impl_->write([&] { return impl_->update_contact(who, std::move(contact)); });
}

Result<Deleted> SqliteStore::delete_contact(const Principal& who, const std::string& id,
                                            const std::optional<std::string>& rev) {
  return impl_->write([&] { return impl_->delete_contact(who, id, rev); });
}

// ---- batches ------------------------------------------------------------------------

Result<std::vector<WriteResult>> SqliteStore::apply(const Principal& who, const WriteBatch& batch) {
  return impl_->write([&]() -> Result<std::vector<WriteResult>> {
    std::vector<WriteResult> results;
    results.reserve(batch.ops.size());
    for (std::size_t i = 0; i < batch.ops.size(); ++i) {
      Result<WriteResult> result = std::visit(
          [&](const auto& op) -> Result<WriteResult> {
            using Op = std::decay_t<decltype(op)>;
            auto wrap = [](auto r) -> Result<WriteResult> {
              if (!r.ok()) return r.status();
              return WriteResult(std::move(*r));
            };
            if constexpr (std::is_same_v<Op, CreatePatient>)
              return wrap(impl_->create_patient(who, op.patient, batch.return_entities));
            else if constexpr (std::is_same_v<Op, UpdatePatient>)
              return wrap(impl_->update_patient(who, op.patient));
            else if constexpr (std::is_same_v<Op, DeletePatient>)
              return wrap(impl_->delete_patient(who, op.id, op.rev));
            else if constexpr (std::is_same_v<Op, CreateContact>)
              return wrap(
                  impl_->create_contact(who, op.contact, op.patient_id, batch.return_entities));
            else if constexpr (std::is_same_v<Op, UpdateContact>)
              return wrap(impl_->update_contact(who, op.contact));
            else
              return wrap(impl_->delete_contact(who, op.id, op.rev));
          },
          batch.ops[i]);
      if (!result.ok()) {
        // The transaction guard rolls everything back; name the op.
        Status s = result.status();
        return Status(s.code(), s.to_string(), "ops[" + std::to_string(i) + "]");
      }
      results.push_back(std::move(*result));
    }
    return results;
  });
}

}  // namespace fhirbridge::storage
