#include "profile_file/profile_document.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <toml++/toml.h>

namespace loopcheck::profile_file {
namespace {

constexpr std::string_view kTopKeys[] = {"name",        "series",      "base",    "description",
                                         "since_patch", "until_patch", "switches"};

std::string located(const std::string& path, const toml::source_region& where,
                    std::string_view message) {
  return fmt::format("{}:{}:{}: {}", path, where.begin.line, where.begin.column, message);
}

// A string key of the top table; `required` reports its absence.
void read_string(const toml::table& top, std::string_view key, bool required, std::string* out,
                 DocumentLoad& load) {
  const toml::node* n = top.get(key);
  if (n == nullptr) {
    if (required)
      load.errors.push_back(fmt::format("{}: '{}' is missing", load.document.path, key));
    return;
  }
  if (auto v = n->value<std::string>(); v && !v->empty())
    *out = *v;
  else
    load.errors.push_back(located(load.document.path, n->source(),
                                  fmt::format("'{}' must be a non-empty string", key)));
}

void read_patch(const toml::table& top, std::string_view key, uint16_t* out, DocumentLoad& load) {
  const toml::node* n = top.get(key);
  if (n == nullptr) return;
  auto v = n->value<int64_t>();
  if (!v || *v < 0 || *v > 65535)
    load.errors.push_back(located(load.document.path, n->source(),
                                  fmt::format("'{}' must be an integer in [0, 65535]", key)));
  else
    *out = static_cast<uint16_t>(*v);
}

// One [switches.NAME] table: value (bool, integer or string) and why.
void read_setting(std::string_view name, const toml::node& node, DocumentLoad& load) {
  const std::string& path = load.document.path;
  const toml::table* t = node.as_table();
  if (t == nullptr) {
    load.errors.push_back(located(path, node.source(),
                                  fmt::format("switches.{} must be a table with 'value' and 'why' "
                                              "([switches.{}] value = ... why = \"...\")",
                                              name, name)));
    return;
  }
  SwitchSetting s{
      std::string(name), false, {}, fmt::format("{}:{}", path, node.source().begin.line)};
  const toml::node* value = t->get("value");
  if (value == nullptr)
    load.errors.push_back(
        located(path, node.source(), fmt::format("switches.{}: 'value' is missing", name)));
  else if (auto b = value->value_exact<bool>())
    s.value = *b;
  else if (auto i = value->value_exact<int64_t>())
    s.value = *i;
  else if (auto str = value->value_exact<std::string>())
    s.value = *str;
  else
    load.errors.push_back(located(path, value->source(),
                                  fmt::format("switches.{}: 'value' must be true/false, an "
                                              "integer or a string",
                                              name)));
  if (auto why = t->get_as<std::string>("why"); why && !why->get().empty())
    s.why = why->get();
  else
    load.errors.push_back(located(path, node.source(),
                                  fmt::format("switches.{}: 'why' (the reason for this value, "
                                              "with its source) is missing",
                                              name)));
  for (const auto& [key, unused] : *t)
    if (key.str() != "value" && key.str() != "why")
      load.errors.push_back(located(path, key.source(),
                                    fmt::format("switches.{}: unknown key '{}' (only 'value' and "
                                                "'why')",
                                                name, key.str())));
  load.document.settings.push_back(std::move(s));
}

// The [switches] table, its entries in file order.
void read_switches(const toml::table& top, DocumentLoad& load) {
  const toml::node* n = top.get("switches");
  if (n == nullptr) return;
  const toml::table* t = n->as_table();
  if (t == nullptr) {
    load.errors.push_back(located(load.document.path, n->source(), "'switches' must be a table"));
    return;
  }
  std::vector<std::pair<std::string_view, const toml::node*>> entries;
  for (const auto& [key, node] : *t) entries.emplace_back(key.str(), &node);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.second->source().begin.line < b.second->source().begin.line;
  });
  for (const auto& [name, node] : entries) read_setting(name, *node, load);
}

void read_top(const toml::table& top, DocumentLoad& load) {
  ProfileDocument& d = load.document;
  for (const auto& [key, node] : top)
    if (std::find(std::begin(kTopKeys), std::end(kTopKeys), key.str()) == std::end(kTopKeys))
      load.errors.push_back(located(d.path, key.source(),
                                    fmt::format("unknown key '{}' (known: name, series, base, "
                                                "description, since_patch, until_patch, "
                                                "[switches.NAME])",
                                                key.str())));
  read_string(top, "name", true, &d.name, load);
  read_string(top, "series", false, &d.series, load);
  read_string(top, "base", false, &d.base, load);
  read_string(top, "description", true, &d.description, load);
  read_patch(top, "since_patch", &d.since_patch, load);
  read_patch(top, "until_patch", &d.until_patch, load);
  if (d.series.empty()) d.series = d.name;
  read_switches(top, load);
}

DocumentLoad load_at_depth(const std::string& path, int depth);

// A base naming another file: its settings go first, its own base is inherited.
void merge_file_base(DocumentLoad& load, int depth) {
  ProfileDocument& d = load.document;
  if (!names_a_file(d.base)) return;
  std::filesystem::path base_path = std::filesystem::path(d.path).parent_path() / d.base;
  if (depth >= kMaxBaseDepth) {
    load.errors.push_back(fmt::format("{}: base '{}' is more than {} files deep (a cycle?)", d.path,
                                      d.base, kMaxBaseDepth));
    return;
  }
  DocumentLoad base = load_at_depth(base_path.string(), depth + 1);
  for (std::string& e : base.errors) load.errors.push_back(d.path + ": in base: " + e);
  if (!base.errors.empty()) return;
  std::vector<SwitchSetting> merged = std::move(base.document.settings);
  for (SwitchSetting& s : d.settings) merged.push_back(std::move(s));
  d.settings = std::move(merged);
  d.base = base.document.base;
}

DocumentLoad load_at_depth(const std::string& path, int depth) {
  std::ifstream in(path);
  if (!in) {
    DocumentLoad load;
    load.document.path = path;
    load.errors.push_back(
        fmt::format("{}: cannot read the profile file: {}", path, std::strerror(errno)));
    return load;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  DocumentLoad load = parse_profile_document(text, path);
  if (load.errors.empty()) merge_file_base(load, depth);
  return load;
}

}  // namespace

DocumentLoad parse_profile_document(const std::string& text, const std::string& path) {
  DocumentLoad load;
  load.document.path = path;
  try {
    toml::table top = toml::parse(text, path);
    read_top(top, load);
  } catch (const toml::parse_error& e) {
    load.errors.push_back(located(path, e.source(), e.description()));
  }
  return load;
}

DocumentLoad load_profile_document(const std::string& path) {
  return load_at_depth(path, 0);
}

std::string format_setting(const SettingValue& value) {
  if (const bool* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  if (const int64_t* i = std::get_if<int64_t>(&value)) return fmt::format("{}", *i);
  return fmt::format("\"{}\"", std::get<std::string>(value));
}

bool names_a_file(const std::string& argument) {
  return argument.size() > 5 && argument.ends_with(".toml");
}

}  // namespace loopcheck::profile_file
