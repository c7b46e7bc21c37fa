// `loopcheck report DIR... [--json]`: renders each campaign report folder again
// (junit.xml, summary.md, index.html from its summary.json, plan.json and tasks/,
// after an upgrade of the renderers) and compares the nights side by side.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "campaign/campaign.h"
#include "campaign/nights.h"
#include "cli/commands.h"

namespace loopcheck::cli {
namespace {

struct ReportArgs {
  std::vector<std::string> dirs;
  bool json = false;
  bool render = true;
};

int report_command(const ReportArgs& args) {
  std::vector<nlohmann::json> summaries;
  for (const std::string& dir : args.dirs) {
    if (args.render) {
      if (std::string why = campaign::rerender_report(dir); !why.empty()) {
        fmt::print(stderr, "{}\n", why);
        return kExitUsage;
      }
    }
    std::ifstream in(std::filesystem::path(dir) / "summary.json");
    nlohmann::json s = nlohmann::json::parse(in, nullptr, false);
    if (s.is_discarded() || !s.is_object() || !s.contains("campaign")) {
      fmt::print(stderr, "{}/summary.json: not a campaign summary\n", dir);
      return kExitUsage;
    }
    summaries.push_back(std::move(s));
  }
  if (args.json)
    fmt::print("{}\n", campaign::compare_nights_json(summaries).dump(2));
  else
    fmt::print("{}", campaign::compare_nights_text(summaries));
  return kExitPass;
}

}  // namespace

void add_report_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd =
      app.add_subcommand("report", "Render campaign report folders again and compare their nights");
  cmd->add_option("dirs", args->dirs, "Report folders (reports/NIGHT)")->required();
  cmd->add_flag("--json", args->json, "Print the comparison as JSON");
  cmd->add_flag("!--no-render", args->render, "Only compare; leave the folders' files as they are");
  cmd->callback([args, &action] { action = [args] { return report_command(*args); }; });
}

LOOPCHECK_COMMAND(46, add_report_command);

}  // namespace loopcheck::cli
