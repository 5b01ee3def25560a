// GET <Type>/_history and GET /_history: every version of the resources of the
// types that changed since `_since`, newest first, with the deletes (FHIR
// http.html#history). Several sorted streams per type (live entities by
// `modified`, the older versions the store kept, deletes by their time) are
// merged page by page; the cursor holds each stream's own position, so a page
// resumes every stream exactly where the previous one stopped taking from it.
#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "fhir_api.hpp"
#include "fhirbridge/server/detail/search_plan.hpp"

namespace fhirbridge::server::detail {

namespace json = boost::json;

namespace {

constexpr char kCursorPrefix = 'h';
constexpr char kSeparator = '!';         // not in hex store cursors nor in ids
constexpr std::string_view kDone = "x";  // a stream with nothing left

Status bad_cursor() {
  return Status::Invalid("_cursor", "not a cursor of this history");
}

// One history entry before it becomes JSON.
struct Change {
  std::int64_t ms = 0;
  std::string type, id, generation;
  json::value resource;  // null: a delete
};

Result<Change> change_of(CallContext& call, const std::string& type,
                         const icure::Patient& patient) {
  auto view = patient_view(patient, call.server);
  if (!view.ok()) return view.status();
  return Change{patient.modified.value_or(0), type, patient.id.value_or(""),
                generation_of(patient.rev), std::move(*view)};
}
Result<Change> change_of(CallContext& call, const std::string& type,
                         const storage::ContactRecord& record) {
  auto view = observation_view(record, call.server);
  if (!view.ok()) return view.status();
  return Change{record.contact.modified.value_or(0), type, record.contact.id.value_or(""),
                generation_of(record.contact.rev), std::move(*view)};
}
// Old versions are Patients or ContactRecords; a Deleted among them is a store bug.
Result<Change> change_of(CallContext&, const std::string&, const storage::Deleted&) {
  return Status::Internal("an old version listed as a deletion");
}

// A stream of changes, newest first, that can say where it stands after
// giving away its first k changes of the last fetch.
class ChangeStream {
 public:
  virtual ~ChangeStream() = default;
  virtual Result<std::vector<Change>> fetch(std::size_t n) = 0;
  virtual Result<std::string> position_after(std::size_t taken) = 0;
};

// Live entities of one type, by modified then id, descending (the store's
// paging; its cursor is the position).
class LiveStream final : public ChangeStream {
 public:
  LiveStream(CallContext& call, std::string type, std::int64_t since_ms, std::string position)
      : call_(call), type_(std::move(type)), since_ms_(since_ms), position_(std::move(position)) {}

  Result<std::vector<Change>> fetch(std::size_t n) override {
    fetched_ = 0;
    if (position_ == kDone) return std::vector<Change>{};
    auto page = query(n);
    if (!page.ok()) return page.status();
    fetched_ = page->changes.size();
    next_ = page->next;
    return std::move(page->changes);
  }

  Result<std::string> position_after(std::size_t taken) override {
    if (taken == 0) return position_;
    if (taken == fetched_) return next_ ? *next_ : std::string(kDone);
    // Part of the page: the store's cursor after exactly `taken` of them.
    auto page = query(taken);
    if (!page.ok()) return page.status();
    return page->next ? *page->next : std::string(kDone);
  }

 private:
  struct Fetched {
    std::vector<Change> changes;
    std::optional<std::string> next;
  };

  template <typename Query>
  void shape(Query& q, std::size_t n) const {
    storage::DateCondition since;
    since.lo = since_ms_;
    q.last_updated.push_back(std::move(since));
    q.page.limit = n;
    q.page.count_up_to = 0;
    q.page.sort = {storage::SortKey{"_lastUpdated", true}, storage::SortKey{"_id", true}};
    if (!position_.empty()) q.page.cursor = position_;
  }

