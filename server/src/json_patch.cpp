#include "fhirbridge/server/detail/json_patch.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fhirbridge::server::detail {

namespace json = boost::json;

namespace {

// RFC 6901: "/a/b~1c/0" -> {"a", "b/c", "0"}; nullopt when malformed.
std::optional<std::vector<std::string>> split_pointer(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer.front() != '/') return std::nullopt;
  pointer.remove_prefix(1);
  while (true) {
    std::size_t slash = pointer.find('/');
    std::string_view raw = pointer.substr(0, slash);
    std::string token;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '~') {
        token.push_back(raw[i]);
        continue;
      }
      if (i + 1 == raw.size() || (raw[i + 1] != '0' && raw[i + 1] != '1')) return std::nullopt;
      token.push_back(raw[++i] == '0' ? '~' : '/');
    }
    tokens.push_back(std::move(token));
    if (slash == std::string_view::npos) break;
    pointer.remove_prefix(slash + 1);
  }
  return tokens;
}

// An array index token: digits without a leading zero, below `limit`.
std::optional<std::size_t> array_index(const std::string& token, std::size_t limit) {
  if (token.empty() || (token.size() > 1 && token[0] == '0')) return std::nullopt;
  std::size_t index = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
  if (ec != std::errc{} || end != token.data() + token.size() || index >= limit)
    return std::nullopt;
  return index;
}

// A value for a message: its JSON, cut at 100 bytes.
std::string brief(const json::value& v) {
  std::string text = json::serialize(v);
  if (text.size() > 100) text = text.substr(0, 100) + "...";
  return text;
}

// Values in `v`, itself included (an explicit stack: documents may be deep).
std::size_t node_count(const json::value& v) {
  std::size_t count = 0;
  std::vector<const json::value*> todo{&v};
  while (!todo.empty()) {
    const json::value* at = todo.back();
    todo.pop_back();
    ++count;
    if (const json::object* o = at->if_object())
      for (const auto& member : *o) todo.push_back(&member.value());
    else if (const json::array* a = at->if_array())
      for (const auto& item : *a) todo.push_back(&item);
  }
  return count;
}

// "copy" is the one op that can grow a document beyond the patch's own size
// (copying the root into itself doubles it): its copies share one budget.
constexpr std::size_t kCopyBudget = 100'000;

class Patcher {
 public:
  Patcher(json::value& document, std::size_t& copy_budget, std::string path)
      : doc_(document), copy_budget_(copy_budget), path_(std::move(path)) {}

  Status apply(const json::object& op) {
    auto text = [&](const char* key) -> std::optional<std::string> {
      const json::value* v = op.if_contains(key);
      if (!v || !v->is_string()) return std::nullopt;
      return std::string(v->get_string());
    };
    auto name = text("op");
    if (!name) return error("op", "needs \"op\" (add, remove, replace, move, copy, test)");
    auto target = text("path");
    if (!target) return error("path", "needs \"path\" (a JSON Pointer)");
    const json::value* value = op.if_contains("value");
    auto from = text("from");
    if (*name == "add" || *name == "replace" || *name == "test") {
      if (!value) return error("value", "'" + *name + "' needs \"value\"");
      if (*name == "add") return add(*target, *value);
      if (*name == "replace") {
        FHIRBRIDGE_RETURN_IF_ERROR(remove(*target, "path"));
        return add(*target, *value);
      }
      auto found = find(*target, "path");
      if (!found.ok()) return found.status();
      if (**found != *value)
        return error("value", "test failed: " + *target + " is " + brief(**found) + ", not " +
                                  brief(*value));
      return {};
    }
    if (*name == "remove") return remove(*target, "path");
    if (*name == "move" || *name == "copy") {
      if (!from) return error("from", "'" + *name + "' needs \"from\" (a JSON Pointer)");
      auto source = find(*from, "from");
      if (!source.ok()) return source.status();
      if (*name == "copy") {
        const std::size_t size = node_count(**source);
        if (size > copy_budget_)
          return error("from", "the patch copies more than " + std::to_string(kCopyBudget) +
                                   " JSON values in all");
        copy_budget_ -= size;
      }
      json::value moved = **source;
      if (*name == "move") {
        if (target->rfind(*from + "/", 0) == 0)
          return error("path", "cannot move " + *from + " into itself");
        FHIRBRIDGE_RETURN_IF_ERROR(remove(*from, "from"));
      }
      return add(*target, moved);
    }
    return error("op", "unknown op '" + *name + "' (add, remove, replace, move, copy, test)");
  }

