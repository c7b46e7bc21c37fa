// loopcheck: checks the semantics of Linux loop devices against a reference model.
#include <fmt/format.h>

#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

#include "cli/commands.h"
#include "loopcheck_version.h"

namespace {

// A campaign's task (campaign/child_process.h) names its parent here: if the
// campaign dies, even by SIGKILL, the task goes too instead of writing into a
// folder a --resume is about to use.
void die_with_campaign() {
  const char* parent = std::getenv("LOOPCHECK_DIE_WITH_PARENT");
  if (!parent || !*parent) return;
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != static_cast<pid_t>(std::atoll(parent))) std::_Exit(128 + SIGTERM);
  unsetenv("LOOPCHECK_DIE_WITH_PARENT");  // not for this task's own children
}

}  // namespace

int main(int argc, char** argv) {
  using namespace loopcheck::cli;
  die_with_campaign();
  CLI::App app{
      "loopcheck: a model checker and differential fuzzer for Linux loop device semantics"};
  app.set_version_flag("--version", std::string("loopcheck ") + LOOPCHECK_VERSION);
  app.require_subcommand(1);
  Action action;
  add_registered_commands(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return action ? action() : kExitUsage;
}