  // One page of `find` (find_patients or find_contacts) as changes.
  template <typename Query, typename Find>
  Result<Fetched> page_of(Query q, std::size_t n, Find find) {
    shape(q, n);
    auto page = find(q);
    if (!page.ok()) return cursor_error(page.status());
    Fetched out;
    for (const auto& entity : page->items) {
      auto change = change_of(call_, type_, entity);
      if (!change.ok()) return change.status();
      out.changes.push_back(std::move(*change));
    }
    out.next = page->next_cursor;
    return out;
  }

  Result<Fetched> query(std::size_t n) {
    auto& store = call_.server.store();
    if (type_ == "Patient")
      return page_of(storage::PatientQuery{}, n,
                     [&](const auto& q) { return store.find_patients(call_.who, q); });
    return page_of(storage::ContactQuery{}, n,
                   [&](const auto& q) { return store.find_contacts(call_.who, q); });
  }

  Status cursor_error(const Status& status) const {
    if (status.code() == StatusCode::invalid && !position_.empty()) return bad_cursor();
    return status;
  }

  CallContext& call_;
  std::string type_;
  std::int64_t since_ms_;
  std::string position_;  // "" start, kDone, else the store's cursor
  std::size_t fetched_ = 0;
  std::optional<std::string> next_;
};

// A stream the store lists after a position (the last item it gave): it
// stands after the last item taken, or is done when a fetch came back short.
template <typename Position>
class ListedStream : public ChangeStream {
 public:
  ListedStream(CallContext& call, std::string type, std::int64_t since_ms,
               std::optional<Position> after, bool done)
      : call_(call),
        type_(std::move(type)),
        since_ms_(since_ms),
        after_(std::move(after)),
        done_(done) {}

  Result<std::vector<Change>> fetch(std::size_t n) final {
    fetched_.clear();
    asked_ = n;
    if (done_) return std::vector<Change>{};
    return list(n);
  }

  Result<std::string> position_after(std::size_t taken) final {
    if (done_ || (taken == fetched_.size() && fetched_.size() < asked_)) return std::string(kDone);
    if (taken == 0) return after_ ? encode(*after_) : std::string();
    return encode(fetched_[taken - 1]);
  }

 protected:
  // Up to n changes after after_, their positions in fetched_.
  virtual Result<std::vector<Change>> list(std::size_t n) = 0;
  virtual std::string encode(const Position& position) const = 0;

  CallContext& call_;
  std::string type_;
  std::int64_t since_ms_;
  std::optional<Position> after_;
  std::vector<Position> fetched_;

 private:
  bool done_;
  std::size_t asked_ = 0;
};

// Deletes of one type, by their time then id, descending (Store::list_deletions);
// positions "ms:id".
class DeletedStream final : public ListedStream<storage::Deletion> {
 public:
  using ListedStream::ListedStream;

 private:
  Result<std::vector<Change>> list(std::size_t n) override {
    const auto kind = TypeStore(call_.server.store(), type_).kind();
    auto deletions = call_.server.store().list_deletions(call_.who, kind, since_ms_, after_, n);
    if (!deletions.ok()) return deletions.status();
    fetched_ = std::move(*deletions);
    std::vector<Change> out;
    for (const auto& d : fetched_)
      out.push_back(Change{d.deleted_ms, type_, d.id, generation_of(d.rev), json::value()});
    return out;
  }

  std::string encode(const storage::Deletion& d) const override {
    return std::to_string(d.deleted_ms) + ":" + d.id;
  }
};

// The older versions the store kept (Store::list_old_*_versions), by
// modified, id, generation, descending; positions "ms:generation:id".
class OldVersionStream final : public ListedStream<storage::VersionPosition> {
 public:
  using ListedStream::ListedStream;