 private:
  Status error(const char* member, std::string message) const {
    return Status::Invalid(path_ + "." + member, std::move(message));
  }

  // The value a pointer names.
  Result<json::value*> find(const std::string& pointer, const char* member) {
    auto tokens = split_pointer(pointer);
    if (!tokens) return error(member, "'" + pointer + "' is not a JSON Pointer");
    json::value* at = &doc_;
    for (const auto& token : *tokens) {
      at = child(*at, token);
      if (!at) return error(member, pointer + " names nothing");
    }
    return at;
  }

  static json::value* child(json::value& parent, const std::string& token) {
    if (json::object* o = parent.if_object()) return o->if_contains(token);
    if (json::array* a = parent.if_array()) {
      auto index = array_index(token, a->size());
      return index ? &(*a)[*index] : nullptr;
    }
    return nullptr;
  }

  // The container holding the pointer's last token, and that token.
  Result<std::pair<json::value*, std::string>> parent_of(const std::string& pointer,
                                                         const char* member) {
    auto tokens = split_pointer(pointer);
    if (!tokens) return error(member, "'" + pointer + "' is not a JSON Pointer");
    if (tokens->empty()) return error(member, "the whole document cannot be replaced or removed");
    json::value* at = &doc_;
    for (std::size_t i = 0; i + 1 < tokens->size(); ++i) {
      at = child(*at, (*tokens)[i]);
      if (!at) return error(member, pointer + ": its parent names nothing");
    }
    return std::pair{at, tokens->back()};
  }

  Status add(const std::string& pointer, const json::value& value) {
    auto parent = parent_of(pointer, "path");
    if (!parent.ok()) return parent.status();
    auto& [container, token] = *parent;
    if (json::object* o = container->if_object()) {
      (*o)[token] = value;
      return {};
    }
    if (json::array* a = container->if_array()) {
      if (token == "-") {
        a->push_back(value);
        return {};
      }
      auto index = array_index(token, a->size() + 1);
      if (!index) return error("path", pointer + ": '" + token + "' is not an index of the array");
      a->insert(a->begin() + static_cast<std::ptrdiff_t>(*index), value);
      return {};
    }
    return error("path", pointer + ": its parent is not an object or an array");
  }

  Status remove(const std::string& pointer, const char* member) {
    auto parent = parent_of(pointer, member);
    if (!parent.ok()) return parent.status();
    auto& [container, token] = *parent;
    if (json::object* o = container->if_object()) {
      if (o->erase(token) == 0) return error(member, pointer + " names nothing");
      return {};
    }
    if (json::array* a = container->if_array()) {
      auto index = array_index(token, a->size());
      if (!index) return error(member, pointer + " names nothing");
      a->erase(a->begin() + static_cast<std::ptrdiff_t>(*index));
      return {};
    }
    return error(member, pointer + " names nothing");
  }

  json::value& doc_;
  std::size_t& copy_budget_;
  std::string path_;
};

}  // namespace

Result<json::value> apply_json_patch(json::value document, const json::value& patch) {
  const json::array* ops = patch.if_array();
  if (!ops) return Status::Invalid("patch", "a JSON Patch is an array of operations (RFC 6902)");
  std::size_t copy_budget = kCopyBudget;
  for (std::size_t i = 0; i < ops->size(); ++i) {
    const std::string path = "patch[" + std::to_string(i) + "]";
    const json::object* op = (*ops)[i].if_object();
    if (!op) return Status::Invalid(path, "an operation is an object {op, path, ...}");
    FHIRBRIDGE_RETURN_IF_ERROR(Patcher(document, copy_budget, path).apply(*op));
  }
  return document;
}

}  // namespace fhirbridge::server::detail
