#include "campaign/config.h"

#include <fmt/format.h>

#include <fstream>
#include <iterator>
#include <set>
#include <toml++/toml.h>

namespace loopcheck::campaign {
namespace {

// Reads typed values out of one TOML table, collecting located errors; every key
// the table has but nobody asked for is an error too (a typo must not be ignored).
class TableReader {
 public:
  TableReader(const toml::table* table, std::string path, std::vector<std::string>* errors)
      : table_(table), path_(std::move(path)), errors_(errors) {}

  void error(const toml::source_region& where, const std::string& message) {
    errors_->push_back(
        fmt::format("{}:{}:{}: {}", path_, where.begin.line, where.begin.column, message));
  }
  void error(const std::string& message) { error(table_ ? table_->source() : region_, message); }

  const toml::node* node(std::string_view key) {
    asked_.insert(std::string(key));
    return table_ ? table_->get(key) : nullptr;
  }

  void string(std::string_view key, std::string* out) {
    if (const toml::node* n = node(key)) {
      if (auto v = n->value<std::string>())
        *out = *v;
      else
        error(n->source(), fmt::format("'{}' must be a string", key));
    }
  }
  void boolean(std::string_view key, bool* out) {
    if (const toml::node* n = node(key)) {
      if (auto v = n->value<bool>())
        *out = *v;
      else
        error(n->source(), fmt::format("'{}' must be true or false", key));
    }
  }
  template <typename Int>
  void integer(std::string_view key, Int* out, int64_t low, int64_t high) {
    if (const toml::node* n = node(key)) {
      auto v = n->value<int64_t>();
      if (!v || *v < low || *v > high)
        error(n->source(), fmt::format("'{}' must be an integer in [{}, {}]", key, low, high));
      else
        *out = static_cast<Int>(*v);
    }
  }
  void seconds(std::string_view key, double* out) {
    if (const toml::node* n = node(key)) {
      auto v = n->value<double>();
      if (!v || *v <= 0 || *v > kMaxBudgetSeconds)
        error(n->source(),
              fmt::format("'{}' must be a number of seconds in (0, {}]", key, kMaxBudgetSeconds));
      else
        *out = *v;
    }
  }
  void strings(std::string_view key, std::vector<std::string>* out) {
    const toml::node* n = node(key);
    if (!n) return;
    const toml::array* a = n->as_array();
    if (!a) return error(n->source(), fmt::format("'{}' must be an array of strings", key));
    out->clear();
    for (const toml::node& e : *a) {
      if (auto v = e.value<std::string>())
        out->push_back(*v);
      else
        error(e.source(), fmt::format("'{}' must hold strings only", key));
    }
  }
  void unsigned_list(std::string_view key, std::vector<uint64_t>* out, size_t max) {
    const toml::node* n = node(key);
    if (!n) return;
    const toml::array* a = n->as_array();
    if (!a || a->empty() || a->size() > max)
      return error(n->source(),
                   fmt::format("'{}' must be an array of 1 to {} non-negative integers", key, max));
    out->clear();
    for (const toml::node& e : *a) {
      auto v = e.value<int64_t>();
      if (v && *v >= 0)
        out->push_back(static_cast<uint64_t>(*v));
      else
        error(e.source(), fmt::format("'{}' must hold non-negative integers", key));
    }
  }
  // Call last: names every key nobody read.
  void reject_unknown_keys(std::string_view table_name) {
    if (!table_) return;
    for (const auto& [key, value] : *table_) {
      if (!asked_.contains(std::string(key.str())))
        error(value.source(), fmt::format("unknown key '{}' in [{}]", key.str(), table_name));
    }
  }

