// loopcheck: checks the semantics of Linux loop devices against a reference model.
#include <fmt/format.h>

#include "cli/commands.h"
#include "loopcheck_version.h"

int main(int argc, char** argv) {
  using namespace loopcheck::cli;
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
