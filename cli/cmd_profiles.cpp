// `loopcheck profiles [--json]`: every model profile (a series, or a variant of a
// series keyed to a point release), the releases it covers, and every switch's
// value per profile; a switch that changes inside a series names the point release.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/profile_file_option.h"
#include "inference/profile_variants.h"
#include "model/profile.h"
#include "model/profile_switches.h"

namespace loopcheck::cli {
namespace {

struct ProfilesArgs {
  bool json = false;
  std::vector<std::string> files;  // profile files shown beside the built-in profiles
};

std::string release_range(const model::Profile& p) {
  if (!p.series.starts_with("linux-")) return "a port (profile file)";
  if (p.since_patch == 0) return "every supported release of the series (docs/profiles.md)";
  std::string_view series = p.series.substr(std::string_view("linux-").size());
  if (p.until_patch != 0)
    return fmt::format("{}.{} - {}.{}", series, p.since_patch, series, p.until_patch);
  return fmt::format("{}.{} and later", series, p.since_patch);
}

std::string changes_text(const model::SwitchInfo& s) {
  std::string text;
  for (const model::PointReleaseChange& c : model::point_release_changes(s))
    text += fmt::format("{}changed in {} ({} -> {})", text.empty() ? "" : "; ", c.release,
                        model::format_switch_value(s.value(*c.before)),
                        model::format_switch_value(s.value(*c.after)));
  return text;
}

void print_text() {
  fmt::print("{:<15} {:<11} {}\n", "profile", "series", "releases");
  for (const model::Profile* p : inference::known_profiles())
    fmt::print("{:<15} {:<11} {}\n", p->name, p->series, release_range(*p));
  fmt::print("\n{:<37}", "switch");
  for (const model::Profile* p : inference::known_profiles()) fmt::print(" {:<14}", p->name);
  fmt::print(" point release\n");
  for (const model::SwitchInfo& s : model::profile_switches()) {
    fmt::print("{:<37}", s.name);
    for (const model::Profile* p : inference::known_profiles())
      fmt::print(" {:<14}", model::format_switch_value(s.value(*p)));
    fmt::print(" {}\n", changes_text(s));
  }
}

nlohmann::ordered_json json_value(const model::SwitchValue& v) {
  if (const bool* b = std::get_if<bool>(&v)) return *b;
  if (const unsigned* u = std::get_if<unsigned>(&v)) return *u;
  return std::string(std::get<std::string_view>(v));
}

void print_json() {
  nlohmann::ordered_json doc;
  doc["profiles"] = nlohmann::ordered_json::array();
  for (const model::Profile* p : inference::known_profiles()) {
    nlohmann::ordered_json j{{"name", p->name}, {"series", p->series}};
    j["since"] = p->since_patch ? nlohmann::ordered_json(model::point_release(*p)) : nullptr;
    j["releases"] = release_range(*p);
    doc["profiles"].push_back(j);
  }
  doc["switches"] = nlohmann::ordered_json::array();
  for (const model::SwitchInfo& s : model::profile_switches()) {
    nlohmann::ordered_json j{{"name", s.name}};
    for (const model::Profile* p : inference::known_profiles())
      j["values"][p->name] = json_value(s.value(*p));
    j["point_releases"] = nlohmann::ordered_json::array();
    for (const model::PointReleaseChange& c : model::point_release_changes(s))
      j["point_releases"].push_back({{"series", c.series},
                                     {"release", c.release},
                                     {"before", json_value(s.value(*c.before))},
                                     {"after", json_value(s.value(*c.after))}});
    doc["switches"].push_back(j);
  }
  fmt::print("{}\n", doc.dump(2));
}

}  // namespace

void add_profiles_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<ProfilesArgs>();
  CLI::App* cmd = app.add_subcommand(
      "profiles", "The model profiles, the releases each covers, and every switch's value");
  cmd->add_flag("--json", args->json, "Machine-readable output");
  cmd->add_option("files", args->files,
                  "Profile files (FILE.toml) to show beside the built-in ones")
      ->transform(CLI::Validator(resolve_profile_argument, "FILE.toml"));
  cmd->callback([args, &action] {
    action = [args] {
      if (args->json) {
        print_json();
      } else {
        print_text();
      }
      return kExitPass;
    };
  });
}

LOOPCHECK_COMMAND(55, add_profiles_command);

}  // namespace loopcheck::cli