 private:
  const toml::table* table_;
  std::string path_;
  std::vector<std::string>* errors_;
  std::set<std::string> asked_;
  toml::source_region region_{};
};

const toml::table* subtable(TableReader& top, std::string_view key) {
  const toml::node* n = top.node(key);
  if (!n) return nullptr;
  if (!n->as_table()) top.error(n->source(), fmt::format("'{}' must be a table", key));
  return n->as_table();
}

void read_conformance(TableReader& top, const std::string& path, std::vector<std::string>* errors,
                      ConformanceStage* stage) {
  const toml::table* t = subtable(top, "conformance");
  stage->enabled = t != nullptr;
  TableReader r(t, path, errors);
  r.boolean("enabled", &stage->enabled);
  r.strings("targets", &stage->targets);
  r.strings("kernels", &stage->kernels);
  r.seconds("budget_seconds", &stage->budget_seconds);
  r.integer("jobs", &stage->jobs, 1, 64);
  r.reject_unknown_keys("conformance");
  if (stage->enabled && stage->targets.empty() && stage->kernels.empty())
    r.error("[conformance] needs 'targets' or 'kernels'");
}

void read_scope(const toml::table* t, const std::string& path, std::vector<std::string>* errors,
                ExploreScope* scope) {
  TableReader r(t, path, errors);
  r.string("profile", &scope->profile);
  r.integer("devices", &scope->devices, 1, 8);
  r.integer("files", &scope->files, 1, 4);
  r.integer("fds", &scope->fds, 1, 8);
  r.integer("depth", &scope->depth, 0, 64);
  r.string("domain", &scope->domain);
  r.reject_unknown_keys("[explore.scope]");
  if (scope->domain != "small" && scope->domain != "boundary")
    r.error("explore scope 'domain' must be \"small\" or \"boundary\"");
}

void read_explore(TableReader& top, const std::string& path, std::vector<std::string>* errors,
                  ExploreStage* stage) {
  const toml::table* t = subtable(top, "explore");
  stage->enabled = t != nullptr;
  TableReader r(t, path, errors);
  r.boolean("enabled", &stage->enabled);
  r.seconds("budget_seconds", &stage->budget_seconds);
  if (const toml::node* n = r.node("scope")) {
    const toml::array* scopes = n->as_array();
    if (!scopes || !scopes->is_array_of_tables() || scopes->size() > kMaxScopes)
      r.error(n->source(),
              fmt::format("'scope' must be 1 to {} [[explore.scope]] tables", kMaxScopes));
    for (size_t i = 0; scopes && scopes->is_array_of_tables() && i < scopes->size(); ++i)
      read_scope((*scopes)[i].as_table(), path, errors, &stage->scopes.emplace_back());
  }
  r.reject_unknown_keys("explore");
  if (stage->enabled && stage->scopes.empty())
    r.error("[explore] needs at least one [[explore.scope]]");
}

void read_fuzz(TableReader& top, const std::string& path, std::vector<std::string>* errors,
               FuzzStage* stage) {
  const toml::table* t = subtable(top, "fuzz");
  stage->enabled = t != nullptr;
  TableReader r(t, path, errors);
  r.boolean("enabled", &stage->enabled);
  r.strings("targets", &stage->targets);
  r.unsigned_list("seeds", &stage->seeds, kMaxSeeds);
  r.string("engine", &stage->engine);
  r.integer("runs", &stage->runs, 0, int64_t{1} << 40);
  r.seconds("budget_seconds", &stage->budget_seconds);
  r.integer("jobs", &stage->jobs, 1, 256);
  r.integer("max_minimize_tests", &stage->max_minimize_tests, 1, 1000000);
  r.reject_unknown_keys("fuzz");
  if (stage->engine != "builtin" && stage->engine != "libfuzzer" && stage->engine != "auto")
    r.error("[fuzz] 'engine' must be \"builtin\", \"libfuzzer\" or \"auto\"");
  if (stage->enabled && stage->targets.empty()) r.error("[fuzz] needs 'targets'");
}

void read_mutants(TableReader& top, const std::string& path, std::vector<std::string>* errors,
                  MutantsStage* stage) {
  const toml::table* t = subtable(top, "mutants");
  stage->enabled = t != nullptr;
  TableReader r(t, path, errors);
  r.boolean("enabled", &stage->enabled);
  r.string("kernel", &stage->kernel);
  r.string("source", &stage->source);
  r.integer("max", &stage->max, 1, 100000);
  r.integer("seed", &stage->seed, 0, int64_t{1} << 62);
  r.integer("jobs", &stage->jobs, 1, 64);
  r.seconds("budget_seconds", &stage->budget_seconds);
  r.reject_unknown_keys("mutants");
}

void read_findings(TableReader& top, const std::string& path, std::vector<std::string>* errors,
                   FindingsStage* stage) {
  TableReader r(subtable(top, "findings"), path, errors);
  r.strings("triage_kernels", &stage->triage_kernels);
  r.boolean("reproducers", &stage->reproducers);
  r.seconds("budget_seconds", &stage->budget_seconds);
  r.reject_unknown_keys("findings");
}

}  // namespace

ConfigLoad parse_config(const std::string& text, const std::string& path) {
  ConfigLoad load;
  load.config.source_path = path;
  toml::table top;
  try {
    top = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    load.errors.push_back(fmt::format("{}:{}:{}: {}", path, e.source().begin.line,
                                      e.source().begin.column, e.description()));
    return load;
  }
  CampaignConfig& c = load.config;
  TableReader r(&top, path, &load.errors);
  r.string("name", &c.name);
  r.seconds("budget_seconds", &c.budget_seconds);
  r.integer("max_disk_mb", &c.max_disk_bytes, 0, int64_t{1} << 30);
  c.max_disk_bytes <<= 20;
  read_conformance(r, path, &load.errors, &c.conformance);
  read_explore(r, path, &load.errors, &c.explore);
  read_fuzz(r, path, &load.errors, &c.fuzz);
  read_mutants(r, path, &load.errors, &c.mutants);
  read_findings(r, path, &load.errors, &c.findings);
  r.reject_unknown_keys("top level");
  if (c.name.empty() || c.name.find_first_of("/ \t\n") != std::string::npos)
    r.error("'name' must be a non-empty word (it names the campaign in every report)");
  return load;
}

ConfigLoad load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigLoad load;
    load.errors.push_back(path +
                          ": cannot read the campaign config (campaigns/*.toml are examples)");
    return load;
  }
  return parse_config({std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()}, path);
}

}  // namespace loopcheck::campaign