 private:
  Result<std::vector<Change>> list(std::size_t n) override {
    auto listed =
        TypeStore(call_.server.store(), type_).list_old_versions(call_.who, since_ms_, after_, n);
    if (!listed.ok()) return listed.status();
    std::vector<Change> out;
    for (const auto& version : *listed) {
      auto change =
          std::visit([&](const auto& entity) { return change_of(call_, type_, entity); }, version);
      if (!change.ok()) return change.status();
      fetched_.push_back(storage::VersionPosition{change->ms, change->id,
                                                  storage::rev_generation(change->generation)});
      out.push_back(std::move(*change));
    }
    return out;
  }

  std::string encode(const storage::VersionPosition& p) const override {
    return std::to_string(p.modified_ms) + ":" + std::to_string(p.generation) + ":" + p.id;
  }
};

struct TypeHistoryParams {
  std::int64_t since_ms = 0;
  std::optional<std::size_t> count;
  std::optional<std::string> cursor;
  std::vector<QueryParam> echoed;  // for the links (without _cursor)
};

Result<TypeHistoryParams> type_history_params(const std::vector<QueryParam>& params) {
  TypeHistoryParams out;
  for (const auto& p : params) {
    if (p.name == "_since") {
      auto when = mapping::parse_fhir_date_time(p.value, p.name);
      if (!when.ok()) return when.status();
      out.since_ms = mapping::epoch_ms_range(*when).first;
    } else if (p.name == "_count") {
      auto count = parse_count(p.value);
      if (!count.ok()) return count.status();
      out.count = *count;
    } else if (p.name == "_cursor") {
      out.cursor = p.value;
      continue;
    } else if (p.name == "_at") {
      return Status(StatusCode::not_supported,
                    "_at is not supported on a type or system history; _since lists what "
                    "changed since, and an instance history takes _at",
                    "_at");
    } else {
      continue;  // _format, _pretty, _list...: ignored, as on an instance history
    }
    out.echoed.push_back(p);
  }
  return out;
}

// The cursor: 'h' then, per stream in order, its position, separated by '!'.
Result<std::vector<std::string>> split_cursor(const std::optional<std::string>& cursor,
                                              std::size_t streams) {
  std::vector<std::string> positions(streams);
  if (!cursor) return positions;
  const Status bad = bad_cursor();
  if (cursor->empty() || cursor->front() != kCursorPrefix) return bad;
  std::size_t at = 1;
  for (std::size_t i = 0; i < streams; ++i) {
    const std::size_t end = i + 1 < streams ? cursor->find(kSeparator, at) : cursor->size();
    if (end == std::string::npos) return bad;
    positions[i] = cursor->substr(at, end - at);
    at = end + 1;
  }
  if (at != cursor->size() + 1) return bad;
  return positions;
}

// A whole decimal number filling position[from, to).
bool whole_number(const std::string& position, std::size_t from, std::size_t to,
                  std::int64_t& out) {
  auto [end, ec] = std::from_chars(position.data() + from, position.data() + to, out);
  return to > from && ec == std::errc{} && end == position.data() + to;
}

// "ms:id"
Result<std::optional<storage::Deletion>> decode_deleted_position(const std::string& position) {
  if (position.empty() || position == kDone) return std::optional<storage::Deletion>();
  const std::size_t colon = position.find(':');
  storage::Deletion after;
  if (colon == std::string::npos || colon + 1 >= position.size() ||
      !whole_number(position, 0, colon, after.deleted_ms))
    return bad_cursor();
  after.id = position.substr(colon + 1);
  return std::optional(std::move(after));
}

// "ms:generation:id"
Result<std::optional<storage::VersionPosition>> decode_version_position(
    const std::string& position) {
  if (position.empty() || position == kDone) return std::optional<storage::VersionPosition>();
  const std::size_t first = position.find(':');
  const std::size_t second = first == std::string::npos ? first : position.find(':', first + 1);
  storage::VersionPosition after;
  if (second == std::string::npos || second + 1 >= position.size() ||
      !whole_number(position, 0, first, after.modified_ms) ||
      !whole_number(position, first + 1, second, after.generation))
    return bad_cursor();
  after.id = position.substr(second + 1);
  return std::optional(std::move(after));
}

std::string history_url(const CallContext& call, const std::string& path,
                        std::vector<QueryParam> params, const std::optional<std::string>& cursor) {
  if (cursor) params.push_back(QueryParam{"_cursor", "", *cursor});
  const std::string query = encode_query(params);
  return call.base_url + "/" + path + (query.empty() ? "" : "?" + query);
}

}  // namespace

Result<FhirAnswer> type_history(CallContext& call, const std::vector<std::string>& types,
                                const std::string& path, const std::vector<QueryParam>& params) {
  auto wanted = type_history_params(params);
  if (!wanted.ok()) return wanted.status();
  const std::size_t count =
      std::min(wanted->count.value_or(call.server.settings().default_page_size),
               call.server.settings().max_page_size);
  // Per type: live, deleted, older versions.
  constexpr std::size_t kPerType = 3;
  auto positions = split_cursor(wanted->cursor, types.size() * kPerType);
  if (!positions.ok()) return positions.status();

  std::vector<std::unique_ptr<ChangeStream>> streams;
  for (std::size_t i = 0; i < types.size(); ++i) {
    const std::string* position = &(*positions)[kPerType * i];
    streams.push_back(std::make_unique<LiveStream>(call, types[i], wanted->since_ms, position[0]));
    auto deleted_after = decode_deleted_position(position[1]);
    if (!deleted_after.ok()) return deleted_after.status();
    streams.push_back(std::make_unique<DeletedStream>(
        call, types[i], wanted->since_ms, std::move(*deleted_after), position[1] == kDone));
    auto version_after = decode_version_position(position[2]);
    if (!version_after.ok()) return version_after.status();
    streams.push_back(std::make_unique<OldVersionStream>(
        call, types[i], wanted->since_ms, std::move(*version_after), position[2] == kDone));
  }

  // Each stream's first `count`, merged newest first; the page is the first `count`.
  struct Candidate {
    Change change;
    std::size_t stream;
  };
  std::vector<Candidate> candidates;
  for (std::size_t s = 0; s < streams.size(); ++s) {
    auto changes =
        count > 0 ? streams[s]->fetch(count) : Result<std::vector<Change>>(std::vector<Change>{});
    if (!changes.ok()) return changes.status();
    for (auto& change : *changes) candidates.push_back(Candidate{std::move(change), s});
  }
  std::stable_sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return a.change.ms != b.change.ms ? a.change.ms > b.change.ms : a.change.id > b.change.id;
  });
  if (candidates.size() > count) candidates.resize(count);

  std::vector<std::size_t> taken(streams.size(), 0);
  json::array entries;
  for (auto& c : candidates) {
    ++taken[c.stream];
    entries.push_back(history_entry(call, c.change.type, c.change.id, c.change.generation,
                                    fhir_instant(c.change.ms), std::move(c.change.resource)));
  }
  std::string next = std::string(1, kCursorPrefix);
  bool more = false;
  for (std::size_t s = 0; s < streams.size(); ++s) {
    auto position =
        count > 0 ? streams[s]->position_after(taken[s]) : Result<std::string>((*positions)[s]);
    if (!position.ok()) return position.status();
    if (s > 0) next += kSeparator;
    next += *position;
    more = more || *position != kDone;
  }

  json::object bundle = response_bundle("history", std::move(entries), call.server);
  if (bundle.at("entry").as_array().empty())
    bundle.erase("entry");  // FHIR JSON has no empty arrays
  json::array links{json::object{{"relation", "self"},
                                 {"url", history_url(call, path, wanted->echoed, wanted->cursor)}}};
  if (more && count > 0)
    links.push_back(
        json::object{{"relation", "next"}, {"url", history_url(call, path, wanted->echoed, next)}});
  bundle["link"] = std::move(links);
  FhirAnswer answer;
  answer.body = std::move(bundle);
  return answer;
}

}  // namespace fhirbridge::server::detail
